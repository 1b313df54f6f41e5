//! Parsing: `grammar/dlp.pest` into a typed AST that keeps byte spans, so
//! the analyzer can point at the exact token it rejects.

pub(crate) mod ast;
pub(crate) mod parser;

pub(crate) use ast::*;
pub(crate) use parser::is_too_large;
pub use parser::{parse, parse_value};

use std::path::Path;

/// Reads a pipeline file as text. A UTF-8 byte-order mark (Windows editors
/// write one) is dropped, so line 1 column 1 is the first real character;
/// CRLF line ends need nothing (the grammar takes both).
pub(crate) fn read_source(path: &Path) -> std::io::Result<String> {
    let text = std::fs::read_to_string(path)?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// `path` without `.` components (`././wines.csv` → `wines.csv`), for
/// messages: the path as a user would write it.
pub(crate) fn clean_path(path: &Path) -> std::path::PathBuf {
    let clean: std::path::PathBuf = path
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect();
    if clean.as_os_str().is_empty() {
        std::path::PathBuf::from(".")
    } else {
        clean
    }
}
