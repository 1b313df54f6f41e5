//! `source csv "file.csv" label=COLUMN`: a header row, numeric feature
//! columns, one label column. String labels become classes in sorted
//! order; numeric labels are sorted numerically.

use super::table::{Loaded, Table, Values};
use crate::error::{Error, Result};
use crate::plan::Shape;
use std::path::{Path, PathBuf};

fn reader(path: &Path) -> Result<csv::Reader<std::fs::File>> {
    csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_path(path)
        .map_err(|e| Error::file(path, e.to_string()))
}

/// The header's column names and the label column's position.
pub fn header(path: &Path, label: &str) -> Result<(Vec<String>, usize)> {
    let mut r = reader(path)?;
    let names: Vec<String> = r
        .headers()
        .map_err(|e| Error::file(path, e.to_string()))?
        .iter()
        .map(|s| s.trim().to_string())
        .collect();
    let at = names.iter().position(|n| n == label).ok_or_else(|| {
        Error::file(
            path,
            format!(
                "no column named \"{label}\" (columns: {})",
                names.join(", ")
            ),
        )
    })?;
    Ok((names, at))
}

fn name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Loads the whole file.
pub fn load(path: &Path, label: &str) -> Result<Loaded> {
    let (names, at) = header(path, label)?;
    let file = name(path);
    let features = names.len() - 1;
    let mut r = reader(path)?;
    let mut values = Vec::new();
    let mut raw_labels = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            Error::file(path, format!("line {line}: {e}"))
        })?;
        let line = rec.position().map_or(0, |p| p.line());
        let at_line = PathBuf::from(format!("{}:{line}", path.display()));
        let bad = |msg: String| Error::file(at_line.clone(), msg);
        if rec.len() != names.len() {
            return Err(bad(format!(
                "{} fields, the header has {}",
                rec.len(),
                names.len()
            )));
        }
        for (i, field) in rec.iter().enumerate() {
            let field = field.trim();
            if i == at {
                raw_labels.push(field.to_string());
            } else {
                let v: f32 = field.parse().map_err(|_| {
                    bad(format!(
                        "column \"{}\": \"{field}\" is not a number",
                        names[i]
                    ))
                })?;
                if !v.is_finite() {
                    return Err(bad(format!(
                        "column \"{}\": \"{field}\" is not finite",
                        names[i]
                    )));
                }
                values.push(v);
            }
        }
    }
    if raw_labels.is_empty() {
        return Err(Error::file(path, "no data rows after the header"));
    }
    let (classes, labels) = classes(&raw_labels);
    Ok(Loaded {
        name: file,
        classes,
        shape: Shape::Flat(features),
        train: Table {
            values: Values::F32(values),
            numel: features,
            labels,
        },
        test: None,
    })
}

/// Class names in order (numeric when every label is a number, else
/// lexicographic) and each row's class id.
pub fn classes(raw: &[String]) -> (Vec<String>, Vec<u32>) {
    let numeric: Option<Vec<f64>> = raw.iter().map(|s| s.parse::<f64>().ok()).collect();
    let mut names: Vec<String> = raw.to_vec();
    match &numeric {
        Some(_) => {
            names.sort_by(|a, b| {
                let (x, y) = (
                    a.parse::<f64>().unwrap_or(0.0),
                    b.parse::<f64>().unwrap_or(0.0),
                );
                x.total_cmp(&y).then_with(|| a.cmp(b))
            });
            names.dedup_by(|a, b| a.parse::<f64>().ok() == b.parse::<f64>().ok());
        }
        None => {
            names.sort();
            names.dedup();
        }
    }
    let ids = raw
        .iter()
        .map(|s| {
            let pos = match &numeric {
                Some(_) => {
                    let v = s.parse::<f64>().ok();
                    names.iter().position(|n| n.parse::<f64>().ok() == v)
                }
                None => names.binary_search(s).ok(),
            };
            pos.unwrap_or(0) as u32
        })
        .collect();
    (names, ids)
}
