//! One file per subcommand; each returns the process exit code.

pub mod baseline;
pub mod bench;
pub mod check;
pub mod completions;
pub mod diff;
pub mod eval;
pub mod fmt;
pub mod lsp;
pub mod plan;
pub mod predict;
pub mod report;
pub mod run;
pub mod status;
pub mod sweep;
pub mod sync;

use crate::error::{Error, Result};
use std::io::Write;

/// Writes `text` to standard output. A closed pipe (`dlp plan … | head`)
/// becomes [`Error::Stdout`], which ends the command quietly.
pub(crate) fn out(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(Error::Stdout)
}
