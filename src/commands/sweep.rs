//! `dlp sweep status|resume|summary|best SWEEP_DIR`: a sweep folder as a
//! whole (each trial's state, finishing it here or on Slurm, its summary,
//! the best trial's pipeline).

use crate::cli::{Executor, SweepCommand};
use crate::error::{Error, Result};
use crate::run::{RunOptions, device};
use crate::sweeps::sweep;
use crate::sweeps::{slurm, summary};
use std::path::Path;

pub(crate) fn run(command: &SweepCommand) -> Result<i32> {
    match command {
        SweepCommand::Status(a) => {
            sweep_folder(&a.dir)?;
            crate::terminal::out(&slurm::status(&a.dir)?)?;
            Ok(0)
        }
        SweepCommand::Summary(a) => {
            sweep_folder(&a.dir)?;
            let (text, unfinished) = summary::summarize(&a.dir)?;
            crate::terminal::out(&text)?;
            if unfinished.is_empty() {
                Ok(0)
            } else {
                Err(summary::unfinished_error(&a.dir, &unfinished))
            }
        }
        SweepCommand::Best(a) => {
            sweep_folder(&a.dir)?;
            let best = crate::sweeps::best::best(&a.dir)?;
            crate::terminal::errln!("{}: {} ({})", best.trial, best.values.join(" "), best.score);
            match &a.out {
                Some(path) => {
                    crate::records::atomic::write(path, best.text.as_bytes())?;
                    crate::terminal::errln!("wrote {}", path.display());
                }
                None => crate::terminal::out(&best.text)?,
            }
            Ok(0)
        }
        SweepCommand::Resume(a) => {
            sweep_folder(&a.dir)?;
            if a.jobs == 0 {
                return Err(Error::Usage("--jobs must be at least 1".into()));
            }
            let executor = a.executor.unwrap_or(if slurm::is_slurm_sweep(&a.dir) {
                Executor::Slurm
            } else {
                Executor::Local
            });
            let device_spec = a.device.as_deref().map(device::parse).transpose()?;
            match executor {
                Executor::Slurm => {
                    if a.jobs > 1 {
                        return Err(Error::Usage(
                            "--jobs runs trials in this process; on Slurm, --max-parallel K limits how many run at once".into(),
                        ));
                    }
                    let options = super::run::slurm_options(&a.slurm, a.device.clone());
                    slurm::resubmit(&a.dir, &options, a.slurm.dry_run)
                }
                Executor::Local => {
                    if let Some(flag) = a.slurm.first_given() {
                        return Err(Error::Usage(format!(
                            "{flag} is an option of --executor slurm"
                        )));
                    }
                    let opts = RunOptions {
                        device: device_spec,
                        quiet: a.quiet,
                        save_every: Some(std::time::Duration::from_secs(600)),
                        ..RunOptions::default()
                    };
                    sweep::resume(&a.dir, a.jobs, &opts)
                }
            }
        }
    }
}

fn sweep_folder(dir: &Path) -> Result<()> {
    if sweep::is_sweep_folder(dir) {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "{}: not a sweep folder (no {})",
            dir.display(),
            sweep::SPEC_FILE
        )))
    }
}
