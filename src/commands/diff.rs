//! `dlp diff OLD NEW [--tol METRIC=TOL]… [--alpha A] [--format F]`:
//! compares the metrics of two runs (run folders, multi-seed folders,
//! baselines or CSV files; the rules are in [`crate::diff`]) and
//! prints a table, one row per metric, then one per `train.csv` column.
//!
//! Exit codes: 0 when the comparison passes (exact mode: nothing differs;
//! with tolerances: no gated metric regressed), 1 when it fails, 2 on bad
//! usage or a missing or unreadable input. (DVC's `dvc metrics diff` exits
//! 0 whatever changed; a CI gate needs the difference.)

use crate::cli::{DiffArgs, DiffFormat};
use crate::diff;
use crate::error::{Error, Result};

pub(crate) fn run(args: &DiffArgs) -> Result<i32> {
    let gate = diff::parse_gate(&args.tol, args.alpha)?;
    // An input that cannot be read is a usage problem of this command
    // (exit 2), not a failed comparison (exit 1).
    let load = |p: &std::path::Path| diff::load(p).map_err(|e| Error::Usage(e.to_string()));
    let old = load(&args.old)?;
    let new = load(&args.new)?;
    let comparison = diff::compare(&old, &new, &gate)?;
    let (a, b) = (
        args.old.display().to_string(),
        args.new.display().to_string(),
    );
    let text = match args.format {
        DiffFormat::Text => comparison.text(),
        DiffFormat::Markdown => comparison.markdown(&a, &b),
        DiffFormat::Json => comparison.json(&a, &b),
    };
    crate::terminal::out(&text)?;
    Ok(comparison.exit_code())
}
