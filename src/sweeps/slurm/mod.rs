//! Sweeps on a Slurm cluster: `dlp run SWEEP.dlp --executor slurm`.
//!
//! The sweep folder is written as for a local sweep (`sweep.yaml`), then
//! submitted as one job array, one array task per trial, each running
//! `dlp run --resume SWEEP_DIR --trial $SLURM_ARRAY_TASK_ID` into the
//! shared folder, and a summary job that depends on the array
//! (`--dependency=afterany`) and runs `dlp sweep summary SWEEP_DIR`.
//! Slurm does the scheduling, the queueing, the limits and the requeueing;
//! `dlp` writes the batch scripts (`slurm/trials.sbatch`,
//! `slurm/summary.sbatch`), submits them with `sbatch`, and records the
//! job ids in `slurm/jobs.yaml`.
//!
//! `dlp sweep status` reads each trial's state from its folder and from
//! `squeue` (and `sacct` where the cluster keeps accounting); `dlp sweep
//! resume` resubmits the trials that failed, timed out or were preempted:
//! each continues from its resume file.

mod jobs;
mod options;
mod script;
mod status;
mod submit;

pub(crate) use jobs::{Jobs, Submission};
pub(crate) use options::Options;
pub(crate) use script::{array_spec, summary_script, trials_script};
pub(crate) use status::{Tasks, resubmit, status};
pub(crate) use submit::submit;

use std::path::Path;

/// The folder of scripts, logs and job ids inside a sweep folder.
pub(crate) const DIR: &str = "slurm";
/// The job ids of every submission.
pub(crate) const JOBS_FILE: &str = "jobs.yaml";
pub(crate) const TRIALS_SCRIPT: &str = "trials.sbatch";
pub(crate) const SUMMARY_SCRIPT: &str = "summary.sbatch";
/// Whether a sweep folder was submitted to Slurm.
pub(crate) fn is_slurm_sweep(base: &Path) -> bool {
    base.join(DIR).join(JOBS_FILE).is_file()
}

#[cfg(test)]
mod tests {
    use super::*;
    use super::{options::*, submit::*};

    #[test]
    fn job_names_keep_to_safe_characters() {
        assert_eq!(job_name("lr_sweep"), "lr_sweep");
        assert_eq!(job_name("my sweep #2\n"), "my_sweep__2_");
    }

    #[test]
    fn array_specs() {
        assert_eq!(array_spec(&[1, 2, 3, 4, 5, 6, 7], Some(3)), "1-7%3");
        assert_eq!(array_spec(&[1, 2, 3], None), "1-3");
        assert_eq!(array_spec(&[2, 5, 6], Some(2)), "2,5,6%2");
        assert_eq!(array_spec(&[4], None), "4");
    }

    #[test]
    fn options_refuse_what_an_sbatch_line_cannot_hold() {
        let o = Options {
            sbatch_args: vec!["account=x".into()],
            ..Options::default()
        };
        assert_eq!(
            o.check().unwrap_err().to_string(),
            "--sbatch-arg \"account=x\": pass an sbatch option, such as --sbatch-arg=--account=ml"
        );
        let o = Options {
            partition: Some("gpu\n#SBATCH --x".into()),
            ..Options::default()
        };
        assert!(o.check().is_err());
        let given = Options {
            time: Some("1:00:00".into()),
            ..Options::default()
        };
        let kept = Options {
            partition: Some("gpu".into()),
            time: Some("10".into()),
            sbatch_args: vec!["--qos=low".into()],
            ..Options::default()
        };
        let o = kept.overridden_by(&given);
        assert_eq!(
            (
                o.partition.as_deref(),
                o.time.as_deref(),
                o.sbatch_args.len()
            ),
            (Some("gpu"), Some("1:00:00"), 1)
        );
    }
}
