//! Parsing: `grammar/dlp.pest` into a typed AST that keeps byte spans, so
//! the analyzer can point at the exact token it rejects.

pub mod ast;
pub mod parser;

pub use ast::*;
pub(crate) use parser::is_too_large;
pub use parser::{parse, parse_value};

use std::path::Path;

/// Reads a pipeline file as text. A UTF-8 byte-order mark (Windows editors
/// write one) is dropped, so line 1 column 1 is the first real character;
/// CRLF line ends need nothing (the grammar takes both).
pub fn read_source(path: &Path) -> std::io::Result<String> {
    let text = std::fs::read_to_string(path)?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}
