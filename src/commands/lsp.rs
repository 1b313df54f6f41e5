//! `dlp lsp`: the language server over standard input and output.

use crate::error::Result;

pub(crate) fn run() -> Result<i32> {
    crate::lsp::serve_stdio()?;
    Ok(0)
}
