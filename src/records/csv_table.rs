//! Reading back the CSV files a run wrote: each record with its line, as
//! many fields as the header, numbers and counts checked, and every
//! mistake named with the file and the line.

use super::atomic::parse_num;
use crate::error::{Error, Result};
use std::path::Path;

/// A file's bytes, or `None` when it does not exist.
pub(crate) fn optional(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

pub(crate) fn optional_text(path: &Path) -> Result<Option<String>> {
    optional(path)?
        .map(|b| {
            String::from_utf8(b).map_err(|e| Error::file(path, format!("not UTF-8 text: {e}")))
        })
        .transpose()
}

/// A CSV file's header (checked by `check_head` before any record is read)
/// and records, each with its line and as many fields as the header;
/// `None` when the file does not exist.
pub(crate) type Table = (csv::StringRecord, Vec<(u64, csv::StringRecord)>);

pub(crate) fn table(
    path: &Path,
    check_head: impl FnOnce(&csv::StringRecord) -> Result<()>,
) -> Result<Option<Table>> {
    let Some(bytes) = optional(path)? else {
        return Ok(None);
    };
    let mut r = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(bytes.as_slice());
    let head = r
        .headers()
        .map_err(|e| Error::file(path, format!("line 1: {e}")))?
        .clone();
    check_head(&head)?;
    let mut rows = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| Error::file(path, e.to_string()))?;
        let line = rec.position().map_or(0, |p| p.line());
        if rec.len() != head.len() {
            return Err(Error::file(
                path,
                format!(
                    "line {line}: {} fields, the header has {}",
                    rec.len(),
                    head.len()
                ),
            ));
        }
        rows.push((line, rec));
    }
    Ok(Some((head, rows)))
}

/// The records of a CSV file with the expected header, each with its line.
pub(crate) fn records(
    path: &Path,
    header: &[&str],
) -> Result<Option<Vec<(u64, csv::StringRecord)>>> {
    let rows = table(path, |head| {
        if head.iter().eq(header.iter().copied()) {
            return Ok(());
        }
        Err(Error::file(
            path,
            format!(
                "line 1: expected the header `{}`, found `{}`",
                header.join(","),
                head.iter().collect::<Vec<_>>().join(",")
            ),
        ))
    })?;
    Ok(rows.map(|(_, rows)| rows))
}

pub(crate) fn number(path: &Path, line: u64, column: &str, cell: &str) -> Result<f64> {
    parse_num(cell).ok_or_else(|| {
        Error::file(
            path,
            format!("line {line}: column `{column}`: `{cell}` is not a number"),
        )
    })
}

pub(crate) fn count(path: &Path, line: u64, column: &str, cell: &str) -> Result<u64> {
    cell.trim().parse().map_err(|_| {
        Error::file(
            path,
            format!("line {line}: column `{column}`: `{cell}` is not a count"),
        )
    })
}
