//! `dlp run`.

use crate::cli::RunArgs;
use crate::error::{Error, Result};

pub fn run(_args: &RunArgs) -> Result<i32> {
    Err(Error::Runtime("`dlp run` is not built yet".into()))
}
