//! `dlp fmt FILE… [--check]`: rewrite pipelines in the canonical layout
//! ([`crate::fmt`]); `-` formats standard input to standard output. With
//! `--check` nothing is written: a unified diff of each file that would
//! change goes to standard output and the exit code is 1. A file that does
//! not parse is left alone, its parse error on stderr, exit 2.

use crate::analyze::Report;
use crate::cli::FmtArgs;
use crate::error::{Error, Result};
use std::io::{Read, Write};
use std::path::Path;

pub(crate) fn run(args: &FmtArgs) -> Result<i32> {
    let mut changed = false;
    let mut invalid = false;
    for file in &args.files {
        let stdin = file.as_os_str() == "-";
        let (source, shown) = if stdin {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| Error::io("<stdin>", e))?;
            (text, "<stdin>".to_string())
        } else {
            let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, e))?;
            (text, file.display().to_string())
        };
        let formatted = match crate::fmt::format(&source) {
            Ok(f) => f,
            Err(d) => {
                invalid = true;
                let body = source.strip_prefix('\u{feff}').unwrap_or(&source);
                crate::terminal::err!("{}", Report::new(shown, body, vec![*d]));
                continue;
            }
        };
        if formatted == source {
            if stdin && !args.check {
                crate::terminal::out(&formatted)?;
            }
            continue;
        }
        changed = true;
        match (args.check, stdin) {
            (true, _) => crate::terminal::out(&diff(&source, &formatted, &shown))?,
            (false, true) => crate::terminal::out(&formatted)?,
            (false, false) => write_in_place(file, &formatted)?,
        }
    }
    Ok(if invalid {
        2
    } else if changed && args.check {
        1
    } else {
        0
    })
}

/// A unified diff, `--- a/FILE` `+++ b/FILE`, three lines of context.
fn diff(old: &str, new: &str, shown: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{shown}"), &format!("b/{shown}"))
        .to_string()
}

/// Replaces the file atomically (a crash leaves the old text or the new,
/// never half of one), keeping its permissions; a symlink's target is what
/// changes.
fn write_in_place(path: &Path, text: &str) -> Result<()> {
    let target = std::fs::canonicalize(path).map_err(|e| Error::io(path, e))?;
    let dir = target.parent().unwrap_or(Path::new("."));
    let perms = std::fs::metadata(&target)
        .map_err(|e| Error::io(path, e))?
        .permissions();
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::write(dir, e))?;
    tmp.write_all(text.as_bytes())
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| Error::write(path, e))?;
    std::fs::set_permissions(tmp.path(), perms).map_err(|e| Error::write(path, e))?;
    tmp.persist(&target)
        .map_err(|e| Error::write(path, e.error))?;
    Ok(())
}
