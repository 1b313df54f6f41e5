//! The MLflow outbox of a run folder: every call the run means to make,
//! in order, kept until the server has it.
//!
//! `mlflow/outbox.jsonl` holds one [`Op`] per line, appended as the run
//! goes (a line cut short by a crash is ignored and written again).
//! `mlflow/state.json` holds the server's address (never its credentials),
//! the MLflow run's id once created and how many operations the server has
//! acknowledged: sending starts after them, so each operation reaches the
//! server once, however often the run or `dlp sync` tries.

use crate::error::{Error, Result};
use crate::records::atomic;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The folder, inside a run folder, of its MLflow outbox and state.
pub(crate) const DIR: &str = "mlflow";
pub(crate) const OUTBOX: &str = "outbox.jsonl";
pub(crate) const STATE: &str = "state.json";

/// One MLflow call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum Op {
    /// Create the run (`runs/create`); `parent`: the run of the folder
    /// above (a sweep's or multi-seed folder's) is its parent.
    Create {
        experiment: String,
        run_name: String,
        start_time: i64,
        tags: Vec<(String, String)>,
        parent: bool,
    },
    /// `runs/log-batch`.
    Batch {
        #[serde(default)]
        metrics: Vec<Metric>,
        #[serde(default)]
        params: Vec<(String, String)>,
        #[serde(default)]
        tags: Vec<(String, String)>,
    },
    /// Upload the file `file` (relative to the run folder, read when sent)
    /// as the artifact `path`.
    Artifact { file: String, path: String },
    /// `runs/update`: the run's status, and its end time once ended.
    Status {
        status: String,
        end_time: Option<i64>,
    },
}

/// One metric value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Metric {
    pub key: String,
    pub value: f64,
    pub timestamp: i64,
    pub step: i64,
}

/// What `state.json` holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct State {
    /// The tracking server (without user name or password).
    pub tracking_uri: String,
    #[serde(default)]
    pub experiment_id: Option<String>,
    #[serde(default)]
    pub run_id: Option<String>,
    /// `mlflow-artifacts:/…` of the run.
    #[serde(default)]
    pub artifact_uri: Option<String>,
    /// Operations the server has (the first `sent` lines of the outbox).
    #[serde(default)]
    pub sent: usize,
    /// The last epoch queued (a resumed run redoes epochs after its last
    /// save: they are not logged twice).
    #[serde(default)]
    pub last_epoch: usize,
}

/// A run folder's outbox.
#[derive(Debug, Clone)]
pub(crate) struct Outbox {
    pub run_dir: PathBuf,
}

impl Outbox {
    pub(crate) fn new(run_dir: &Path) -> Outbox {
        Outbox {
            run_dir: run_dir.to_path_buf(),
        }
    }

    /// Whether `run_dir` has an outbox (it reports to MLflow).
    pub(crate) fn exists(run_dir: &Path) -> bool {
        run_dir.join(DIR).join(STATE).is_file()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.run_dir.join(DIR).join(name)
    }

    pub(crate) fn state(&self) -> Result<State> {
        let path = self.path(STATE);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        serde_json::from_str(&text).map_err(|e| Error::file(&path, e.to_string()))
    }

    pub(crate) fn write_state(&self, state: &State) -> Result<()> {
        let dir = self.run_dir.join(DIR);
        std::fs::create_dir_all(&dir).map_err(|e| Error::write(&dir, e))?;
        let text =
            serde_json::to_string_pretty(state).map_err(|e| Error::Runtime(e.to_string()))?;
        atomic::write(&self.path(STATE), text.as_bytes())
    }

    /// Appends `ops` to the outbox, synced.
    pub(crate) fn push(&self, ops: &[Op]) -> Result<()> {
        let path = self.path(OUTBOX);
        // A line cut short by a crash would swallow the next: end it first.
        let torn = std::fs::read(&path)
            .ok()
            .is_some_and(|b| !b.is_empty() && b.last() != Some(&b'\n'));
        let mut text = String::new();
        if torn {
            text.push('\n');
        }
        for op in ops {
            text.push_str(&serde_json::to_string(op).map_err(|e| Error::Runtime(e.to_string()))?);
            text.push('\n');
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::write(&path, e))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(|e| Error::write(&path, e))
    }

    /// Every complete operation in the outbox, in order.
    pub(crate) fn ops(&self) -> Result<Vec<Op>> {
        let path = self.path(OUTBOX);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(Error::io(&path, e)),
        };
        let mut ops = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str(line) {
                Ok(op) => ops.push(op),
                // Only a crash's torn last line is forgiven.
                Err(_) if !text.ends_with('\n') && i + 1 == text.lines().count() => {}
                Err(_) if is_torn(line) => {}
                Err(e) => {
                    return Err(Error::file(&path, format!("line {}: {e}", i + 1)));
                }
            }
        }
        Ok(ops)
    }
}

/// A line a crash cut short and a later append ended: not valid JSON, and
/// never a complete object.
fn is_torn(line: &str) -> bool {
    !line.trim_end().ends_with('}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_line_is_skipped_and_the_rest_kept() {
        let dir = tempfile::tempdir().unwrap();
        let b = Outbox::new(dir.path());
        b.write_state(&State::default()).unwrap();
        let op = Op::Status {
            status: "RUNNING".into(),
            end_time: None,
        };
        b.push(std::slice::from_ref(&op)).unwrap();
        // A crash in the middle of the next append.
        let path = dir.path().join(DIR).join(OUTBOX);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(br#"{"op":"status","sta"#).unwrap();
        assert_eq!(b.ops().unwrap(), vec![op.clone()]);
        b.push(std::slice::from_ref(&op)).unwrap();
        assert_eq!(b.ops().unwrap(), vec![op.clone(), op]);
    }
}
