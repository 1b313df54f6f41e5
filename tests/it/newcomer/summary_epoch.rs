//! With `restore_best=true` the summary reports the epoch whose weights
//! the test split saw: the summary line, `run.yaml`'s `final_metrics`,
//! the report page and a sweep's console line and table row all carry
//! the restored epoch's figures, and the run says it restored them.

use crate::common::{dlp, read, small_blobs, stderr, write};
use dlp::records::Manifest;

/// Stops one epoch after its best (min_delta 0.02, patience 0): the
/// restored epoch is never the last.
fn restoring() -> String {
    small_blobs("early_stop monitor=val_loss min_delta=0.02 restore_best=true")
        .replace("epochs 12", "epochs 40")
}

/// The `train.csv` row of `epoch` as name → value.
fn row(csv: &str, epoch: usize) -> std::collections::BTreeMap<String, f64> {
    let mut lines = csv.lines();
    let names: Vec<&str> = lines.next().unwrap().split(',').collect();
    let values: Vec<f64> = lines
        .nth(epoch - 1)
        .unwrap()
        .split(',')
        .map(|v| v.parse().unwrap())
        .collect();
    names.iter().map(|n| n.to_string()).zip(values).collect()
}

#[test]
fn the_summary_reports_the_restored_epoch() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(tmp.path(), "p.dlp", &restoring());
    let out = tmp.path().join("run");
    let o = dlp()
        .arg("run")
        .arg(&p)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    // The summary line is on stdout, the progress and diagnosis on stderr.
    let err = format!("{}{}", stderr(&o), crate::common::stdout(&o));
    assert!(o.status.success(), "{err}");
    let m = Manifest::read(&out).unwrap();
    let (best, stop) = (m.test_epoch.unwrap(), m.stop_epoch.unwrap());
    assert_eq!(stop, best + 1, "the fixture stops one epoch after its best");
    let csv = read(out.join("train.csv"));
    let (kept, last) = (row(&csv, best), row(&csv, stop));
    // Every per-epoch figure in run.yaml is the restored epoch's.
    for name in ["loss", "accuracy", "val_loss", "val_accuracy"] {
        assert_eq!(m.final_metrics[name], kept[name], "{name}");
    }
    assert_ne!(kept["val_loss"], last["val_loss"]);
    // The console says so, and its summary line shows those figures.
    assert!(
        err.contains(&format!("restored weights from epoch {best}\n")),
        "{err}"
    );
    let summary = err
        .lines()
        .find(|l| l.starts_with("p: test_accuracy "))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        summary.contains(&format!(
            "val_loss {:.4} (epoch {best}'s weights; training ran {stop} epochs) → ",
            kept["val_loss"]
        )),
        "{summary}"
    );
    // The report page's header shows the restored epoch's val_loss.
    let page = read(out.join("report.html"));
    assert!(
        page.contains(&dlp::records::csv_num(kept["val_loss"]))
            || page.contains(&format!("{:.4}", kept["val_loss"])),
        "the page does not show val_loss {}",
        kept["val_loss"]
    );
}

/// A sweep's trial prints validation figures only (no test figures to pick
/// by), and its console line agrees with its row in sweep.csv.
#[test]
fn a_sweep_trial_prints_its_kept_epoch_validation_figures() {
    let tmp = tempfile::tempdir().unwrap();
    let text = restoring() + "sweep grid {\n  train.optimizer.lr = [0.01, 0.02]\n}\n";
    let p = write(tmp.path(), "p.dlp", &text);
    let out = tmp.path().join("sweep");
    let o = dlp()
        .arg("run")
        .arg(&p)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    // The summary line is on stdout, the progress and diagnosis on stderr.
    let err = format!("{}{}", stderr(&o), crate::common::stdout(&o));
    assert!(o.status.success(), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("p: ")).collect();
    assert_eq!(lines.len(), 2, "{err}");
    let table = read(out.join("sweep.csv"));
    let header: Vec<&str> = table.lines().next().unwrap().split(',').collect();
    let col = |n: &str| header.iter().position(|h| *h == n).unwrap();
    for (i, line) in lines.iter().enumerate() {
        assert!(!line.contains("test_"), "{line}");
        let name = format!("trial-{:03}", i + 1);
        let row: Vec<&str> = table
            .lines()
            .skip(1)
            .map(|l| l.split(',').collect::<Vec<&str>>())
            .find(|r| r[col("trial")] == name || r[col("trial")] == (i + 1).to_string())
            .unwrap_or_else(|| panic!("{name} in\n{table}"));
        let val_loss: f64 = row[col("val_loss")].parse().unwrap();
        assert!(
            line.contains(&format!("val_loss {val_loss:.4}")),
            "{line} vs sweep.csv val_loss {val_loss}"
        );
        let m = Manifest::read(&out.join(&name)).unwrap();
        assert_eq!(m.final_metrics["val_loss"], val_loss);
    }
}
