//! `dlp run`: train, evaluate and report a pipeline (or a sweep of it), or
//! continue an interrupted or crashed run with `--resume`.

use crate::analyze;
use crate::cli::{Executor, RunArgs, SlurmArgs};
use crate::error::{Error, Result};
use crate::run::{self, RunOptions, device};
use crate::sweeps::seeds;
use crate::sweeps::sweep;
use crate::terminal::trace;

pub(crate) fn run(args: &RunArgs) -> Result<i32> {
    let _guard = trace::init(args.trace.as_deref())?;
    let interrupt_after = crate::fault::interrupt_after_steps();
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
        pruner: None,
        track: crate::track::Settings {
            kinds: args.track.clone(),
            member: None,
        },
        trial: false,
    };
    if args.resume.is_none() {
        opts.track.check()?;
    }
    if args.jobs == 0 {
        return Err(Error::Usage("--jobs must be at least 1".into()));
    }
    let slurm = args.executor == Executor::Slurm;
    if !slurm && let Some(flag) = args.slurm.first_given() {
        return Err(Error::Usage(format!(
            "{flag} is an option of --executor slurm"
        )));
    }
    let jobs_misplaced = || {
        Error::Usage(
            "--jobs runs the seeds of --seeds N at once, or the trials of a sweep: give --seeds, a pipeline with a sweep, or --resume a multi-seed or sweep folder".into(),
        )
    };
    let outcome = match (&args.resume, &args.file) {
        (Some(dir), _) if sweep::is_sweep_folder(dir) => {
            return match args.trial {
                Some(t) => sweep::resume_trial(dir, t, &opts),
                None => sweep::resume(dir, args.jobs, &opts),
            };
        }
        (Some(dir), _) if args.trial.is_some() => {
            return Err(Error::Usage(format!(
                "--trial: {} is not a sweep folder (no {})",
                dir.display(),
                sweep::SPEC_FILE
            )));
        }
        (Some(dir), _) if seeds::is_seeds_folder(dir) => {
            return seeds::resume(dir, args.jobs, &opts);
        }
        (Some(_), _) if args.jobs > 1 => return Err(jobs_misplaced()),
        (Some(dir), _) => run::resume(dir, &opts)?,
        (None, Some(file)) => {
            let (plan, warnings) = analyze::load_with_warnings(file, &args.overrides.set)?;
            if !args.quiet {
                crate::terminal::err!("{warnings}");
            }
            if slurm && plan.sweep.is_none() {
                return Err(Error::Usage(format!(
                    "--executor slurm runs the trials of a sweep, and {} has none",
                    file.display()
                )));
            }
            if let Some(n) = args.seeds {
                return seeds::run(&plan, &args.overrides.set, n, args.jobs, &opts);
            }
            if plan.sweep.is_some() {
                if slurm {
                    if args.jobs > 1 {
                        return Err(Error::Usage(
                            "--jobs runs trials in this process; on Slurm, --max-parallel K limits how many run at once".into(),
                        ));
                    }
                    let options = slurm_options(&args.slurm, args.device.clone());
                    return crate::sweeps::slurm::submit(
                        &plan,
                        &args.overrides.set,
                        args.out.as_deref(),
                        &options,
                        args.slurm.dry_run,
                    );
                }
                return sweep::run(&plan, &args.overrides.set, args.jobs, &opts);
            }
            if args.jobs > 1 {
                return Err(jobs_misplaced());
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

/// The Slurm options of a command line.
pub(crate) fn slurm_options(
    a: &SlurmArgs,
    device: Option<String>,
) -> crate::sweeps::slurm::Options {
    crate::sweeps::slurm::Options {
        partition: a.partition.clone(),
        gpus_per_trial: a.gpus_per_trial,
        cpus_per_trial: a.cpus_per_trial,
        time: a.time.clone(),
        max_parallel: a.max_parallel,
        sbatch_args: a.sbatch_args.clone(),
        device,
    }
}
