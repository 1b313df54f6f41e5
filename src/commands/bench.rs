//! `dlp bench`.

use crate::cli::BenchArgs;
use crate::error::{Error, Result};

pub fn run(_args: &BenchArgs) -> Result<i32> {
    Err(Error::Runtime("`dlp bench` is not built yet".into()))
}
