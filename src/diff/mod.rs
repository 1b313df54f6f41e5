//! Comparing the metrics of two runs: the engine of `dlp diff`.
//!
//! **Reading a side** ([`load`]). A folder with a `seeds.csv` is a
//! multi-seed run (`dlp run --seeds N`, or its baseline): one value per
//! seed and metric. Any other folder gives each metric from the first of
//! these files that has it: `run.yaml`'s `final_metrics` (what the run
//! reported and `expect` checked), `metrics.csv` (a baseline's copy of
//! them), `eval.csv` (the test report: `test_precision_0`, `test_f1`,
//! `test_f1_weighted`, `test_accuracy`, … as the run names them), and the
//! last row of `train.csv`; its `train.csv` also gives the per-epoch
//! curves. A CSV file is read by its layout (`seeds.csv`, `train.csv`,
//! `eval.csv`, `metric,value` rows, or one row of metrics).
//!
//! **Two modes.** With no tolerance, the comparison is exact (the
//! determinism check): every metric and every curve counts, and any
//! difference, better or worse, fails. Once tolerances are given
//! ([`Gate`]), only the named metrics (and `curve.COLUMN`s) decide; the
//! others are listed as information.
//!
//! **Directions.** A metric *regresses* when it moves the bad way by more
//! than its tolerance, becomes NaN, or disappears. The bad way is the
//! metric's own ([`Mode::for_metric`]: losses and errors improve
//! downwards, the rest upwards), or the tolerance's sign: `-0.01` allows a
//! drop of 0.01, `+5%` a rise of 5 % of the old value.
//!
//! **Seeds.** Between two multi-seed sides a gated metric compares the
//! means, and regresses only when the mean moved the bad way beyond the
//! tolerance *and* Welch's t-test finds the difference unlikely to be seed
//! noise (two-sided p < α, 0.05 unless `--alpha`); a move beyond the
//! tolerance with p ≥ α is reported and passes.
//!
//! Unlike DVC's `dvc metrics diff`, which exits 0 whatever changed, `dlp
//! diff` exits 1 when the comparison fails, so a CI job can gate on it.

pub(crate) mod load;
pub(crate) mod render;

pub use load::{Loaded, SeedTable, load};

use crate::error::{Error, Result};
use crate::metrics::stats::{Summary, welch};
use crate::plan::Mode;
use crate::records::atomic::csv_num;
use crate::records::history::History;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// How far a metric may move the bad way.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub(crate) enum Amount {
    Abs(f64),
    /// A fraction of the old value's magnitude (5 % is 0.05).
    Rel(f64),
}

/// A metric's tolerance: the amount, and the bad direction when the
/// tolerance states one with a sign.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct Tol {
    pub amount: Amount,
    /// `Some(Mode::Max)` for `-x` (drops are bad: higher is better),
    /// `Some(Mode::Min)` for `+x`; `None` takes the metric's own.
    #[serde(skip)]
    pub sign: Option<Mode>,
}

impl Tol {
    pub(crate) const ZERO: Tol = Tol {
        amount: Amount::Abs(0.0),
        sign: None,
    };

    /// How far the metric may move the bad way from `old`.
    pub(crate) fn allowance(self, old: f64) -> f64 {
        match self.amount {
            Amount::Abs(a) => a,
            Amount::Rel(r) => r * old.abs(),
        }
    }
}

impl fmt::Display for Tol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = match self.sign {
            Some(Mode::Max) => "-",
            Some(Mode::Min) => "+",
            None => "",
        };
        match self.amount {
            Amount::Abs(a) => write!(f, "{sign}{}", csv_num(a)),
            Amount::Rel(r) => write!(f, "{sign}{}%", csv_num(r * 100.0)),
        }
    }
}

/// The prefix that names a curve (a `train.csv` column) in `--tol`.
pub(crate) const CURVE_PREFIX: &str = "curve.";

/// What decides the exit code: nothing named (exact mode), or the named
/// metrics and curves.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Gate {
    pub metrics: BTreeMap<String, Tol>,
    /// `curve.COLUMN=ABS`: the largest per-epoch deviation allowed.
    pub curves: BTreeMap<String, f64>,
    /// Significance level of Welch's test between multi-seed sides.
    pub alpha: f64,
}

/// The significance level when `--alpha` is not given.
pub(crate) const DEFAULT_ALPHA: f64 = 0.05;

impl Gate {
    /// Exact mode: no tolerance given.
    pub(crate) fn is_exact(&self) -> bool {
        self.metrics.is_empty() && self.curves.is_empty()
    }
}

/// The direction a metric's name gives it, for the metrics `dlp` writes
/// (losses and errors down; accuracy, precision, recall, f1 and top-k up);
/// `None` for other names.
fn known_direction(metric: &str) -> Option<Mode> {
    if metric.ends_with("loss") || metric.ends_with("error") {
        return Some(Mode::Min);
    }
    let bare = metric
        .strip_prefix("val_")
        .or_else(|| metric.strip_prefix("test_"))
        .unwrap_or(metric);
    ["accuracy", "precision", "recall", "f1", "top_k"]
        .iter()
        .any(|m| bare.starts_with(m))
        .then_some(Mode::Max)
}

/// Parses `--tol` arguments (`test_accuracy=-0.01`, `val_loss=5%`,
/// `curve.val_loss=0.001`) and `--alpha`. Errors are usage errors (exit 2).
pub(crate) fn parse_gate(args: &[String], alpha: f64) -> Result<Gate> {
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(Error::Usage(format!(
            "--alpha {alpha}: the significance level must lie between 0 and 1 (e.g. 0.05)"
        )));
    }
    let mut gate = Gate {
        alpha,
        ..Gate::default()
    };
    for a in args {
        let usage = |why: &str| {
            Error::Usage(format!(
                "--tol `{a}`: {why} (expected METRIC=ABS or METRIC=REL%, signed to name the bad direction, \
                 e.g. `test_accuracy=-0.01`, `val_loss=+5%`, or curve.COLUMN=ABS)"
            ))
        };
        let (metric, value) = a.split_once('=').ok_or_else(|| usage("no `=`"))?;
        let metric = metric.trim();
        let (curve, name) = match metric.strip_prefix(CURVE_PREFIX) {
            Some(c) => (true, c),
            None => (false, metric),
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(usage("the metric name must be letters, digits and `_`"));
        }
        let value = value.trim();
        let (sign, unsigned) = match value.as_bytes().first() {
            Some(b'-') => (Some(Mode::Max), value[1..].trim()),
            Some(b'+') => (Some(Mode::Min), value[1..].trim()),
            _ => (None, value),
        };
        let (digits, rel) = match unsigned.strip_suffix('%') {
            Some(d) => (d.trim(), true),
            None => (unsigned, false),
        };
        let x: f64 = digits
            .parse()
            .map_err(|_| usage(&format!("`{value}` is not a number")))?;
        if !x.is_finite() || x < 0.0 {
            return Err(usage(
                "the tolerance must be a finite amount with at most one sign",
            ));
        }
        if curve {
            if sign.is_some() || rel {
                return Err(usage(
                    "a curve's tolerance is the largest deviation at any epoch, in either direction: an unsigned absolute number",
                ));
            }
            if gate.curves.insert(name.to_string(), x).is_some() {
                return Err(usage(&format!("`{metric}` has a tolerance already")));
            }
            continue;
        }
        if let (Some(s), Some(known)) = (sign, known_direction(name))
            && s != known
        {
            let (better, bad, good_sign) = match known {
                Mode::Max => ("higher", "a drop", "-"),
                Mode::Min => ("lower", "a rise", "+"),
            };
            return Err(usage(&format!(
                "{name} is better {better}, so only {bad} can regress it: write `{name}={good_sign}{unsigned}` or leave the sign out"
            )));
        }
        let amount = if rel {
            Amount::Rel(x / 100.0)
        } else {
            Amount::Abs(x)
        };
        if gate
            .metrics
            .insert(name.to_string(), Tol { amount, sign })
            .is_some()
        {
            return Err(usage(&format!("`{name}` has a tolerance already")));
        }
    }
    Ok(gate)
}

/// What happened to one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Outcome {
    Same,
    Better,
    /// Worse, within the tolerance.
    Worse,
    /// Seeds: the mean is worse beyond the tolerance, but Welch's test
    /// cannot tell it from seed noise (p ≥ α).
    NotSignificant,
    /// Worse beyond the tolerance (and significant, between seeds), or NaN.
    Regressed,
    /// Exact mode, seeds: equal means, different values seed by seed.
    Differs,
    /// Only the new side has it.
    Added,
    /// Only the old side has it.
    Missing,
}

/// Judges one value against its old value. Rounding slack: a move the bad
/// way counts only beyond `allowance + 1e-12·max(1, |old|, |new|)`, so
/// `0.82 → 0.81` with tolerance 0.01 is within it even though
/// `0.82 - 0.81` is 0.010000000000000009 in floating point.
pub(crate) fn judge(old: Option<f64>, new: Option<f64>, mode: Mode, allowance: f64) -> Outcome {
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
                } else if worse_by.is_nan() || worse_by > allowance + slack {
                    Outcome::Regressed
                } else {
                    Outcome::Worse
                }
            }
        }
    }
}

/// A multi-seed metric's figures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct SeedStats {
    pub old: Summary,
    pub new: Summary,
    /// Welch's two-sided p-value; `None` with fewer than two seeds on a
    /// side or a NaN.
    pub p: Option<f64>,
}

/// One metric compared.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    pub metric: String,
    /// The better direction.
    pub mode: Mode,
    /// The value (a multi-seed side: the mean).
    pub old: Option<f64>,
    pub new: Option<f64>,
    pub seeds: Option<SeedStats>,
    /// `None`: not gated (information only, in a gate).
    pub tol: Option<Tol>,
    pub outcome: Outcome,
    /// Whether this row fails the comparison.
    pub fails: bool,
}

/// One `train.csv` column compared epoch by epoch.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CurveRow {
    pub column: String,
    /// Epochs with a value, each side (0: the side lacks the column).
    pub epochs_old: usize,
    pub epochs_new: usize,
    /// max |new − old| over the epochs both have (infinite where one is
    /// NaN and the other is not; 0 with no common epoch).
    pub max_dev: f64,
    /// The (first) epoch of that deviation.
    pub at_epoch: Option<usize>,
    /// Identical: same epochs, same values.
    pub same: bool,
    pub tol: Option<f64>,
    pub fails: bool,
}

/// Both sides compared.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Comparison {
    pub exact: bool,
    pub alpha: f64,
    /// Seeds per side, for multi-seed sides.
    pub seeds: Option<(usize, usize)>,
    /// Failing rows first, then gated ones, then information; by name
    /// within each.
    pub rows: Vec<Row>,
    pub curves: Vec<CurveRow>,
}

/// Compares two sides under `gate`. A tolerance for a metric or curve
/// neither side has is a usage error (most likely a typo), as are a
/// multi-seed side against a single run.
pub(crate) fn compare(old: &Loaded, new: &Loaded, gate: &Gate) -> Result<Comparison> {
    let exact = gate.is_exact();
    let names: BTreeSet<&String> = old
        .values
        .keys()
        .chain(new.values.keys())
        .filter(|n| n.as_str() != "epoch" && n.as_str() != "lr")
        .collect();
    if let Some(name) = gate.metrics.keys().find(|k| !names.contains(k)) {
        let all: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
        return Err(Error::Usage(format!(
            "--tol names `{name}`, which neither side has (metrics: {})",
            all.join(", ")
        )));
    }
    let seeds = match (&old.seeds, &new.seeds) {
        (Some(a), Some(b)) => Some((a, b)),
        (None, None) => None,
        (a, _) => {
            let (multi, single) = if a.is_some() {
                ("old", "new")
            } else {
                ("new", "old")
            };
            return Err(Error::Usage(format!(
                "the {multi} side has several seeds (seeds.csv) and the {single} side is a single run: \
                 compare a multi-seed run with another (or a baseline made from one), or single runs with single runs"
            )));
        }
    };
    let mut rows: Vec<Row> = names
        .into_iter()
        .map(|name| {
            let tol = gate.metrics.get(name).copied();
            let mode = tol
                .and_then(|t| t.sign)
                .unwrap_or_else(|| Mode::for_metric(name));
            let (o, n) = (old.values.get(name).copied(), new.values.get(name).copied());
            let allowance = match (tol, o) {
                (Some(t), Some(o)) => t.allowance(o),
                _ => 0.0,
            };
            let mut outcome = judge(o, n, mode, allowance);
            let stats = seeds.and_then(|(a, b)| {
                let (x, y) = (a.values.get(name)?, b.values.get(name)?);
                Some((x, y))
            });
            let seed_stats = stats.map(|(x, y)| SeedStats {
                old: Summary::of(x),
                new: Summary::of(y),
                p: welch(x, y).map(|w| w.p),
            });
            if exact {
                // Seed by seed: equal means are not enough.
                if let Some((x, y)) = stats
                    && outcome == Outcome::Same
                    && !same_values(x, y)
                {
                    outcome = Outcome::Differs;
                }
            } else if outcome == Outcome::Regressed
                && let Some(SeedStats { p: Some(p), .. }) = seed_stats
                && n.is_some_and(|v| !v.is_nan())
                && p >= gate.alpha
            {
                outcome = Outcome::NotSignificant;
            }
            let fails = if exact {
                outcome != Outcome::Same
            } else {
                tol.is_some()
                    && matches!(
                        outcome,
                        Outcome::Regressed | Outcome::Missing | Outcome::Added
                    )
            };
            Row {
                metric: name.clone(),
                mode,
                old: o,
                new: n,
                seeds: seed_stats,
                tol: if exact { Some(Tol::ZERO) } else { tol },
                outcome,
                fails,
            }
        })
        .collect();
    rows.sort_by_key(|r| (!r.fails, r.tol.is_none(), r.metric.clone()));
    let curves = compare_curves(old.curves.as_ref(), new.curves.as_ref(), gate)?;
    Ok(Comparison {
        exact,
        alpha: gate.alpha,
        seeds: seeds.map(|(a, b)| (a.runs.len(), b.runs.len())),
        rows,
        curves,
    })
}

/// Equal element by element, NaN equal to NaN.
fn same_values(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x == y || (x.is_nan() && y.is_nan()))
}

/// Every column of either `train.csv` (`lr` included), epoch by epoch.
fn compare_curves(
    old: Option<&History>,
    new: Option<&History>,
    gate: &Gate,
) -> Result<Vec<CurveRow>> {
    let (Some(old), Some(new)) = (old, new) else {
        if let Some(name) = gate.curves.keys().next() {
            return Err(Error::Usage(format!(
                "--tol names `{CURVE_PREFIX}{name}`, but only a side with a train.csv has curves"
            )));
        }
        return Ok(Vec::new());
    };
    let series = |h: &History, c: &str| -> BTreeMap<usize, f64> {
        if c == "lr" {
            h.rows.iter().map(|r| (r.epoch, r.lr)).collect()
        } else {
            h.series(c).into_iter().collect()
        }
    };
    let mut columns: Vec<&str> = vec!["lr"];
    for c in old.columns.iter().chain(&new.columns) {
        if !columns.contains(&c.as_str()) {
            columns.push(c);
        }
    }
    if let Some(name) = gate.curves.keys().find(|k| !columns.contains(&k.as_str())) {
        return Err(Error::Usage(format!(
            "--tol names `{CURVE_PREFIX}{name}`, which neither train.csv has (columns: {})",
            columns.join(", ")
        )));
    }
    let exact = gate.is_exact();
    Ok(columns
        .into_iter()
        .map(|c| {
            let has = |h: &History| c == "lr" || h.columns.iter().any(|x| x == c);
            let (a, b) = (series(old, c), series(new, c));
            let (a, b) = (
                if has(old) { a } else { BTreeMap::new() },
                if has(new) { b } else { BTreeMap::new() },
            );
            let mut max_dev = 0.0f64;
            let mut at_epoch = None;
            for (epoch, x) in &a {
                let Some(y) = b.get(epoch) else { continue };
                let dev = if x.is_nan() && y.is_nan() {
                    0.0
                } else if x.is_nan() || y.is_nan() {
                    f64::INFINITY
                } else {
                    (y - x).abs()
                };
                if dev > max_dev || (at_epoch.is_none() && dev.is_nan()) {
                    max_dev = dev;
                    at_epoch = Some(*epoch);
                }
            }
            let same = has(old)
                && has(new)
                && a.len() == b.len()
                && a.iter().all(|(e, x)| {
                    b.get(e)
                        .is_some_and(|y| x == y || (x.is_nan() && y.is_nan()))
                });
            let tol = gate.curves.get(c).copied();
            let fails = if exact {
                !same
            } else {
                tol.is_some_and(|t| {
                    !has(new) || max_dev.is_nan() || max_dev > t + 1e-12 * t.max(1.0)
                })
            };
            CurveRow {
                column: c.to_string(),
                epochs_old: a.len(),
                epochs_new: b.len(),
                max_dev,
                at_epoch,
                same,
                tol: if exact { Some(0.0) } else { tol },
                fails,
            }
        })
        .collect())
}

impl Comparison {
    /// The names of what fails: metrics, then `curve.COLUMN`s.
    pub(crate) fn failures(&self) -> Vec<String> {
        self.rows
            .iter()
            .filter(|r| r.fails)
            .map(|r| r.metric.clone())
            .chain(
                self.curves
                    .iter()
                    .filter(|c| c.fails)
                    .map(|c| format!("{CURVE_PREFIX}{}", c.column)),
            )
            .collect()
    }

    /// 1 when anything fails, else 0.
    pub(crate) fn exit_code(&self) -> i32 {
        i32::from(!self.failures().is_empty())
    }
}

#[cfg(test)]
mod tests;
