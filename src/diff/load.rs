//! Reading one side of `dlp diff`: a run folder, a multi-seed folder, a
//! baseline folder, or a CSV file (the rule is in the parent module's
//! documentation).

use crate::error::{Error, Result};
use crate::records::atomic::parse_num;
use crate::records::history::{self, History};
use crate::records::manifest;
use std::collections::BTreeMap;
use std::path::Path;

/// `seeds.csv`: one row per seed of a multi-seed run.
pub(crate) const SEEDS_FILE: &str = "seeds.csv";
/// `metrics.csv`: a baseline's final metrics (`metric,value`).
pub(crate) const METRICS_FILE: &str = "metrics.csv";
/// `eval.csv`: the test split's classification report.
pub(crate) use crate::records::eval_csv::EVAL_FILE;

/// The metrics of one side.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Loaded {
    /// One value per metric; for a multi-seed side, the mean over seeds.
    pub values: BTreeMap<String, f64>,
    /// A multi-seed side's values seed by seed.
    pub seeds: Option<SeedTable>,
    /// The per-epoch history (`train.csv`), when the side has one.
    pub curves: Option<History>,
}

/// The rows of a `seeds.csv`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeedTable {
    /// The seed folders (`seed-01`, …).
    pub runs: Vec<String>,
    /// The pipeline seed of each run.
    pub seeds: Vec<u64>,
    /// Each metric's values, in row order (an empty cell reads as NaN).
    pub values: BTreeMap<String, Vec<f64>>,
}

/// Reads a side (see the module documentation of [`super`]).
pub fn load(path: &Path) -> Result<Loaded> {
    if path.is_dir() {
        load_folder(path)
    } else if path.is_file() {
        load_file(path)
    } else {
        Err(Error::file(path, "no such run folder or CSV file"))
    }
}

fn load_folder(dir: &Path) -> Result<Loaded> {
    let seeds = dir.join(SEEDS_FILE);
    if seeds.is_file() {
        return match read_csv(&seeds)?.seeds {
            Some(t) => seed_side(t),
            None => Err(Error::file(
                &seeds,
                "line 1: expected a header starting with `run,seed`",
            )),
        };
    }
    let yaml = dir.join(manifest::FILE);
    let metrics = dir.join(METRICS_FILE);
    let eval = dir.join(EVAL_FILE);
    let train = dir.join(history::FILE);
    if ![&yaml, &metrics, &eval, &train].iter().any(|p| p.is_file()) {
        return Err(Error::file(
            dir,
            "not a run folder: it has no run.yaml, seeds.csv, metrics.csv, eval.csv or train.csv",
        ));
    }
    // A baseline folder's marker names its format.
    let marker = dir.join("baseline.yaml");
    if marker.is_file() {
        let text = std::fs::read_to_string(&marker).map_err(|e| Error::io(&marker, e))?;
        crate::file_format::check_yaml(&marker, &text)?;
    }
    let mut out = Loaded::default();
    if yaml.is_file() {
        out.values = read_final_metrics(&yaml)?;
    }
    for csv in [&metrics, &eval] {
        if csv.is_file() {
            let found = read_csv(csv)?;
            merge(&mut out.values, found.values);
        }
    }
    if train.is_file() {
        let h = History::read_csv(&train)?;
        if let Some(last) = h.last() {
            merge(&mut out.values, last.values.clone());
        }
        out.curves = Some(h);
    }
    Ok(out)
}

fn load_file(path: &Path) -> Result<Loaded> {
    let found = read_csv(path)?;
    match found.seeds {
        Some(t) => seed_side(t),
        None => Ok(found),
    }
}

/// A multi-seed side: the table, and each metric's mean as its value.
fn seed_side(table: SeedTable) -> Result<Loaded> {
    let values = table
        .values
        .iter()
        .map(|(k, v)| (k.clone(), crate::metrics::stats::Summary::of(v).mean))
        .collect();
    Ok(Loaded {
        values,
        seeds: Some(table),
        curves: None,
    })
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
    let doc: serde_yaml_ng::Value = crate::records::atomic::read_yaml(path)?;
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

/// The header of the classification report `eval.csv`.
const REPORT_HEADER: [&str; 5] = ["class", "precision", "recall", "f1", "support"];

/// Reads a CSV of metrics by its layout: a `seeds.csv` (`run,seed,…`), a
/// `train.csv` (`epoch,lr,…`: its last row, and the curves), the report
/// layout of `eval.csv`, `metric,value` rows, or one row with a column per
/// metric.
pub(crate) fn read_csv(path: &Path) -> Result<Loaded> {
    let text = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let mut reader = csv::Reader::from_reader(text.as_slice());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| Error::file(path, format!("cannot read the header: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    if header.len() >= 2 && header[0] == "epoch" && header[1] == "lr" {
        let h = History::parse_csv(path, &text)?;
        return Ok(Loaded {
            values: h.last().map(|r| r.values.clone()).unwrap_or_default(),
            seeds: None,
            curves: Some(h),
        });
    }
    let records: Vec<(usize, csv::StringRecord)> = reader
        .records()
        .enumerate()
        .map(|(i, r)| {
            r.map(|r| (r.position().map_or(i + 2, |p| p.line() as usize), r))
                .map_err(|e| Error::file(path, e.to_string()))
        })
        .collect::<Result<_>>()?;
    let number = |s: &str, line: usize, what: &str| {
        parse_num(s)
            .ok_or_else(|| Error::file(path, format!("line {line}: {what}: `{s}` is not a number")))
    };
    let mut values = BTreeMap::new();
    if header.len() >= 2 && header[0] == "run" && header[1] == "seed" {
        return Ok(Loaded {
            seeds: Some(seed_table(path, &header, &records)?),
            ..Loaded::default()
        });
    }
    if header == REPORT_HEADER {
        return Ok(Loaded {
            values: report_metrics(path, &records)?,
            ..Loaded::default()
        });
    }
    if header == ["metric", "value"] {
        for (line, r) in &records {
            values.insert(r[0].trim().to_string(), number(&r[1], *line, r[0].trim())?);
        }
        return Ok(Loaded {
            values,
            ..Loaded::default()
        });
    }
    if records.len() == 1 && header.iter().all(|h| !h.is_empty()) {
        let (line, r) = &records[0];
        for (h, cell) in header.iter().zip(r.iter()) {
            values.insert(h.clone(), number(cell, *line, h)?);
        }
        return Ok(Loaded {
            values,
            ..Loaded::default()
        });
    }
    Err(Error::file(
        path,
        "unknown CSV layout: expected a seeds.csv (`run,seed,…`), a train.csv (`epoch,lr,…`), \
         an eval.csv (`class,precision,recall,f1,support`), `metric,value` rows, or one row with a column per metric",
    ))
}

/// `seeds.csv`: `run,seed`, then one column per metric.
fn seed_table(
    path: &Path,
    header: &[String],
    records: &[(usize, csv::StringRecord)],
) -> Result<SeedTable> {
    let mut t = SeedTable::default();
    let metrics = &header[2..];
    if let Some(h) = metrics.iter().find(|h| h.is_empty()) {
        return Err(Error::file(
            path,
            format!("line 1: empty column name `{h}`"),
        ));
    }
    for m in metrics {
        t.values
            .insert(m.clone(), Vec::with_capacity(records.len()));
    }
    for (line, r) in records {
        t.runs.push(r[0].trim().to_string());
        let seed = r[1].trim();
        t.seeds.push(seed.parse().map_err(|_| {
            Error::file(
                path,
                format!("line {line}: seed `{seed}` is not a whole number"),
            )
        })?);
        for (m, cell) in metrics.iter().zip(r.iter().skip(2)) {
            let x = if cell.trim().is_empty() {
                f64::NAN
            } else {
                parse_num(cell).ok_or_else(|| {
                    Error::file(path, format!("line {line}: {m}: `{cell}` is not a number"))
                })?
            };
            if let Some(v) = t.values.get_mut(m) {
                v.push(x);
            }
        }
    }
    if t.runs.is_empty() {
        return Err(Error::file(path, "no seeds: the file has a header only"));
    }
    Ok(t)
}

/// The classification report as the run names its figures: a class row
/// `k` (0-based) gives `test_precision_k`, `test_recall_k`, `test_f1_k`;
/// `macro_avg` gives `test_precision`, `test_recall`, `test_f1`;
/// `weighted_avg` the `_weighted` figures; `accuracy` `test_accuracy`.
/// Supports are counts, not metrics (`data.csv` has them).
fn report_metrics(
    path: &Path,
    records: &[(usize, csv::StringRecord)],
) -> Result<BTreeMap<String, f64>> {
    let mut out = BTreeMap::new();
    let mut class = 0;
    for (line, r) in records {
        let cell = |i: usize| -> Result<f64> {
            let s = r.get(i).unwrap_or("");
            parse_num(s).ok_or_else(|| {
                Error::file(
                    path,
                    format!(
                        "line {line}: {} of `{}`: `{s}` is not a number",
                        REPORT_HEADER[i], &r[0]
                    ),
                )
            })
        };
        match r[0].trim() {
            "accuracy" => {
                out.insert("test_accuracy".to_string(), cell(1)?);
            }
            row @ ("macro_avg" | "weighted_avg") => {
                let suffix = if row == "macro_avg" { "" } else { "_weighted" };
                for (i, name) in ["precision", "recall", "f1"].iter().enumerate() {
                    out.insert(format!("test_{name}{suffix}"), cell(i + 1)?);
                }
            }
            _ => {
                for (i, name) in ["precision", "recall", "f1"].iter().enumerate() {
                    out.insert(format!("test_{name}_{class}"), cell(i + 1)?);
                }
                class += 1;
            }
        }
    }
    Ok(out)
}
