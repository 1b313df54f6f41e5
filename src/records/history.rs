//! The per-epoch history behind `train.csv`, the learning curves and the
//! diagnosis.
//!
//! `train.csv` has the columns `epoch, lr`, then `loss, accuracy,
//! val_loss, val_accuracy` (those present), then every other metric in
//! alphabetical order, so two runs of one pipeline always have the same
//! columns in the same order. The whole file is rewritten atomically after
//! each epoch, so it is complete and readable at any moment of a run and a
//! resumed run reads it back with [`History::read_csv`].

use super::atomic::{self, csv_num, parse_num};
use crate::error::{Error, Result};
use crate::plan::Mode;
use std::collections::BTreeMap;
use std::path::Path;

/// The file's name inside a run folder.
pub(crate) const FILE: &str = "train.csv";

/// The metrics that lead `train.csv`, in this order, when present.
const LEADING: [&str; 4] = ["loss", "accuracy", "val_loss", "val_accuracy"];

/// One row of `train.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochRow {
    /// The epoch number as the training loop counts it (1-based in `dlp run`).
    pub epoch: usize,
    /// The learning rate of the epoch's first step: the schedule's rate
    /// times the optimizer's legacy `decay` factor 1/(1 + decay·steps
    /// before it); with `decay` the later steps of the epoch run slightly
    /// lower.
    pub lr: f64,
    /// Metric values by name (`loss`, `val_accuracy`, …).
    pub values: BTreeMap<String, f64>,
}

impl EpochRow {
    /// The value of `metric` in this row, if recorded.
    pub fn get(&self, metric: &str) -> Option<f64> {
        self.values.get(metric).copied()
    }
}

/// All epochs so far, with the metric columns in file order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct History {
    /// Metric column names, without `epoch` and `lr`, in file order.
    pub columns: Vec<String>,
    pub rows: Vec<EpochRow>,
}

/// Orders metric names the way `train.csv` lists them.
pub(crate) fn column_order<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut names: Vec<&str> = names.into_iter().collect();
    names.sort_by_key(|n| {
        (
            LEADING.iter().position(|l| l == n).unwrap_or(LEADING.len()),
            *n,
        )
    });
    names.dedup();
    names.into_iter().map(String::from).collect()
}

impl History {
    pub fn new() -> History {
        History::default()
    }

    /// Appends an epoch; a metric not seen before becomes a column (earlier
    /// rows have an empty cell for it).
    pub fn push(&mut self, row: EpochRow) {
        if row.values.keys().any(|k| !self.columns.contains(k)) {
            let all = self
                .columns
                .iter()
                .map(String::as_str)
                .chain(row.values.keys().map(String::as_str));
            self.columns = column_order(all);
        }
        self.rows.push(row);
    }

    /// The last row, if any.
    pub(crate) fn last(&self) -> Option<&EpochRow> {
        self.rows.last()
    }

    /// The recorded values of `metric`, as (epoch, value), skipping epochs
    /// where it was not recorded.
    pub(crate) fn series(&self, metric: &str) -> Vec<(usize, f64)> {
        self.rows
            .iter()
            .filter_map(|r| r.get(metric).map(|v| (r.epoch, v)))
            .collect()
    }

    /// The epoch whose `monitor` value is best in direction `mode`; the
    /// earliest on ties (as Keras' `EarlyStopping` keeps the first best).
    /// Non-finite values never count as best. `None` when `monitor` has no
    /// finite value.
    pub(crate) fn best_epoch(&self, monitor: &str, mode: Mode) -> Option<usize> {
        let mut best: Option<(usize, f64)> = None;
        for (epoch, v) in self.series(monitor) {
            if !v.is_finite() {
                continue;
            }
            let better = match best {
                None => true,
                Some((_, b)) => match mode {
                    Mode::Min => v < b,
                    Mode::Max => v > b,
                },
            };
            if better {
                best = Some((epoch, v));
            }
        }
        best.map(|(e, _)| e)
    }

    /// The row of epoch `epoch`.
    pub fn row(&self, epoch: usize) -> Option<&EpochRow> {
        self.rows.iter().find(|r| r.epoch == epoch)
    }

    /// The header and cells of `train.csv`.
    pub(crate) fn to_table(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let mut header = vec!["epoch".to_string(), "lr".to_string()];
        header.extend(self.columns.iter().cloned());
        let rows = self
            .rows
            .iter()
            .map(|r| {
                let mut cells = vec![r.epoch.to_string(), csv_num(r.lr)];
                cells.extend(
                    self.columns
                        .iter()
                        .map(|c| r.get(c).map(csv_num).unwrap_or_default()),
                );
                cells
            })
            .collect();
        (header, rows)
    }

    /// Rewrites `train.csv` atomically with every epoch so far.
    pub fn write_csv(&self, path: &Path) -> Result<()> {
        atomic::write(path, &self.csv_bytes(path)?)
    }

    /// The text of `train.csv`; `path` only names the file in errors.
    pub(crate) fn csv_bytes(&self, path: &Path) -> Result<Vec<u8>> {
        let (header, rows) = self.to_table();
        atomic::csv_bytes(path, &header, &rows)
    }

    /// Reads a `train.csv` back (for `dlp diff`). Errors name the file and
    /// the line.
    pub fn read_csv(path: &Path) -> Result<History> {
        let text = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        History::parse_csv(path, &text)
    }

    /// Parses the text of a `train.csv` (as [`History::csv_bytes`] writes
    /// it: numbers read back to the same bits); `path` names it in errors.
    pub(crate) fn parse_csv(path: &Path, text: &[u8]) -> Result<History> {
        let mut reader = csv::Reader::from_reader(text);
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| Error::file(path, format!("cannot read the header: {e}")))?
            .iter()
            .map(String::from)
            .collect();
        if header.len() < 2 || header[0] != "epoch" || header[1] != "lr" {
            return Err(Error::file(
                path,
                format!(
                    "line 1: expected a header starting with `epoch,lr`, found `{}`",
                    header.join(",")
                ),
            ));
        }
        let columns: Vec<String> = header[2..].to_vec();
        if let Some(c) = columns.iter().find(|c| c.is_empty()) {
            return Err(Error::file(
                path,
                format!("line 1: empty column name `{c}`"),
            ));
        }
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| Error::file(path, e.to_string()))?;
            let line = record.position().map_or(0, |p| p.line());
            let epoch = record[0].trim().parse::<usize>().map_err(|_| {
                Error::file(
                    path,
                    format!("line {line}: epoch `{}` is not a whole number", &record[0]),
                )
            })?;
            let cell = |i: usize| -> Result<f64> {
                parse_num(&record[i]).ok_or_else(|| {
                    Error::file(
                        path,
                        format!(
                            "line {line}: column `{}`: `{}` is not a number",
                            header[i], &record[i]
                        ),
                    )
                })
            };
            let lr = cell(1)?;
            let mut values = BTreeMap::new();
            for (i, c) in columns.iter().enumerate() {
                if !record[i + 2].trim().is_empty() {
                    values.insert(c.clone(), cell(i + 2)?);
                }
            }
            rows.push(EpochRow { epoch, lr, values });
        }
        Ok(History { columns, rows })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(epoch: usize, pairs: &[(&str, f64)]) -> EpochRow {
        EpochRow {
            epoch,
            lr: 0.001,
            values: pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        }
    }

    #[test]
    fn columns_lead_with_the_keras_four_then_alphabetical() {
        let order = column_order([
            "val_f1",
            "val_accuracy",
            "loss",
            "accuracy",
            "val_loss",
            "lr_x",
        ]);
        assert_eq!(
            order,
            [
                "loss",
                "accuracy",
                "val_loss",
                "val_accuracy",
                "lr_x",
                "val_f1"
            ]
        );
    }

    #[test]
    fn best_epoch_table() {
        // val_loss per epoch 1..=5: 0.9, 0.5, 0.5, nan, 0.7 → min at epoch 2
        // (earliest of the tie); val_accuracy 0.5, 0.8, 0.9, 0.9, 0.6 → max at 3.
        let mut h = History::new();
        let vl = [0.9, 0.5, 0.5, f64::NAN, 0.7];
        let va = [0.5, 0.8, 0.9, 0.9, 0.6];
        for e in 0..5 {
            h.push(row(e + 1, &[("val_loss", vl[e]), ("val_accuracy", va[e])]));
        }
        assert_eq!(h.best_epoch("val_loss", Mode::Min), Some(2));
        assert_eq!(h.best_epoch("val_accuracy", Mode::Max), Some(3));
        assert_eq!(h.best_epoch("missing", Mode::Min), None);
    }

    #[test]
    fn late_metric_gets_a_column_with_empty_earlier_cells() {
        let mut h = History::new();
        h.push(row(1, &[("loss", 1.0)]));
        h.push(row(2, &[("loss", 0.5), ("accuracy", 0.75)]));
        let (header, rows) = h.to_table();
        assert_eq!(header, ["epoch", "lr", "loss", "accuracy"]);
        assert_eq!(rows[0], ["1", "0.001", "1", ""]);
        assert_eq!(rows[1], ["2", "0.001", "0.5", "0.75"]);
    }
}
