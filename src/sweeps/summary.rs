//! The end of a sweep: `sweep.csv`, the ranked table and the picture, all
//! read from the trial folders (so a Slurm job that ran none of the
//! trials writes the same bytes as the process that ran them all).
//!
//! A trial's score is the best value of the sweep's monitor over its
//! epochs (`train.csv`), in the sweep's goal direction: the epoch early
//! stopping or a best-only checkpoint keeps, and what Keras Tuner
//! compares. Trials rank by how they ended, then by score: completed or
//! stopped early first, then pruned, then diverged, then any other (failed,
//! unfinished); ties keep sweep order. The best trial is the first, when
//! it completed or stopped early (a pruned trial is never the best, as in
//! Optuna).

use super::sweep::Spec;
use crate::error::{Error, Result};
use crate::plan::Mode;
use crate::plan::trials::{trial_name, value_text};
use crate::plan::{SweepValues, Value};
use crate::records::{History, Manifest, Status, atomic, history, manifest};
use crate::report::sweep_plot::{self, Axis, AxisValue, End, Line, Picture};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The summary's file name inside a sweep folder.
pub(crate) const FILE: &str = "sweep.csv";

/// What one trial folder holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TrialResult {
    /// `None` when the trial has not started.
    pub status: Option<Status>,
    /// Its `train.csv` (empty before the first epoch ends).
    pub history: History,
    /// `run.yaml`'s final metrics (empty until it ends).
    pub metrics: BTreeMap<String, f64>,
}

impl TrialResult {
    /// Epochs trained.
    pub(crate) fn epochs(&self) -> usize {
        self.history.last().map_or(0, |r| r.epoch)
    }

    /// The best monitored value and its epoch (the earliest on ties).
    pub(crate) fn score(&self, monitor: &str, goal: Mode) -> Option<(usize, f64)> {
        let epoch = self.history.best_epoch(monitor, goal)?;
        let row = self.history.rows.iter().find(|r| r.epoch == epoch)?;
        Some((epoch, row.get(monitor)?))
    }
}

/// Reads every trial's folder.
pub(crate) fn collect(base: &Path, spec: &Spec) -> Result<Vec<TrialResult>> {
    let n = spec.trials.len();
    (0..n)
        .map(|i| {
            let dir = base.join(trial_name(i, n));
            let csv = dir.join(history::FILE);
            let history = if csv.is_file() {
                History::read_csv(&csv)?
            } else {
                History::new()
            };
            let (status, metrics) = if dir.join(manifest::FILE).is_file() {
                let m = Manifest::read(&dir)?;
                (Some(m.status), m.final_metrics)
            } else {
                (None, BTreeMap::new())
            };
            Ok(TrialResult {
                status,
                history,
                metrics,
            })
        })
        .collect()
}

/// How a trial ended, as the ranking orders it.
fn class(status: Option<Status>) -> u8 {
    match status {
        Some(Status::Completed | Status::StoppedEarly) => 0,
        Some(Status::Pruned) => 1,
        Some(Status::Diverged) => 2,
        _ => 3,
    }
}

/// The trials' indices, best first (see the module documentation).
pub(crate) fn ranking(results: &[TrialResult], monitor: &str, goal: Mode) -> Vec<usize> {
    let mut order: Vec<usize> = (0..results.len()).collect();
    let key = |i: usize| {
        let score = results[i].score(monitor, goal).map(|(_, v)| match goal {
            Mode::Min => v,
            Mode::Max => -v,
        });
        (class(results[i].status), score)
    };
    order.sort_by(|&a, &b| {
        let ((ca, sa), (cb, sb)) = (key(a), key(b));
        ca.cmp(&cb)
            .then_with(|| match (sa, sb) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            })
            .then(a.cmp(&b))
    });
    order
}

/// The best trial: the first ranked, when it completed or stopped early
/// with a score.
pub(crate) fn best(
    results: &[TrialResult],
    order: &[usize],
    monitor: &str,
    goal: Mode,
) -> Option<usize> {
    order
        .first()
        .copied()
        .filter(|&i| class(results[i].status) == 0 && results[i].score(monitor, goal).is_some())
}

fn status_text(status: Option<Status>) -> &'static str {
    status.map_or("not_started", Status::as_str)
}

/// `sweep.csv`: one row per trial in sweep order: `trial`, the axes,
/// `status`, `epochs`, `best_epoch` and `best_<monitor>` (the score),
/// `rank`, `best` (`true` for the best trial), then the final metrics in
/// `train.csv`'s order.
pub(crate) fn csv_table(
    spec: &Spec,
    results: &[TrialResult],
    order: &[usize],
) -> (Vec<String>, Vec<Vec<String>>) {
    let (monitor, goal) = (&spec.sweep.monitor, spec.sweep.goal);
    let best = best(results, order, monitor, goal);
    let names: BTreeSet<&str> = results
        .iter()
        .flat_map(|r| r.metrics.keys().map(String::as_str))
        .collect();
    let metrics = history::column_order(names);
    let mut header = vec!["trial".to_string()];
    header.extend(spec.sweep.axes.iter().map(|a| a.target.clone()));
    header.extend(
        [
            "status".to_string(),
            "epochs".to_string(),
            "best_epoch".to_string(),
            format!("best_{monitor}"),
            "rank".to_string(),
            "best".to_string(),
        ]
        .into_iter()
        .chain(metrics.iter().cloned()),
    );
    let body = results
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let score = r.score(monitor, goal);
            let rank = order.iter().position(|&j| j == i).map_or(0, |p| p + 1);
            let mut row = vec![(i + 1).to_string()];
            row.extend(spec.trials[i].values.iter().map(value_text));
            row.extend([
                status_text(r.status).to_string(),
                r.epochs().to_string(),
                score.map(|(e, _)| e.to_string()).unwrap_or_default(),
                score.map(|(_, v)| atomic::csv_num(v)).unwrap_or_default(),
                rank.to_string(),
                (best == Some(i)).to_string(),
            ]);
            row.extend(metrics.iter().map(|k| {
                r.metrics
                    .get(k)
                    .map(|v| atomic::csv_num(*v))
                    .unwrap_or_default()
            }));
            row
        })
        .collect();
    (header, body)
}

/// The ranked table the console ends with.
pub(crate) fn ranked_table(spec: &Spec, results: &[TrialResult], order: &[usize]) -> String {
    let (monitor, goal) = (&spec.sweep.monitor, spec.sweep.goal);
    let best = best(results, order, monitor, goal);
    let mut header = vec!["rank".to_string(), "trial".to_string()];
    header.extend(spec.sweep.axes.iter().map(|a| a.target.clone()));
    header.extend([
        "status".to_string(),
        "epochs".to_string(),
        format!("best {monitor} (epoch)"),
    ]);
    let mut rows = vec![header];
    for (rank, &i) in order.iter().enumerate() {
        let r = &results[i];
        let mut row = vec![(rank + 1).to_string(), (i + 1).to_string()];
        row.extend(spec.trials[i].values.iter().map(value_text));
        row.push(status_text(r.status).to_string());
        row.push(r.epochs().to_string());
        row.push(
            r.score(monitor, goal)
                .map_or("-".to_string(), |(e, v)| format!("{v:.4} ({e})")),
        );
        rows.push(row);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (k, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        let mut line = cells.join("  ").trim_end().to_string();
        if k > 0 && best == Some(order[k - 1]) {
            line.push_str("  ← best");
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// What the picture shows of the trials.
pub(crate) fn picture(spec: &Spec, results: &[TrialResult], order: &[usize]) -> Picture {
    let (monitor, goal) = (&spec.sweep.monitor, spec.sweep.goal);
    let short = |target: &str| target.rsplit('.').next().unwrap_or(target).to_string();
    let trials = results
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let values: Vec<String> = spec
                .sweep
                .axes
                .iter()
                .zip(&spec.trials[i].values)
                .map(|(a, v)| format!("{}={}", short(&a.target), value_text(v)))
                .collect();
            Line {
                label: format!("{}: {}", i + 1, values.join(", ")),
                curve: r.history.series(monitor),
                end: match r.status {
                    Some(Status::Completed | Status::StoppedEarly) => End::Ran,
                    Some(Status::Pruned) => End::Pruned(r.epochs()),
                    Some(Status::Diverged) => End::Diverged,
                    _ => End::Unfinished,
                },
                score: r.score(monitor, goal),
            }
        })
        .collect();
    let axes = spec
        .sweep
        .axes
        .iter()
        .enumerate()
        .map(|(k, a)| {
            let values: Vec<AxisValue> = spec
                .trials
                .iter()
                .map(|t| match &t.values[k] {
                    Value::Int(i) => AxisValue::Num(*i as f64),
                    Value::Float(f) => AxisValue::Num(*f),
                    other => AxisValue::Cat(value_text(other)),
                })
                .collect();
            let nums = values.iter().filter_map(|v| match v {
                AxisValue::Num(x) => Some(*x),
                AxisValue::Cat(_) => None,
            });
            let log = match a.values {
                SweepValues::LogUniform { .. } => true,
                SweepValues::Uniform { .. } => false,
                SweepValues::List(_) => sweep_plot::wants_log(nums, 100.0),
            };
            Axis {
                name: a.target.clone(),
                values,
                log,
            }
        })
        .collect();
    Picture {
        monitor: monitor.clone(),
        goal,
        trials,
        axes,
        order: order.to_vec(),
        best: best(results, order, monitor, goal),
    }
}

/// Writes `sweep.csv` and the picture from the trial folders; returns the
/// ranked table and the line naming the files.
pub(crate) fn write(base: &Path, spec: &Spec) -> Result<String> {
    let results = collect(base, spec)?;
    let order = ranking(&results, &spec.sweep.monitor, spec.sweep.goal);
    let (header, body) = csv_table(spec, &results, &order);
    atomic::write_csv(&base.join(FILE), &header, &body)?;
    sweep_plot::write_picture(base, &picture(spec, &results, &order))?;
    let n = spec.trials.len();
    let ended = results
        .iter()
        .filter(|r| r.status.is_some_and(super::prune::ended))
        .count();
    let mut text = ranked_table(spec, &results, &order);
    text.push_str(&format!(
        "sweep: {ended} of {n} trials ended, ranked by their best {} ({}) → {}, {}\n",
        spec.sweep.monitor,
        match spec.sweep.goal {
            Mode::Min => "lowest first",
            Mode::Max => "highest first",
        },
        base.join(FILE).display(),
        base.join(sweep_plot::PNG).display(),
    ));
    Ok(text)
}

/// The summary of a sweep folder (`dlp sweep summary`): writes the files
/// and says which trials have not ended.
pub(crate) fn summarize(base: &Path) -> Result<(String, Vec<usize>)> {
    let spec = Spec::read(base)?;
    let text = write(base, &spec)?;
    let n = spec.trials.len();
    let unfinished: Vec<usize> = (0..n)
        .filter(|&i| {
            super::prune::status_of(&base.join(trial_name(i, n)))
                .ok()
                .flatten()
                .is_none_or(|s| !super::prune::ended(s))
        })
        .collect();
    Ok((text, unfinished))
}

/// An error for trials that have not ended.
pub(crate) fn unfinished_error(base: &Path, unfinished: &[usize]) -> Error {
    let list: Vec<String> = unfinished.iter().map(|i| (i + 1).to_string()).collect();
    Error::Runtime(format!(
        "{} trial{} not ended ({}): continue with `dlp sweep resume {}`",
        unfinished.len(),
        if unfinished.len() == 1 {
            " has"
        } else {
            "s have"
        },
        list.join(", "),
        base.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::EpochRow;

    fn result(status: Option<Status>, curve: &[f64]) -> TrialResult {
        let mut history = History::new();
        for (i, v) in curve.iter().enumerate() {
            history.push(EpochRow {
                epoch: i + 1,
                lr: 0.1,
                values: [("val_loss".to_string(), *v)].into(),
            });
        }
        TrialResult {
            status,
            history,
            metrics: BTreeMap::new(),
        }
    }

    /// Completed trials rank by their best value (not their last), before
    /// pruned, diverged and unfinished ones whatever their values; ties
    /// keep sweep order; the best is the first when it completed.
    #[test]
    fn ranking_and_the_best_trial() {
        use Status::*;
        let r = [
            result(Some(Completed), &[0.9, 0.5, 0.7]), // best 0.5 at epoch 2
            result(Some(Pruned), &[0.3]),              // better, but pruned
            result(Some(StoppedEarly), &[0.8, 0.45]),  // best
            result(Some(Diverged), &[0.2]),
            result(Some(Completed), &[0.6, 0.5]), // ties trial 1: after it
            result(None, &[]),
            result(Some(Completed), &[f64::NAN]), // no score: last of its class
        ];
        let order = ranking(&r, "val_loss", Mode::Min);
        assert_eq!(order, [2, 0, 4, 6, 1, 3, 5]);
        assert_eq!(best(&r, &order, "val_loss", Mode::Min), Some(2));
        assert_eq!(r[0].score("val_loss", Mode::Min), Some((2, 0.5)));
        // Goal max: the highest value wins.
        let order = ranking(&r, "val_loss", Mode::Max);
        assert_eq!(order[..3], [0, 2, 4]);
        // Only pruned and diverged trials: no best.
        let r = [result(Some(Pruned), &[0.3]), result(Some(Diverged), &[0.1])];
        let order = ranking(&r, "val_loss", Mode::Min);
        assert_eq!(best(&r, &order, "val_loss", Mode::Min), None);
    }
}
