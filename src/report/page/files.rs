//! A run folder read back for its report: `run.yaml`, `train.csv`,
//! `eval.csv`, `confusion.csv`, `data.csv`, `diagnosis.txt`,
//! `pipeline.dlp` and the misclassified strip. Only `run.yaml` is
//! required (a failed or interrupted run has fewer files, and its page
//! says what is missing); a file that is present but malformed is an
//! error naming the file and the line.

use crate::error::{Error, Result};
use crate::report::atomic::parse_num;
use crate::report::history::{self, History};
use crate::report::manifest::{self, Manifest};
use crate::report::misclassified::{self, Misclassified};
use std::path::{Path, PathBuf};

/// One row of `eval.csv` (a class, `macro_avg`, `weighted_avg` or `accuracy`).
#[derive(Debug, Clone, PartialEq)]
pub struct EvalRow {
    pub class: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: f64,
}

/// `confusion.csv`: class names and counts (rows true, columns predicted).
#[derive(Debug, Clone, PartialEq)]
pub struct ConfusionTable {
    pub classes: Vec<String>,
    pub counts: Vec<Vec<u64>>,
}

/// One row of `data.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct DataRow {
    pub split: String,
    pub class: String,
    pub count: u64,
}

/// Everything the pages show of one run.
#[derive(Debug, Clone)]
pub struct RunFiles {
    pub dir: PathBuf,
    pub manifest: Manifest,
    /// Empty when there is no `train.csv` yet.
    pub history: History,
    pub eval: Vec<EvalRow>,
    pub confusion: Option<ConfusionTable>,
    pub data: Vec<DataRow>,
    pub diagnosis: Option<String>,
    pub pipeline: Option<String>,
    pub misclassified: Option<Misclassified>,
}

impl RunFiles {
    /// Reads a run folder; `run.yaml` must be there.
    pub fn read(dir: &Path) -> Result<RunFiles> {
        if !dir.join(manifest::FILE).is_file() {
            return Err(Error::Usage(format!(
                "{}: not a run folder (no {})",
                dir.display(),
                manifest::FILE
            )));
        }
        let manifest = Manifest::read(dir)?;
        RunFiles::read_with(dir, manifest)
    }

    /// Reads the folder's files beside a manifest given in memory (the run
    /// writing its own page, before its final `run.yaml`).
    pub fn read_with(dir: &Path, manifest: Manifest) -> Result<RunFiles> {
        let path = dir.join(history::FILE);
        let history = match optional(&path)? {
            Some(bytes) => History::parse_csv(&path, &bytes)?,
            None => History::default(),
        };
        Ok(RunFiles {
            dir: dir.to_path_buf(),
            manifest,
            history,
            eval: read_eval(&dir.join("eval.csv"))?,
            confusion: read_confusion(&dir.join("confusion.csv"))?,
            data: read_data(&dir.join("data.csv"))?,
            diagnosis: optional_text(&dir.join("diagnosis.txt"))?,
            pipeline: optional_text(&dir.join("pipeline.dlp"))?,
            misclassified: misclassified::read(dir)?,
        })
    }
}

/// A file's bytes, or `None` when it does not exist.
fn optional(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

fn optional_text(path: &Path) -> Result<Option<String>> {
    optional(path)?
        .map(|b| {
            String::from_utf8(b).map_err(|e| Error::file(path, format!("not UTF-8 text: {e}")))
        })
        .transpose()
}

/// A CSV file's header (checked by `check_head` before any record is read)
/// and records, each with its line and as many fields as the header;
/// `None` when the file does not exist.
type Table = (csv::StringRecord, Vec<(u64, csv::StringRecord)>);

fn table(
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
fn records(path: &Path, header: &[&str]) -> Result<Option<Vec<(u64, csv::StringRecord)>>> {
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

fn number(path: &Path, line: u64, column: &str, cell: &str) -> Result<f64> {
    parse_num(cell).ok_or_else(|| {
        Error::file(
            path,
            format!("line {line}: column `{column}`: `{cell}` is not a number"),
        )
    })
}

fn count(path: &Path, line: u64, column: &str, cell: &str) -> Result<u64> {
    cell.trim().parse().map_err(|_| {
        Error::file(
            path,
            format!("line {line}: column `{column}`: `{cell}` is not a count"),
        )
    })
}

/// `eval.csv`: `class,precision,recall,f1,support`.
pub fn read_eval(path: &Path) -> Result<Vec<EvalRow>> {
    let head = ["class", "precision", "recall", "f1", "support"];
    let Some(rows) = records(path, &head)? else {
        return Ok(Vec::new());
    };
    rows.into_iter()
        .map(|(line, r)| {
            Ok(EvalRow {
                class: r[0].to_string(),
                precision: number(path, line, head[1], &r[1])?,
                recall: number(path, line, head[2], &r[2])?,
                f1: number(path, line, head[3], &r[3])?,
                support: number(path, line, head[4], &r[4])?,
            })
        })
        .collect()
}

/// `confusion.csv`: `true\predicted,<class>…`, then a row per true class.
pub fn read_confusion(path: &Path) -> Result<Option<ConfusionTable>> {
    let table = table(path, |head| {
        if head.get(0) == Some("true\\predicted") && head.len() >= 2 {
            return Ok(());
        }
        Err(Error::file(
            path,
            "line 1: expected the header `true\\predicted,<class>,…`",
        ))
    })?;
    let Some((head, rows)) = table else {
        return Ok(None);
    };
    let classes: Vec<String> = head.iter().skip(1).map(String::from).collect();
    let mut counts = Vec::new();
    for (line, rec) in rows {
        let want = classes.get(counts.len()).map(String::as_str);
        if Some(&rec[0]) != want {
            return Err(Error::file(
                path,
                format!(
                    "line {line}: row `{}` where the header's class order has `{}`",
                    &rec[0],
                    want.unwrap_or("no more rows")
                ),
            ));
        }
        let row = (1..rec.len())
            .map(|i| count(path, line, &classes[i - 1], &rec[i]))
            .collect::<Result<Vec<u64>>>()?;
        counts.push(row);
    }
    if counts.len() != classes.len() {
        return Err(Error::file(
            path,
            format!("{} rows for {} classes", counts.len(), classes.len()),
        ));
    }
    Ok(Some(ConfusionTable { classes, counts }))
}

/// `data.csv`: `split,class,count`.
pub fn read_data(path: &Path) -> Result<Vec<DataRow>> {
    let Some(rows) = records(path, &["split", "class", "count"])? else {
        return Ok(Vec::new());
    };
    rows.into_iter()
        .map(|(line, r)| {
            Ok(DataRow {
                split: r[0].to_string(),
                class: r[1].to_string(),
                count: count(path, line, "count", &r[2])?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn readers_take_what_the_writers_write() -> Result<()> {
        let t = tempfile::tempdir().unwrap();
        let e = file(
            t.path(),
            "eval.csv",
            "class,precision,recall,f1,support\n0,1,0.5,0.6666666666666666,2\naccuracy,0.5,0.5,0.5,2\n",
        );
        let rows = read_eval(&e)?;
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].f1, 0.6666666666666666);
        assert_eq!(rows[1].class, "accuracy");
        let c = file(t.path(), "c.csv", "true\\predicted,a,b\na,1,1\nb,0,2\n");
        let table = read_confusion(&c)?.unwrap();
        assert_eq!(table.classes, ["a", "b"]);
        assert_eq!(table.counts, vec![vec![1, 1], vec![0, 2]]);
        let d = file(
            t.path(),
            "d.csv",
            "split,class,count\ntrain,a,3\ntest,a,1\n",
        );
        assert_eq!(read_data(&d)?[1].count, 1);
        assert!(read_eval(&t.path().join("missing.csv"))?.is_empty());
        Ok(())
    }

    #[test]
    fn malformed_files_are_named_with_their_line() {
        let t = tempfile::tempdir().unwrap();
        let table: &[(&str, &str, String)] = &[
            (
                "e.csv",
                "class,precision,recall,f1,support\n0,1,x,1,2\n",
                "line 2: column `recall`: `x` is not a number".into(),
            ),
            (
                "e2.csv",
                "class,recall\n0,1\n",
                "line 1: expected the header `class,precision,recall,f1,support`, found `class,recall`".into(),
            ),
            (
                "c.csv",
                "true\\predicted,a,b\na,1,-1\nb,0,2\n",
                "line 2: column `b`: `-1` is not a count".into(),
            ),
            (
                "c2.csv",
                "true\\predicted,a,b\nb,1,1\n",
                "line 2: row `b` where the header's class order has `a`".into(),
            ),
            ("c3.csv", "true\\predicted,a,b\na,1,1\n", "1 rows for 2 classes".into()),
            (
                "d.csv",
                "split,class,count\ntrain,a\n",
                "line 2: 2 fields, the header has 3".into(),
            ),
        ];
        for (name, text, want) in table {
            let p = file(t.path(), name, text);
            let err = match name.chars().next() {
                Some('e') => read_eval(&p).map(|_| ()),
                Some('c') => read_confusion(&p).map(|_| ()),
                _ => read_data(&p).map(|_| ()),
            }
            .unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("{}: {want}", p.display()),
                "{name}"
            );
        }
    }
}
