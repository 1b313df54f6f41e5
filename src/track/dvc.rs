//! DVC: a `dvc.yaml` in the run folder over dlp's own files, so that in a
//! git repository `dvc metrics show|diff`, `dvc params diff` and
//! `dvc plots show|diff` read dlp runs.
//!
//! - `params.yaml`: the resolved plan under the `--set` names, written at
//!   the start;
//! - `metrics.json`: the final metrics (`run.yaml`'s `final_metrics`: the
//!   last epoch's figures and the test metrics), written at the end;
//! - `train.csv`'s columns are the plots, against `epoch`.
//!
//! `dvc.yaml` names them (top-level `params:`, `metrics:` and `plots:`, no
//! stages); it is written at the start and again at the end, when
//! `train.csv`'s columns are known.

use super::{RunInfo, Tracker};
use crate::error::{Error, Result};
use crate::records::{EpochRow, atomic};
use std::path::{Path, PathBuf};

pub(crate) const FILE: &str = "dvc.yaml";
pub(crate) const METRICS: &str = "metrics.json";
pub(crate) const PARAMS: &str = "params.yaml";

/// Whether `dir` has DVC's files.
pub(crate) fn started(dir: &Path) -> bool {
    dir.join(FILE).is_file()
}

/// A run's DVC files.
pub(crate) struct Files {
    dir: PathBuf,
    columns: Vec<String>,
}

impl Files {
    pub(crate) fn new(dir: &Path) -> Files {
        Files {
            dir: dir.to_path_buf(),
            columns: Vec::new(),
        }
    }

    fn write_dvc_yaml(&self) -> Result<()> {
        let mut text = String::from(
            "# Written by dlp (--track dvc): dlp's files as DVC reads them.\n\
             params:\n- params.yaml\nmetrics:\n- metrics.json\nplots:\n- train.csv:\n    x: epoch\n",
        );
        if !self.columns.is_empty() {
            text.push_str("    y:\n");
            for c in &self.columns {
                text.push_str(&format!("    - {c}\n"));
            }
        }
        atomic::write(&self.dir.join(FILE), text.as_bytes())
    }
}

/// `train.csv`'s columns after `epoch`.
fn csv_columns(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join(crate::records::history::FILE))
        .ok()
        .and_then(|t| t.lines().next().map(str::to_string))
        .map(|h| {
            h.split(',')
                .filter(|c| *c != "epoch")
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

impl Tracker for Files {
    fn name(&self) -> &'static str {
        "dvc"
    }

    fn start(&mut self, run: &RunInfo<'_>) -> Result<()> {
        let params = super::plan_params(run.dir, run.manifest)?;
        let mut map = serde_yaml_ng::Mapping::new();
        for (k, v) in params {
            let value: serde_yaml_ng::Value =
                serde_yaml_ng::from_str(&v).unwrap_or(serde_yaml_ng::Value::String(v));
            map.insert(serde_yaml_ng::Value::String(k), value);
        }
        let text = serde_yaml_ng::to_string(&map).map_err(|e| Error::Runtime(e.to_string()))?;
        atomic::write(&self.dir.join(PARAMS), text.as_bytes())?;
        self.columns = csv_columns(&self.dir);
        self.write_dvc_yaml()
    }

    fn epoch(&mut self, _row: &EpochRow) -> Result<()> {
        let columns = csv_columns(&self.dir);
        if columns != self.columns {
            self.columns = columns;
            self.write_dvc_yaml()?;
        }
        Ok(())
    }

    fn end(&mut self, run: &RunInfo<'_>) -> Result<()> {
        let metrics: serde_json::Map<String, serde_json::Value> = run
            .manifest
            .final_metrics
            .iter()
            .filter(|(_, v)| v.is_finite())
            .map(|(k, v)| (k.clone(), serde_json::json!(v)))
            .collect();
        let text =
            serde_json::to_string_pretty(&metrics).map_err(|e| Error::Runtime(e.to_string()))?;
        atomic::write(&self.dir.join(METRICS), format!("{text}\n").as_bytes())?;
        self.columns = csv_columns(&self.dir);
        self.write_dvc_yaml()
    }
}
