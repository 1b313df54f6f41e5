//! `dlp plan`.

use crate::cli::PlanArgs;
use crate::error::{Error, Result};

pub fn run(_args: &PlanArgs) -> Result<i32> {
    Err(Error::Runtime("`dlp plan` is not built yet".into()))
}
