//! `dlp check`.

use crate::cli::CheckArgs;
use crate::error::{Error, Result};

pub fn run(_args: &CheckArgs) -> Result<i32> {
    Err(Error::Runtime("`dlp check` is not built yet".into()))
}
