//! `eval.csv` and `confusion.csv`: the test split's classification report
//! (scikit-learn's `classification_report` layout) and confusion matrix.

use super::atomic::{num, write_csv};
use crate::error::Result;
use crate::metrics::Confusion;
use std::path::Path;

/// Writes `dir/eval.csv` and `dir/confusion.csv`.
///
/// `eval.csv`: `class,precision,recall,f1,support`, one row per class, then
/// `macro_avg`, `weighted_avg`, and `accuracy` (its value in every metric
/// column). `confusion.csv`: rows are true classes, columns predicted ones.
pub fn write_eval(dir: &Path, classes: &[String], c: &Confusion) -> Result<()> {
    let header: Vec<String> = ["class", "precision", "recall", "f1", "support"]
        .map(String::from)
        .to_vec();
    let mut rows: Vec<Vec<String>> = (0..c.classes())
        .map(|k| {
            vec![
                name(classes, k),
                num(c.precision(k)),
                num(c.recall(k)),
                num(c.f1(k)),
                c.support(k).to_string(),
            ]
        })
        .collect();
    let total = c.total().to_string();
    rows.push(vec![
        "macro_avg".into(),
        num(c.macro_precision()),
        num(c.macro_recall()),
        num(c.macro_f1()),
        total.clone(),
    ]);
    rows.push(vec![
        "weighted_avg".into(),
        num(c.weighted_precision()),
        num(c.weighted_recall()),
        num(c.weighted_f1()),
        total.clone(),
    ]);
    let acc = num(c.accuracy());
    rows.push(vec![
        "accuracy".into(),
        acc.clone(),
        acc.clone(),
        acc,
        total,
    ]);
    write_csv(&dir.join("eval.csv"), &header, &rows)?;

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
    write_csv(&dir.join("confusion.csv"), &header, &rows)
}

fn name(classes: &[String], k: usize) -> String {
    classes.get(k).cloned().unwrap_or_else(|| k.to_string())
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
