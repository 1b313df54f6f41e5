//! `eval.csv` and `confusion.csv`: the test split's classification report
//! (scikit-learn's `classification_report` layout) and confusion matrix.

use super::atomic::{csv_num, write_csv};
use super::csv_table::{count, number, records, table};
use crate::error::{Error, Result};
use crate::metrics::Confusion;
use std::path::Path;

/// The test metrics per class and averaged.
pub(crate) const EVAL_FILE: &str = "eval.csv";
/// The test confusion matrix.
pub(crate) const CONFUSION_FILE: &str = "confusion.csv";

/// One row of `eval.csv` (a class, `macro_avg`, `weighted_avg` or `accuracy`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EvalRow {
    pub class: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: f64,
}

/// `confusion.csv`: class names and counts (rows true, columns predicted).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ConfusionTable {
    pub classes: Vec<String>,
    pub counts: Vec<Vec<u64>>,
}

/// Writes `dir/eval.csv` and `dir/confusion.csv`.
///
/// `eval.csv`: `class,precision,recall,f1,support`, one row per class, then
/// `macro_avg`, `weighted_avg`, and `accuracy` (its value in every metric
/// column). `confusion.csv`: rows are true classes, columns predicted ones.
pub(crate) fn write_eval(dir: &Path, classes: &[String], c: &Confusion) -> Result<()> {
    let header: Vec<String> = ["class", "precision", "recall", "f1", "support"]
        .map(String::from)
        .to_vec();
    let mut rows: Vec<Vec<String>> = (0..c.classes())
        .map(|k| {
            vec![
                name(classes, k),
                csv_num(c.precision(k)),
                csv_num(c.recall(k)),
                csv_num(c.f1(k)),
                c.support(k).to_string(),
            ]
        })
        .collect();
    let total = c.total().to_string();
    rows.push(vec![
        "macro_avg".into(),
        csv_num(c.macro_precision()),
        csv_num(c.macro_recall()),
        csv_num(c.macro_f1()),
        total.clone(),
    ]);
    rows.push(vec![
        "weighted_avg".into(),
        csv_num(c.weighted_precision()),
        csv_num(c.weighted_recall()),
        csv_num(c.weighted_f1()),
        total.clone(),
    ]);
    let acc = csv_num(c.accuracy());
    rows.push(vec![
        "accuracy".into(),
        acc.clone(),
        acc.clone(),
        acc,
        total,
    ]);
    write_csv(&dir.join(EVAL_FILE), &header, &rows)?;

    let mut header = vec!["true\\predicted".to_string()];
    header.extend((0..c.classes()).map(|k| name(classes, k)));
    let rows: Vec<Vec<String>> = c
        .rows()
        .into_iter()
        .enumerate()
        .map(|(k, counts)| {
            let mut row = vec![name(classes, k)];
            row.extend(counts.iter().map(u64::to_string));
            row
        })
        .collect();
    write_csv(&dir.join(CONFUSION_FILE), &header, &rows)
}

fn name(classes: &[String], k: usize) -> String {
    classes.get(k).cloned().unwrap_or_else(|| k.to_string())
}

/// `eval.csv`: `class,precision,recall,f1,support`.
pub(crate) fn read_eval(path: &Path) -> Result<Vec<EvalRow>> {
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
pub(crate) fn read_confusion(path: &Path) -> Result<Option<ConfusionTable>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chapters_confusion_matrix() -> Result<()> {
        // 1,000 patients: TP 100, FN 30, FP 70, TN 800 (class 1 = sick).
        let mut c = Confusion::new(2);
        for (t, p, n) in [(1, 1, 100), (1, 0, 30), (0, 1, 70), (0, 0, 800)] {
            for _ in 0..n {
                c.add(t, p);
            }
        }
        let dir = tempfile::tempdir().map_err(|e| crate::error::Error::io("tmp", e))?;
        write_eval(dir.path(), &["healthy".into(), "sick".into()], &c)?;
        let eval = std::fs::read_to_string(dir.path().join("eval.csv"))
            .map_err(|e| crate::error::Error::io("eval.csv", e))?;
        let sick = eval
            .lines()
            .find(|l| l.starts_with("sick,"))
            .unwrap_or_default();
        let cells: Vec<f64> = sick
            .split(',')
            .skip(1)
            .map(|v| v.parse().unwrap_or(f64::NAN))
            .collect();
        assert!(
            (cells[0] - 100.0 / 170.0).abs() < 1e-12,
            "precision {}",
            cells[0]
        );
        assert!(
            (cells[1] - 100.0 / 130.0).abs() < 1e-12,
            "recall {}",
            cells[1]
        );
        assert!((cells[2] - 2.0 / 3.0).abs() < 1e-4, "f1 {}", cells[2]);
        assert_eq!(cells[3], 130.0);
        assert!(eval.contains("\naccuracy,0.9,0.9,0.9,1000\n"), "{eval}");
        let confusion = std::fs::read_to_string(dir.path().join("confusion.csv"))
            .map_err(|e| crate::error::Error::io("confusion.csv", e))?;
        assert_eq!(
            confusion,
            "true\\predicted,healthy,sick\nhealthy,800,70\nsick,30,100\n"
        );
        Ok(())
    }
}
