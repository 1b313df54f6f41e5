//! `dlp diff`.

use crate::cli::DiffArgs;
use crate::error::{Error, Result};

pub fn run(_args: &DiffArgs) -> Result<i32> {
    Err(Error::Runtime("`dlp diff` is not built yet".into()))
}
