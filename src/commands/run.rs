//! `dlp run`: train, evaluate and report a pipeline (or a sweep of it).

use crate::analyze;
use crate::cli::RunArgs;
use crate::error::{Error, Result};
use crate::report::{Manifest, trace};
use crate::run::{self, RunOptions, device, sweep};

pub fn run(args: &RunArgs) -> Result<i32> {
    let _guard = trace::init(args.trace.as_deref())?;
    let interrupt_after = std::env::var("DLP_INTERRUPT_AFTER_STEPS")
        .ok()
        .and_then(|v| v.parse().ok());
    let mut opts = RunOptions {
        out: args.out.clone(),
        device: args.device.as_deref().map(device::parse).transpose()?,
        quiet: args.quiet,
        resume: args.resume.clone(),
        interrupt_after,
    };
    let plan = match (&args.resume, &args.file) {
        (Some(dir), _) => {
            if !dir.join("resume").join("state.yaml").exists() {
                return Err(Error::Usage(format!(
                    "{}: nothing to resume (no resume/state.yaml: the run was not interrupted, or this is not a run folder)",
                    dir.display()
                )));
            }
            opts.out = Some(dir.clone());
            Manifest::read(dir)?.plan
        }
        (None, Some(file)) => {
            let (plan, warnings) = analyze::load_with_warnings(file, &args.overrides.set)?;
            if !args.quiet {
                eprint!("{}", analyze::diagnostic::render_warnings(&warnings));
            }
            plan
        }
        (None, None) => {
            return Err(Error::Usage(
                "dlp run needs a pipeline file or --resume RUN_DIR".into(),
            ));
        }
    };
    if plan.sweep.is_some() && args.resume.is_none() {
        return sweep::run(&plan, &args.overrides.set, &opts);
    }
    let outcome = run::run(&plan, &opts)?;
    if outcome.failures.is_empty() {
        Ok(0)
    } else {
        Err(Error::Expectation(format!(
            "{} expectation(s) failed",
            outcome.failures.len()
        )))
    }
}
