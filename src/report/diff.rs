//! Comparing the metrics of two runs: the engine of `dlp diff`.
//!
//! Each side is a run folder or a CSV file, read into one value per metric.
//!
//! **A run folder** gives each metric from the first of these files that
//! has it:
//! 1. `run.yaml`, its `final_metrics` (what the run reported and `expect`
//!    checked: test metrics and the validation metrics of the weights kept);
//! 2. `eval.csv`, when it is a summary (`metric,value` rows, or one row
//!    with a column per metric); a per-class table is skipped with a note;
//! 3. `train.csv`, its last row (where training ended), without `epoch` and
//!    `lr`.
//!
//! So `val_loss` means the kept model's validation loss when `run.yaml`
//! has it, else the last epoch's. A folder with none of the three files is
//! an error.
//!
//! **A CSV file** is read by its layout: a `train.csv` (header `epoch,lr,…`:
//! its last row), `metric,value` rows, or a single row of metrics.
//!
//! Every metric has a direction ([`Mode::for_metric`]: losses and errors
//! improve downwards, everything else upwards). A metric *regresses* when
//! it moves in the bad direction by more than its tolerance (default 0,
//! `--tol METRIC=ABS` or `--tol METRIC=REL%` of the old value), becomes NaN,
//! or disappears from the new side. Unlike DVC's `dvc metrics diff`, which
//! exits 0 whatever changed, `dlp diff` exits 1 on a regression so a CI job
//! can gate on it.

use super::atomic::{num, parse_num};
use super::history::History;
use super::manifest;
use crate::error::{Error, Result};
use crate::plan::Mode;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// The metrics of one side, and notes about how they were read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Loaded {
    pub values: BTreeMap<String, f64>,
    pub notes: Vec<String>,
}

/// Reads the metrics of a run folder or a CSV file (rule in the module
/// documentation).
pub fn load(path: &Path) -> Result<Loaded> {
    if path.is_dir() {
        load_folder(path)
    } else if path.is_file() {
        let values = match read_csv_metrics(path)? {
            Some(v) => v,
            None => {
                return Err(Error::file(
                    path,
                    "unknown CSV layout: expected a train.csv (header `epoch,lr,…`), `metric,value` rows, or one row with a column per metric",
                ));
            }
        };
        Ok(Loaded {
            values,
            notes: Vec::new(),
        })
    } else {
        Err(Error::file(path, "no such run folder or CSV file"))
    }
}

fn load_folder(dir: &Path) -> Result<Loaded> {
    let mut out = Loaded::default();
    let yaml = dir.join(manifest::FILE);
    let eval = dir.join("eval.csv");
    let train = dir.join("train.csv");
    if !yaml.is_file() && !eval.is_file() && !train.is_file() {
        return Err(Error::file(
            dir,
            "not a run folder: it has no run.yaml, eval.csv or train.csv",
        ));
    }
    if yaml.is_file() {
        out.values = read_final_metrics(&yaml)?;
    }
    if eval.is_file() {
        match read_csv_metrics(&eval)? {
            Some(v) => merge(&mut out.values, v),
            None => out
                .notes
                .push(format!("{}: not a metric summary, skipped", eval.display())),
        }
    }
    if train.is_file() {
        let h = History::read_csv(&train)?;
        if let Some(last) = h.last() {
            merge(&mut out.values, last.values.clone());
        }
    }
    Ok(out)
}

/// Adds the metrics `more` has and `into` lacks: earlier sources win.
fn merge(into: &mut BTreeMap<String, f64>, more: BTreeMap<String, f64>) {
    for (k, v) in more {
        into.entry(k).or_insert(v);
    }
}

/// `final_metrics` of a `run.yaml`, read without the rest of the manifest
/// so runs written by other `dlp` versions still compare.
fn read_final_metrics(path: &Path) -> Result<BTreeMap<String, f64>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let doc: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&text).map_err(|e| Error::file(path, e.to_string()))?;
    let mut out = BTreeMap::new();
    let Some(metrics) = doc.get("final_metrics") else {
        return Ok(out);
    };
    if metrics.is_null() {
        return Ok(out);
    }
    let map = metrics.as_mapping().ok_or_else(|| {
        Error::file(
            path,
            "`final_metrics` is not a mapping of metric names to numbers",
        )
    })?;
    for (k, v) in map {
        let name = k.as_str().ok_or_else(|| {
            Error::file(
                path,
                format!("final_metrics: key `{k:?}` is not a metric name"),
            )
        })?;
        let x = v.as_f64().ok_or_else(|| {
            Error::file(
                path,
                format!("final_metrics.{name}: `{v:?}` is not a number"),
            )
        })?;
        out.insert(name.to_string(), x);
    }
    Ok(out)
}

/// Reads a CSV of metrics in one of the three layouts; `None` when the
/// layout is none of them.
fn read_csv_metrics(path: &Path) -> Result<Option<BTreeMap<String, f64>>> {
    let text = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let mut reader = csv::Reader::from_reader(text.as_slice());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| Error::file(path, format!("cannot read the header: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    if header.len() >= 2 && header[0] == "epoch" && header[1] == "lr" {
        let h = History::read_csv(path)?;
        return Ok(Some(h.last().map(|r| r.values.clone()).unwrap_or_default()));
    }
    let records: Vec<csv::StringRecord> = reader
        .records()
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::file(path, e.to_string()))?;
    let number = |s: &str, line: usize, what: &str| {
        parse_num(s)
            .ok_or_else(|| Error::file(path, format!("line {line}: {what}: `{s}` is not a number")))
    };
    let mut out = BTreeMap::new();
    if header == ["metric", "value"] {
        for (i, r) in records.iter().enumerate() {
            let line = r.position().map_or(i + 2, |p| p.line() as usize);
            out.insert(r[0].trim().to_string(), number(&r[1], line, r[0].trim())?);
        }
        return Ok(Some(out));
    }
    if records.len() == 1 && header.iter().all(|h| !h.is_empty()) {
        let r = &records[0];
        for (h, cell) in header.iter().zip(r.iter()) {
            if parse_num(cell).is_none() {
                return Ok(None);
            }
            out.insert(h.clone(), number(cell, 2, h)?);
        }
        return Ok(Some(out));
    }
    Ok(None)
}

/// A tolerance: absolute, or relative to the old value's magnitude.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tol {
    Abs(f64),
    /// A fraction (5 % is 0.05).
    Rel(f64),
}

impl Tol {
    /// How far `metric` may move the bad way from `old`.
    pub fn allowance(self, old: f64) -> f64 {
        match self {
            Tol::Abs(a) => a,
            Tol::Rel(r) => r * old.abs(),
        }
    }
}

impl fmt::Display for Tol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tol::Abs(a) => write!(f, "{}", num(*a)),
            Tol::Rel(r) => write!(f, "{}%", num(r * 100.0)),
        }
    }
}

/// Parses `--tol` arguments (`test_accuracy=0.01`, `val_loss=5%`).
/// Errors are usage errors (exit 2).
pub fn parse_tols(args: &[String]) -> Result<BTreeMap<String, Tol>> {
    let mut out = BTreeMap::new();
    for a in args {
        let usage = |why: &str| {
            Error::Usage(format!(
                "--tol `{a}`: {why} (expected METRIC=ABS or METRIC=REL%, e.g. `test_accuracy=0.01` or `val_loss=5%`)"
            ))
        };
        let (metric, value) = a.split_once('=').ok_or_else(|| usage("no `=`"))?;
        let metric = metric.trim();
        if metric.is_empty()
            || !metric
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(usage("the metric name must be letters, digits and `_`"));
        }
        let value = value.trim();
        let (digits, rel) = match value.strip_suffix('%') {
            Some(d) => (d.trim(), true),
            None => (value, false),
        };
        let x: f64 = digits
            .parse()
            .map_err(|_| usage(&format!("`{value}` is not a number")))?;
        if !x.is_finite() || x < 0.0 {
            return Err(usage("the tolerance must be a finite number >= 0"));
        }
        let tol = if rel {
            Tol::Rel(x / 100.0)
        } else {
            Tol::Abs(x)
        };
        if out.insert(metric.to_string(), tol).is_some() {
            return Err(usage(&format!("`{metric}` has a tolerance already")));
        }
    }
    Ok(out)
}

/// What happened to one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Same,
    Better,
    /// Worse, but within the tolerance.
    Worse,
    /// Worse beyond the tolerance, or became NaN.
    Regressed,
    /// Only the new side has it.
    Added,
    /// Only the old side has it: counts as a regression.
    Missing,
}

impl Outcome {
    pub fn is_regression(self) -> bool {
        matches!(self, Outcome::Regressed | Outcome::Missing)
    }
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Same => "same",
            Outcome::Better => "better",
            Outcome::Worse => "worse, within tolerance",
            Outcome::Regressed => "REGRESSED",
            Outcome::Added => "added",
            Outcome::Missing => "MISSING in new",
        }
    }
}

/// One metric compared.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub metric: String,
    pub old: Option<f64>,
    pub new: Option<f64>,
    pub mode: Mode,
    pub tol: Tol,
    pub outcome: Outcome,
}

/// Judges one metric. Rounding slack: a move the bad way counts only
/// beyond `tolerance + 1e-12·max(1, |old|, |new|)`, so `0.82 → 0.81` with
/// tolerance 0.01 is within it even though `0.82 - 0.81` is
/// 0.010000000000000009 in floating point.
pub fn judge(old: Option<f64>, new: Option<f64>, mode: Mode, tol: Tol) -> Outcome {
    match (old, new) {
        (None, None) | (None, Some(_)) => Outcome::Added,
        (Some(_), None) => Outcome::Missing,
        (Some(o), Some(n)) => {
            if o == n || (o.is_nan() && n.is_nan()) {
                Outcome::Same
            } else if n.is_nan() {
                Outcome::Regressed
            } else if o.is_nan() {
                Outcome::Better
            } else {
                let worse_by = match mode {
                    Mode::Min => n - o,
                    Mode::Max => o - n,
                };
                let slack = 1e-12
                    * o.abs()
                        .max(if n.is_finite() { n.abs() } else { 0.0 })
                        .max(1.0);
                if worse_by < 0.0 {
                    Outcome::Better
                } else if worse_by.is_nan() || worse_by > tol.allowance(o) + slack {
                    Outcome::Regressed
                } else {
                    Outcome::Worse
                }
            }
        }
    }
}

/// Both sides compared, metric by metric in name order.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub rows: Vec<Row>,
}

/// Compares two metric sets. A tolerance for a metric neither side has is
/// a usage error (most likely a typo).
pub fn compare(
    old: &BTreeMap<String, f64>,
    new: &BTreeMap<String, f64>,
    tols: &BTreeMap<String, Tol>,
) -> Result<Comparison> {
    if let Some(name) = tols
        .keys()
        .find(|k| !old.contains_key(*k) && !new.contains_key(*k))
    {
        let mut all: Vec<&str> = old.keys().chain(new.keys()).map(String::as_str).collect();
        all.sort_unstable();
        all.dedup();
        return Err(Error::Usage(format!(
            "--tol names `{name}`, which neither side has (metrics: {})",
            all.join(", ")
        )));
    }
    let mut names: Vec<&String> = old.keys().chain(new.keys()).collect();
    names.sort();
    names.dedup();
    let rows = names
        .into_iter()
        .filter(|n| n.as_str() != "epoch" && n.as_str() != "lr")
        .map(|name| {
            let mode = Mode::for_metric(name);
            let tol = tols.get(name).copied().unwrap_or(Tol::Abs(0.0));
            let (o, n) = (old.get(name).copied(), new.get(name).copied());
            Row {
                metric: name.clone(),
                old: o,
                new: n,
                mode,
                tol,
                outcome: judge(o, n, mode, tol),
            }
        })
        .collect();
    Ok(Comparison { rows })
}

impl Comparison {
    /// The metrics that regressed beyond their tolerance.
    pub fn regressions(&self) -> Vec<&Row> {
        self.rows
            .iter()
            .filter(|r| r.outcome.is_regression())
            .collect()
    }

    /// 1 when anything regressed, else 0.
    pub fn exit_code(&self) -> i32 {
        i32::from(!self.regressions().is_empty())
    }
}

/// Six significant digits for the table (the files keep every digit).
fn short(x: f64) -> String {
    if !x.is_finite() {
        return num(x);
    }
    num(format!("{x:.5e}").parse().unwrap_or(x))
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let opt = |x: Option<f64>| x.map_or("-".to_string(), short);
        let mut table =
            vec![["metric", "better", "old", "new", "delta", "tol", "result"].map(String::from)];
        for r in &self.rows {
            let delta = match (r.old, r.new) {
                (Some(o), Some(n)) if o.is_finite() && n.is_finite() => {
                    let d = n - o;
                    let sign = if d > 0.0 { "+" } else { "" };
                    if o != 0.0 {
                        format!("{sign}{} ({sign}{:.2}%)", short(d), d / o.abs() * 100.0)
                    } else {
                        format!("{sign}{}", short(d))
                    }
                }
                _ => "-".into(),
            };
            table.push([
                r.metric.clone(),
                match r.mode {
                    Mode::Min => "lower".into(),
                    Mode::Max => "higher".into(),
                },
                opt(r.old),
                opt(r.new),
                delta,
                r.tol.to_string(),
                r.outcome.as_str().into(),
            ]);
        }
        let widths: Vec<usize> = (0..7)
            .map(|c| {
                table
                    .iter()
                    .map(|row| row[c].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for row in &table {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                if c + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    line.push_str(&format!("{cell:<w$}  ", w = widths[c]));
                }
            }
            writeln!(f, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerance_parsing() {
        let ok = parse_tols(&[
            "test_accuracy=0.01".into(),
            "val_loss=5%".into(),
            "loss = 0".into(),
        ]);
        let ok = ok.unwrap();
        assert_eq!(ok["test_accuracy"], Tol::Abs(0.01));
        assert_eq!(ok["val_loss"], Tol::Rel(0.05));
        assert_eq!(ok["loss"], Tol::Abs(0.0));
        let bad: &[(&str, &str)] = &[
            ("test_accuracy", "no `=`"),
            ("=0.1", "the metric name must be"),
            ("val-loss=0.1", "the metric name must be"),
            ("val_loss=abc", "`abc` is not a number"),
            ("val_loss=5 %%", "`5 %%` is not a number"),
            ("val_loss=-1", "finite number >= 0"),
            ("val_loss=inf", "finite number >= 0"),
            ("val_loss=%", "`%` is not a number"),
        ];
        for (arg, want) in bad {
            let err = parse_tols(&[arg.to_string()]).unwrap_err();
            assert!(matches!(err, Error::Usage(_)), "{arg}");
            let msg = err.to_string();
            assert!(msg.contains(want), "{arg}: {msg}");
            assert!(msg.starts_with(&format!("--tol `{arg}`: ")), "{msg}");
        }
        let err = parse_tols(&["a=1".into(), "a=2%".into()]).unwrap_err();
        assert!(err.to_string().contains("`a` has a tolerance already"));
    }

    #[test]
    fn judge_table() {
        use Mode::{Max, Min};
        use Outcome::*;
        let nan = f64::NAN;
        type Case = (Option<f64>, Option<f64>, Mode, Tol, Outcome);
        let t: &[Case] = &[
            (Some(0.82), Some(0.82), Max, Tol::Abs(0.0), Same),
            (Some(0.82), Some(0.83), Max, Tol::Abs(0.0), Better),
            (Some(0.82), Some(0.81), Max, Tol::Abs(0.0), Regressed),
            // 0.82 - 0.81 is 0.010000000000000009: within 0.01 by the slack.
            (Some(0.82), Some(0.81), Max, Tol::Abs(0.01), Worse),
            (Some(0.82), Some(0.80), Max, Tol::Abs(0.01), Regressed),
            (Some(0.40), Some(0.41), Min, Tol::Rel(0.05), Worse),
            (Some(0.40), Some(0.43), Min, Tol::Rel(0.05), Regressed),
            (Some(0.40), Some(0.30), Min, Tol::Abs(0.0), Better),
            (Some(0.40), Some(nan), Min, Tol::Abs(1.0), Regressed),
            (Some(nan), Some(0.4), Min, Tol::Abs(0.0), Better),
            (Some(nan), Some(nan), Min, Tol::Abs(0.0), Same),
            (
                Some(0.4),
                Some(f64::INFINITY),
                Min,
                Tol::Abs(1e9),
                Regressed,
            ),
            (Some(0.4), None, Min, Tol::Abs(0.0), Missing),
            (None, Some(0.4), Min, Tol::Abs(0.0), Added),
        ];
        for &(o, n, mode, tol, want) in t {
            assert_eq!(
                judge(o, n, mode, tol),
                want,
                "{o:?} -> {n:?} {mode:?} {tol:?}"
            );
        }
    }

    #[test]
    fn table_and_exit_code() {
        let old: BTreeMap<String, f64> = [("test_accuracy", 0.82), ("val_loss", 0.5), ("lr", 0.1)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        let mut new = old.clone();
        new.insert("test_accuracy".into(), 0.8);
        new.insert("val_loss".into(), 0.45);
        new.insert("lr".into(), 0.01);
        let c = compare(&old, &new, &BTreeMap::new()).unwrap();
        assert_eq!(c.exit_code(), 1);
        assert_eq!(
            c.to_string(),
            "metric         better  old   new   delta            tol  result\n\
             test_accuracy  higher  0.82  0.8   -0.02 (-2.44%)   0    REGRESSED\n\
             val_loss       lower   0.5   0.45  -0.05 (-10.00%)  0    better\n"
        );
        let tols = parse_tols(&["test_accuracy=0.02".into()]).unwrap();
        assert_eq!(compare(&old, &new, &tols).unwrap().exit_code(), 0);
        let typo = parse_tols(&["test_acc=0.02".into()]).unwrap();
        let err = compare(&old, &new, &typo).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--tol names `test_acc`, which neither side has (metrics: lr, test_accuracy, val_loss)"
        );
    }
}
