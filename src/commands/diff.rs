//! `dlp diff OLD NEW [--tol METRIC=TOL]…`: compares the metrics of two runs
//! (run folders or CSV files; the reading rule is in
//! [`crate::report::diff`]) and prints a table, one row per metric.
//!
//! Exit codes: 0 when no metric regressed beyond its tolerance, 1 when one
//! did, 2 on bad usage or a missing or unreadable input. (DVC's `dvc
//! metrics diff` exits 0 whatever changed; a CI gate needs the difference.)

use crate::cli::DiffArgs;
use crate::error::{Error, Result};
use crate::report::diff;

pub fn run(args: &DiffArgs) -> Result<i32> {
    let tols = diff::parse_tols(&args.tol)?;
    // An input that cannot be read is a usage problem of this command
    // (exit 2), not a failed comparison (exit 1).
    let load = |p: &std::path::Path| diff::load(p).map_err(|e| Error::Usage(e.to_string()));
    let old = load(&args.old)?;
    let new = load(&args.new)?;
    for note in old.notes.iter().chain(&new.notes) {
        eprintln!("note: {note}");
    }
    let comparison = diff::compare(&old.values, &new.values, &tols)?;
    super::out(&comparison.to_string())?;
    let regressed: Vec<&str> = comparison
        .regressions()
        .iter()
        .map(|r| r.metric.as_str())
        .collect();
    if regressed.is_empty() {
        super::out(&format!(
            "no regression beyond tolerance ({} metrics compared)\n",
            comparison.rows.len()
        ))?;
    } else {
        super::out(&format!(
            "{} regressed beyond tolerance: {}\n",
            if regressed.len() == 1 {
                "1 metric"
            } else {
                "metrics"
            },
            regressed.join(", ")
        ))?;
    }
    Ok(comparison.exit_code())
}
