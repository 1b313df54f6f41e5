//! `data.csv`: how many samples of each class every split holds, so a
//! person can check the split sizes and class balance of a run at a glance
//! (the chapter's point that train, validation and test must come from the
//! same distribution).

use super::atomic;
use super::csv_table::{count, records};
use crate::error::{Error, Result};
use std::path::Path;

/// The file's name in a run folder.
pub(crate) const FILE: &str = "data.csv";

/// One row of `data.csv`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DataRow {
    pub split: String,
    pub class: String,
    pub count: u64,
}

/// Writes `data.csv` with the columns `split,class,count`: one row per
/// split and class, splits in the order given, classes in `classes` order.
/// `parts` pairs a split name (`train`, `valid`, `test`) with its count per
/// class, indexed like `classes`.
pub fn write_data_csv(path: &Path, classes: &[String], parts: &[(&str, Vec<usize>)]) -> Result<()> {
    let header = ["split", "class", "count"].map(String::from).to_vec();
    let mut rows = Vec::new();
    for (split, counts) in parts {
        if counts.len() != classes.len() {
            return Err(Error::Runtime(format!(
                "{}: split `{split}` has counts for {} classes, expected {}",
                path.display(),
                counts.len(),
                classes.len()
            )));
        }
        for (class, count) in classes.iter().zip(counts) {
            rows.push(vec![split.to_string(), class.clone(), count.to_string()]);
        }
    }
    atomic::write_csv(path, &header, &rows)
}

/// `data.csv`: `split,class,count`.
pub(crate) fn read_data(path: &Path) -> Result<Vec<DataRow>> {
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

    #[test]
    fn rows_per_split_and_class() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("data.csv");
        let classes = ["cat".to_string(), "dog".to_string()];
        write_data_csv(&p, &classes, &[("train", vec![3, 5]), ("test", vec![1, 0])]).unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "split,class,count\ntrain,cat,3\ntrain,dog,5\ntest,cat,1\ntest,dog,0\n"
        );
        let err = write_data_csv(&p, &classes, &[("valid", vec![1])]).unwrap_err();
        assert!(
            err.to_string()
                .contains("split `valid` has counts for 1 classes, expected 2")
        );
    }
}
