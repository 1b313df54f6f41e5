//! `dlp eval`.

use crate::cli::EvalArgs;
use crate::error::{Error, Result};

pub fn run(_args: &EvalArgs) -> Result<i32> {
    Err(Error::Runtime("`dlp eval` is not built yet".into()))
}
