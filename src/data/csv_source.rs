//! `source csv "file.csv" label=COLUMN`: a header row, numeric feature
//! columns, one label column. Each distinct label text is a class (see
//! [`classes`]); an empty label is an error naming its line.

use super::table::{Loaded, Names, Table, Values};
use crate::error::{Error, Result};
use crate::plan::Shape;
use std::path::{Path, PathBuf};

fn reader(path: &Path) -> Result<csv::Reader<super::line_ends::Lf<std::fs::File>>> {
    let file = super::line_ends::open(path).map_err(|e| Error::file(path, e.to_string()))?;
    Ok(csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(file))
}

/// The header's column names and the label column's position.
pub(crate) fn header(path: &Path, label: &str) -> Result<(Vec<String>, usize)> {
    let mut r = reader(path)?;
    let names: Vec<String> = r
        .headers()
        .map_err(|e| Error::file(path, e.to_string()))?
        .iter()
        .map(|s| s.trim().to_string())
        .collect();
    if let Some(e) = duplicate_column(&names) {
        return Err(Error::file(path, e));
    }
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

/// The first column whose name an earlier column has, as the error that
/// names both (1-based, as a spreadsheet counts): a model would read the
/// wrong column under that name.
pub(crate) fn duplicate_column(names: &[String]) -> Option<String> {
    names.iter().enumerate().find_map(|(j, n)| {
        let i = names[..j].iter().position(|m| m == n)?;
        Some(format!(
            "columns {} and {} are both named \"{n}\"; column names must differ",
            i + 1,
            j + 1
        ))
    })
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
                if field.is_empty() {
                    return Err(bad(format!(
                        "column \"{}\": the label is empty (every row needs one)",
                        names[i]
                    )));
                }
                raw_labels.push(field.to_string());
            } else {
                values.push(feature(field, &names[i]).map_err(bad)?);
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
            names: Names::Unnamed,
        },
        test: None,
    })
}

/// One feature cell (trimmed) as the model reads it: a finite number.
/// The error says which column and why (`dlp predict` reads new files
/// with the same rule).
pub(crate) fn feature(field: &str, column: &str) -> std::result::Result<f32, String> {
    let v: f32 = field
        .parse()
        .map_err(|_| format!("column \"{column}\": \"{field}\" is not a number"))?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(format!("column \"{column}\": \"{field}\" is not finite"))
    }
}

/// Class names in order and each row's class id. Labels are categories:
/// two rows share a class exactly when their labels are the same text
/// (`1` and `1.0` are two classes; `nan` is one class, never one per row).
/// Classes are ordered numerically when every label is a finite number
/// (`2` before `10`, equal values by text), else by text (byte order).
pub(crate) fn classes(raw: &[String]) -> (Vec<String>, Vec<u32>) {
    let value = |s: &str| s.parse::<f64>().ok().filter(|v| v.is_finite());
    let numeric = raw.iter().all(|s| value(s).is_some());
    let mut order: Vec<usize> = (0..raw.len()).collect();
    order.sort_by(|&i, &j| {
        let (a, b) = (raw[i].as_str(), raw[j].as_str());
        let by_value = match (numeric, value(a), value(b)) {
            (true, Some(x), Some(y)) => x.total_cmp(&y),
            _ => std::cmp::Ordering::Equal,
        };
        by_value.then_with(|| a.cmp(b))
    });
    let mut names: Vec<String> = Vec::new();
    let mut ids = vec![0u32; raw.len()];
    for i in order {
        if names.last() != Some(&raw[i]) {
            names.push(raw[i].clone());
        }
        ids[i] = (names.len() - 1) as u32;
    }
    (names, ids)
}
