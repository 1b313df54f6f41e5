//! The terminal: standard output that ends quietly on a closed pipe
//! ([`out`]), the progress bars and epoch lines of training
//! ([`progress`]), and the log and Chrome-trace layers ([`trace`]).

pub(crate) mod progress;
pub mod trace;

pub(crate) use progress::Progress;

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
