//! `slurm/jobs.yaml`: the job ids of every submission.

use super::*;
use crate::error::{Error, Result};
use crate::records::atomic;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One `sbatch` of the trials and its summary job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Submission {
    /// The job array's id.
    pub array: String,
    /// The summary job's id.
    pub summary: String,
    /// The trials submitted (1-based, the array's task ids).
    pub trials: Vec<usize>,
    pub options: Options,
}

/// `slurm/jobs.yaml`: every submission, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Jobs {
    pub submissions: Vec<Submission>,
}

impl Jobs {
    pub(crate) fn read(base: &Path) -> Result<Option<Jobs>> {
        let path = base.join(DIR).join(JOBS_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                crate::file_format::check_yaml(&path, &text)?;
                serde_yaml_ng::from_str(&text)
                    .map(Some)
                    .map_err(|e| Error::file(&path, e.to_string()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    pub(super) fn write(&self, base: &Path) -> Result<()> {
        let text = serde_yaml_ng::to_string(self).map_err(|e| Error::Runtime(e.to_string()))?;
        let text = crate::file_format::stamp(&text);
        atomic::write(&base.join(DIR).join(JOBS_FILE), text.as_bytes())
    }

    /// The latest submission of 1-based trial `t`.
    pub(super) fn latest(&self, t: usize) -> Option<&Submission> {
        self.submissions
            .iter()
            .rev()
            .find(|s| s.trials.contains(&t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// The sweep folder of the format-1 fixture (see its README).
    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/format-1/slurm-sweep")
    }

    fn submission(array: &str, summary: &str, trials: Vec<usize>, options: Options) -> Submission {
        Submission {
            array: array.into(),
            summary: summary.into(),
            trials,
            options,
        }
    }

    /// What the fixture holds: a first submission of both trials and a
    /// resubmission of trial 2.
    fn expected() -> Jobs {
        let first = Options {
            partition: Some("debug".into()),
            cpus_per_trial: Some(2),
            time: Some("10".into()),
            max_parallel: Some(1),
            ..Options::default()
        };
        let again = Options {
            partition: Some("debug".into()),
            time: Some("10".into()),
            sbatch_args: vec!["--mem=2G".into()],
            ..Options::default()
        };
        Jobs {
            submissions: vec![
                submission("4101", "4102", vec![1, 2], first),
                submission("4107", "4108", vec![2], again),
            ],
        }
    }

    #[test]
    fn jobs_yaml_of_format_1_is_read() {
        let jobs = Jobs::read(&fixture()).unwrap().unwrap();
        assert_eq!(jobs, expected());
        assert_eq!(jobs.latest(2).map(|s| s.array.as_str()), Some("4107"));
        assert_eq!(jobs.latest(1).map(|s| s.array.as_str()), Some("4101"));
    }

    #[test]
    fn jobs_yaml_is_written_as_the_fixture_while_the_format_is_1() {
        if crate::file_format::CURRENT != 1 {
            return; // the fixture stays format 1; a format-2 one goes beside it
        }
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join(DIR)).unwrap();
        expected().write(tmp.path()).unwrap();
        let path = |base: &Path| base.join(DIR).join(JOBS_FILE);
        assert_eq!(
            std::fs::read_to_string(path(tmp.path())).unwrap(),
            std::fs::read_to_string(path(&fixture())).unwrap()
        );
    }

    #[test]
    fn a_jobs_yaml_of_a_newer_format_is_refused_by_name() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join(DIR)).unwrap();
        std::fs::write(
            tmp.path().join(DIR).join(JOBS_FILE),
            "format: 99\nsubmissions: []\n",
        )
        .unwrap();
        let e = Jobs::read(tmp.path()).unwrap_err().to_string();
        assert!(e.contains("jobs.yaml") && e.contains("99"), "{e}");
    }
}
