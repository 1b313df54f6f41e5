//! `run.yaml`: everything needed to know what a run was and how it ended —
//! the resolved plan, the seed, the versions, the device and thread count
//! (which, with the seed, fix every number in the run), the times, the
//! status, the preprocessing statistics, the best and stop epochs and the
//! final metrics. It is rewritten atomically when the run starts (status
//! `running`) and when it ends, so an interrupted run says so.

use super::atomic;
use crate::error::{Error, Result};
use crate::plan::Plan;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// The manifest's file name inside a run folder.
pub(crate) const FILE: &str = "run.yaml";

/// The candle-core version `dlp` is built against, as resolved in
/// `Cargo.lock` (read by `build.rs`).
pub(crate) const CANDLE_VERSION: &str = env!("DLP_CANDLE_VERSION");

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Still training (or killed without a chance to say otherwise).
    Running,
    /// Trained for every epoch.
    Completed,
    /// Early stopping ended training before the epoch bound.
    StoppedEarly,
    /// A sweep's pruning rule stopped the trial: its monitored value fell
    /// behind the earlier trials' (`sweep … prune=median`).
    Pruned,
    /// The loss became NaN or infinite.
    Diverged,
    /// Ctrl-C or SIGTERM; resumable with `dlp run --resume`.
    Interrupted,
    /// The process ended without a word (`kill -9`, the OOM killer, a
    /// power cut): found `running` with nobody holding the run folder's
    /// lock. Resumable with `dlp run --resume` from the last save.
    Crashed,
    /// Any other error.
    Failed,
}

impl Status {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Completed => "completed",
            Status::StoppedEarly => "stopped_early",
            Status::Pruned => "pruned",
            Status::Diverged => "diverged",
            Status::Interrupted => "interrupted",
            Status::Crashed => "crashed",
            Status::Failed => "failed",
        }
    }
}

/// The content of `run.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub status: Status,
    /// The process exit code (`null` while running).
    pub exit_code: Option<i32>,
    pub seed: u64,
    pub dlp_version: String,
    pub candle_version: String,
    /// The device actually used (`cpu`, `cuda:0`).
    pub device: String,
    /// Worker threads (results are identical for one device and thread count).
    pub threads: usize,
    /// RFC 3339, UTC.
    pub started: String,
    /// RFC 3339, UTC; `null` while running.
    pub ended: Option<String>,
    /// The epoch with the best monitored value, when something is monitored.
    pub best_epoch: Option<usize>,
    /// The last epoch trained.
    pub stop_epoch: Option<usize>,
    /// The epoch whose weights the test split saw (`evaluate weights=`).
    #[serde(default)]
    pub test_epoch: Option<usize>,
    /// Final metrics by name (`test_accuracy`, `val_loss`, …): what
    /// `expect` checks and what `dlp diff` compares first.
    pub final_metrics: BTreeMap<String, f64>,
    /// Statistics computed on the train split (normalisation mean and
    /// standard deviation, …), by name; reused when the run is resumed or
    /// its weights evaluated.
    pub preprocessing: BTreeMap<String, serde_yaml_ng::Value>,
    /// The resolved plan the run executed. Enums are written as one-key
    /// maps (`source: {blobs: {samples: 1000, …}}`): YAML tags, the
    /// default, cannot nest (`test: !size !count 200` is not YAML).
    #[serde(with = "serde_yaml_ng::with::singleton_map_recursive")]
    pub plan: Plan,
    /// `transfer { from … }`: the weights file the run started from and
    /// its MD5 when the run started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer: Option<TransferSource>,
}

/// The source of a transfer-learning run's starting weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransferSource {
    /// The source run folder.
    pub run: std::path::PathBuf,
    /// Its `model.safetensors`.
    pub weights: std::path::PathBuf,
    /// Lower-case hex MD5 of that file.
    pub weights_md5: String,
}

impl Manifest {
    /// A manifest for a run starting now.
    pub fn start(plan: Plan, device: &str, threads: usize) -> Manifest {
        Manifest {
            status: Status::Running,
            exit_code: None,
            seed: plan.seed,
            dlp_version: env!("CARGO_PKG_VERSION").to_string(),
            candle_version: CANDLE_VERSION.to_string(),
            device: device.to_string(),
            threads,
            started: rfc3339(SystemTime::now()),
            ended: None,
            best_epoch: None,
            stop_epoch: None,
            test_epoch: None,
            final_metrics: BTreeMap::new(),
            preprocessing: BTreeMap::new(),
            plan,
            transfer: None,
        }
    }

    /// Marks the run finished now with `status` and `exit_code`.
    pub fn finish(&mut self, status: Status, exit_code: i32) {
        self.status = status;
        self.exit_code = Some(exit_code);
        self.ended = Some(rfc3339(SystemTime::now()));
    }

    /// Writes `dir/run.yaml` atomically.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join(FILE);
        let text = serde_yaml_ng::to_string(self)
            .map_err(|e| Error::file(&path, format!("cannot render the manifest: {e}")))?;
        atomic::write(&path, crate::file_format::stamp(&text).as_bytes())
    }

    /// Reads `dir/run.yaml`.
    pub fn read(dir: &Path) -> Result<Manifest> {
        super::atomic::read_yaml(&dir.join(FILE))
    }

    /// Reads the manifest of a folder named on the command line as a run
    /// folder: without `run.yaml` it is none, a usage error (exit 2).
    pub(crate) fn read_run_folder(dir: &Path) -> Result<Manifest> {
        if !dir.join(FILE).is_file() {
            return Err(Error::Usage(format!(
                "{}: not a run folder (no {FILE})",
                dir.display()
            )));
        }
        Manifest::read(dir)
    }
}

/// Formats a time as RFC 3339 in UTC with whole seconds
/// (`2026-11-28T05:18:58Z`). Times before 1970 print as the epoch.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day):
/// Howard Hinnant's `civil_from_days`
/// (<https://howardhinnant.github.io/date_algorithms.html>).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rfc3339_table() {
        // Reference: `date -u -d @SECONDS +%Y-%m-%dT%H:%M:%SZ`.
        let table: &[(u64, &str)] = &[
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_709_210_096, "2024-02-29T12:34:56Z"),
            (1_798_761_599, "2026-12-31T23:59:59Z"),
            (4_107_542_400, "2100-03-01T00:00:00Z"),
        ];
        for &(s, want) in table {
            assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_secs(s)), want, "{s}");
        }
    }

    #[test]
    fn status_spelling() {
        // The spellings the README documents for `run.yaml`'s status.
        let table = [
            (Status::Running, "running"),
            (Status::Completed, "completed"),
            (Status::StoppedEarly, "stopped_early"),
            (Status::Diverged, "diverged"),
            (Status::Interrupted, "interrupted"),
            (Status::Crashed, "crashed"),
            (Status::Failed, "failed"),
        ];
        for (s, want) in table {
            assert_eq!(s.as_str(), want);
            assert_eq!(serde_yaml_ng::to_string(&s).unwrap(), format!("{want}\n"));
            let back: Status = serde_yaml_ng::from_str(want).unwrap();
            assert_eq!(back, s);
        }
    }
}
