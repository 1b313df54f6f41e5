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
