//! How a run ends and what it says: a failed expectation, divergence, and
//! the diagnosis of the evaluated epoch.

use super::{floats, run_text, stage_items};
use crate::common::*;

#[test]
fn a_failed_expectation_exits_3_and_names_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let text = small_blobs("") + "expect {\n  test_accuracy >= 1.5\n}\n";
    let p = write(tmp.path(), "e.dlp", &text);
    let out = tmp.path().join("run");
    let o = run_quiet(&p, &out, &[]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let line = text.lines().position(|l| l.contains(">= 1.5")).unwrap() + 1;
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "e.dlp:{line}:3: expected test_accuracy >= 1.5, got"
        )),
        "{err}"
    );
    // The run itself finished and its files are there.
    assert!(out.join("eval.csv").exists());
}

#[test]
fn divergence_stops_with_advice_and_keeps_the_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let text = small_blobs("").replace("optimizer adam lr=0.01", "optimizer sgd lr=1e30");
    let p = write(tmp.path(), "d.dlp", &text);
    let out = tmp.path().join("run");
    let o = run_quiet(&p, &out, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("training diverged") && err.contains("Lower the learning rate"),
        "{err}"
    );
    let yaml = read(out.join("run.yaml"));
    assert!(yaml.contains("status: diverged"), "{yaml}");
    // The run ended (in its first epoch) before its report; `dlp report`
    // writes its page from what is there: the diverged status, no epoch,
    // no test results.
    assert!(!out.join("report.html").exists());
    let o = run(&["report", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let page = read(out.join("report.html"));
    assert!(page.contains("<span class=\"badge bad\">diverged</span>"));
    assert!(page.contains(
        "No test results: the run has no test split, or it ended before evaluating one."
    ));
    assert!(page.contains("No diagnosis.txt: the run ended before its report."));
    assert!(page.contains("No epoch finished: train.csv has no rows."));

    // In a sweep a diverged trial has ended: the others run, it ranks
    // last, and a resume keeps it.
    let text = text.replace("epochs 12", "epochs 2")
        + "sweep grid { train.optimizer.lr = [1e30, 0.01] }\n";
    let p = write(tmp.path(), "dsweep.dlp", &text);
    let out = tmp.path().join("sweep");
    let o = run_quiet(&p, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let summary = read(out.join("sweep.csv"));
    let rows: Vec<Vec<&str>> = summary
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(
        rows[0][..8],
        ["1", "1e30", "diverged", "0", "", "", "2", "false"],
        "{summary}"
    );
    assert_eq!(rows[1][..4], ["2", "0.01", "completed", "2"], "{summary}");
    assert_eq!(rows[1][6..8], ["1", "true"], "{summary}");
    let o = run(&["run", "--resume", out.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(read(out.join("sweep.csv")), summary);
}

/// The diagnosis' validation error is that of the weights the test split
/// saw: with `restore_best` the best epoch's `val_accuracy`, taken from its
/// row instead of a second pass (so the `diagnose` stage passes over the
/// train split only).
#[test]
fn the_diagnosis_reads_the_validation_error_of_the_evaluated_epoch() {
    let tmp = tempfile::tempdir().unwrap();
    let text = small_blobs("early_stop monitor=val_loss patience=4 restore_best=true")
        .replace("std=1.5", "std=3")
        .replace("epochs 12", "epochs 40");
    let (dir, m) = run_text(tmp.path(), "diag", &text);
    let csv = read(dir.join("train.csv"));
    let val_acc = floats(&csv, "val_accuracy");
    let epoch = m.test_epoch.expect("an evaluated epoch");
    assert_ne!(epoch, val_acc.len(), "the case needs a restored epoch");
    assert_ne!(val_acc[epoch - 1], val_acc[val_acc.len() - 1]);
    let expected = format!("{:.2}", (1.0 - val_acc[epoch - 1]) * 100.0);
    let diagnosis = read(dir.join("diagnosis.txt"));
    let line = diagnosis
        .lines()
        .find(|l| l.starts_with("validation error"));
    let words: Vec<&str> = line.unwrap_or_default().split_whitespace().collect();
    assert_eq!(
        words,
        ["validation", "error", &expected, "%"],
        "{diagnosis}"
    );
    let stages = read(dir.join("stages.csv"));
    assert_eq!(stage_items(&stages, "diagnose"), 180, "{stages}");
}
