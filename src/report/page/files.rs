//! A run folder read back for its report: `run.yaml`, `train.csv`,
//! `eval.csv`, `confusion.csv`, `data.csv`, `diagnosis.txt`,
//! `pipeline.dlp` and the misclassified strip. Only `run.yaml` is
//! required (a failed or interrupted run has fewer files, and its page
//! says what is missing); a file that is present but malformed is an
//! error naming the file and the line.

use crate::error::Result;
use crate::records::csv_table::{optional, optional_text};
pub(crate) use crate::records::data_csv::DataRow;
use crate::records::data_csv::{self, read_data};
use crate::records::eval_csv::{self, read_confusion, read_eval};
pub(crate) use crate::records::eval_csv::{ConfusionTable, EvalRow};
use crate::records::history::{self, History};
use crate::records::manifest::Manifest;
use crate::report::misclassified::{self, Misclassified};
use std::path::{Path, PathBuf};

/// Everything the pages show of one run.
#[derive(Debug, Clone)]
pub(crate) struct RunFiles {
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
    pub(crate) fn read(dir: &Path) -> Result<RunFiles> {
        let manifest = Manifest::read_run_folder(dir)?;
        RunFiles::read_with(dir, manifest)
    }

    /// Reads the folder's files beside a manifest given in memory (the run
    /// writing its own page, before its final `run.yaml`).
    pub(crate) fn read_with(dir: &Path, manifest: Manifest) -> Result<RunFiles> {
        let path = dir.join(history::FILE);
        let history = match optional(&path)? {
            Some(bytes) => History::parse_csv(&path, &bytes)?,
            None => History::default(),
        };
        Ok(RunFiles {
            dir: dir.to_path_buf(),
            manifest,
            history,
            eval: read_eval(&dir.join(eval_csv::EVAL_FILE))?,
            confusion: read_confusion(&dir.join(eval_csv::CONFUSION_FILE))?,
            data: read_data(&dir.join(data_csv::FILE))?,
            diagnosis: optional_text(&dir.join("diagnosis.txt"))?,
            pipeline: optional_text(&dir.join("pipeline.dlp"))?,
            misclassified: misclassified::read(dir)?,
        })
    }
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
