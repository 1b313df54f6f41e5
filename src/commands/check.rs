//! `dlp check`: analyze each pipeline (shapes included) and report every
//! error, and the warnings of valid ones (statements that change nothing);
//! then read the data as `dlp run` would ([`crate::run::preflight`]), so
//! that nothing `run` refuses before its first step passes here; exit 0
//! when all are valid, 2 otherwise.

use crate::analyze;
use crate::cli::CheckArgs;
use crate::error::{Error, Result};

pub(crate) fn run(args: &CheckArgs) -> Result<i32> {
    let mut failed = 0;
    for file in &args.files {
        let checked =
            analyze::load_with_warnings(file, &args.overrides.set).and_then(|(plan, warnings)| {
                crate::terminal::err!("{warnings}");
                crate::run::preflight::preflight(&plan)?;
                Ok((plan, warnings))
            });
        match checked {
            Ok((plan, warnings)) => {
                let params = plan.model.total_params();
                let noted = match warnings.diagnostics.len() {
                    0 => String::new(),
                    1 => ", 1 warning".to_string(),
                    n => format!(", {n} warnings"),
                };
                let layers = match plan.model.layers.len() {
                    1 => "1 layer".to_string(),
                    n => format!("{n} layers"),
                };
                crate::terminal::out(&format!(
                    "{}: ok ({layers}, {params} parameters{noted})\n",
                    file.display(),
                ))?;
            }
            // A bad `--set` is the same mistake for every file: stop.
            Err(e @ Error::Usage(_)) => return Err(e),
            Err(e) => {
                failed += 1;
                match e {
                    Error::Invalid(report) => crate::terminal::err!("{report}"),
                    other => crate::terminal::errln!("error: {other}"),
                }
            }
        }
    }
    Ok(if failed == 0 { 0 } else { 2 })
}
