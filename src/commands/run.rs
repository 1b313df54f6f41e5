//! `dlp run`: train, evaluate and report a pipeline (or a sweep of it), or
//! continue an interrupted or crashed run with `--resume`.

use crate::analyze;
use crate::cli::RunArgs;
use crate::error::{Error, Result};
use crate::report::trace;
use crate::run::{self, RunOptions, device, seeds, sweep};

pub fn run(args: &RunArgs) -> Result<i32> {
    let _guard = trace::init(args.trace.as_deref())?;
    let interrupt_after = std::env::var("DLP_INTERRUPT_AFTER_STEPS")
        .ok()
        .and_then(|v| v.parse().ok());
    let save_every = args
        .save_every
        .as_deref()
        .map(|text| {
            humantime::parse_duration(text).map_err(|e| {
                Error::Usage(format!(
                    "--save-every {text}: {e} (write a duration such as 10m, 90s or 0)"
                ))
            })
        })
        .transpose()?;
    let opts = RunOptions {
        out: args.out.clone(),
        device: args.device.as_deref().map(device::parse).transpose()?,
        quiet: args.quiet,
        save_every,
        interrupt_after,
    };
    if args.jobs == 0 {
        return Err(Error::Usage("--jobs must be at least 1".into()));
    }
    let multi_seed =
        args.seeds.is_some() || args.resume.as_deref().is_some_and(seeds::is_seeds_folder);
    if args.jobs > 1 && !multi_seed {
        return Err(Error::Usage(
            "--jobs runs the seeds of --seeds N at once: give --seeds (or --resume a multi-seed folder)".into(),
        ));
    }
    let outcome = match (&args.resume, &args.file) {
        (Some(dir), _) if seeds::is_seeds_folder(dir) => {
            return seeds::resume(dir, args.jobs, &opts);
        }
        (Some(dir), _) => run::resume(dir, &opts)?,
        (None, Some(file)) => {
            let (plan, warnings) = analyze::load_with_warnings(file, &args.overrides.set)?;
            if !args.quiet {
                eprint!("{warnings}");
            }
            if let Some(n) = args.seeds {
                return seeds::run(&plan, &args.overrides.set, n, args.jobs, &opts);
            }
            if plan.sweep.is_some() {
                return sweep::run(&plan, &args.overrides.set, &opts);
            }
            run::run(&plan, &opts)?
        }
        (None, None) => {
            return Err(Error::Usage(
                "dlp run needs a pipeline file or --resume RUN_DIR".into(),
            ));
        }
    };
    if outcome.failures.is_empty() {
        Ok(0)
    } else {
        Err(Error::Expectation(format!(
            "{} expectation(s) failed",
            outcome.failures.len()
        )))
    }
}
