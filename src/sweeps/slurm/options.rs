//! How trials are requested from Slurm: the flags of `--executor slurm`.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// How trials are requested from Slurm.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Options {
    /// `--partition`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    /// GPUs per trial (`--gres=gpu:G`); trials then run with `--device cuda`
    /// unless `device` says otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpus_per_trial: Option<u32>,
    /// CPUs per trial (`--cpus-per-task`); each trial runs that many threads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus_per_trial: Option<u32>,
    /// Each task's time limit (`--time`, Slurm's formats: `90`, `2:00:00`,
    /// `1-00:00:00`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// At most this many trials at once (`--array=…%K`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_parallel: Option<usize>,
    /// Further `sbatch` options, one per `#SBATCH` line of both scripts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sbatch_args: Vec<String>,
    /// `--device` for the trials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
}

impl Options {
    /// Refuses values that cannot go on an `#SBATCH` line.
    pub(crate) fn check(&self) -> Result<()> {
        let one_line = |flag: &str, v: &str| {
            if v.is_empty() || v.chars().any(|c| c.is_control()) {
                Err(Error::Usage(format!(
                    "{flag} {v:?}: a value for an #SBATCH line cannot be empty or hold control characters"
                )))
            } else {
                Ok(())
            }
        };
        if let Some(p) = &self.partition {
            one_line("--partition", p)?;
        }
        if let Some(t) = &self.time {
            one_line("--time", t)?;
        }
        for a in &self.sbatch_args {
            one_line("--sbatch-arg", a)?;
            if !a.starts_with('-') {
                return Err(Error::Usage(format!(
                    "--sbatch-arg {a:?}: pass an sbatch option, such as --sbatch-arg=--account=ml"
                )));
            }
        }
        if self.max_parallel == Some(0) {
            return Err(Error::Usage("--max-parallel must be at least 1".into()));
        }
        if self.cpus_per_trial == Some(0) {
            return Err(Error::Usage("--cpus-per-trial must be at least 1".into()));
        }
        Ok(())
    }

    /// Replaces the options given on a command line (`dlp sweep resume`).
    pub(crate) fn overridden_by(&self, other: &Options) -> Options {
        Options {
            partition: other.partition.clone().or_else(|| self.partition.clone()),
            gpus_per_trial: other.gpus_per_trial.or(self.gpus_per_trial),
            cpus_per_trial: other.cpus_per_trial.or(self.cpus_per_trial),
            time: other.time.clone().or_else(|| self.time.clone()),
            max_parallel: other.max_parallel.or(self.max_parallel),
            sbatch_args: if other.sbatch_args.is_empty() {
                self.sbatch_args.clone()
            } else {
                other.sbatch_args.clone()
            },
            device: other.device.clone().or_else(|| self.device.clone()),
        }
    }
}
