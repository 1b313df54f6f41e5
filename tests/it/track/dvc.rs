//! `--track dvc`: PyPI's real `dvc` reads dlp runs kept in a git
//! repository (`dvc metrics show`, `dvc metrics diff`, `dvc plots show`).

use super::tools::{self, blobs, train_csv};
use crate::common::{dlp, stderr};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn sh(dir: &Path, exe: &Path, args: &[&str]) -> String {
    let o = Command::new(exe)
        .args(args)
        .current_dir(dir)
        .env("DVC_NO_ANALYTICS", "1")
        .env("GIT_AUTHOR_NAME", "dlp")
        .env("GIT_AUTHOR_EMAIL", "dlp@localhost")
        .env("GIT_COMMITTER_NAME", "dlp")
        .env("GIT_COMMITTER_EMAIL", "dlp@localhost")
        .output()
        .expect("runs");
    assert!(
        o.status.success(),
        "{} {args:?}: {}{}",
        exe.display(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn final_metric(dir: &Path, name: &str) -> f64 {
    let m: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&crate::common::read(dir.join("run.yaml"))).unwrap();
    m["final_metrics"][name].as_f64().unwrap()
}

#[test]
fn dvc_shows_and_diffs_a_runs_metrics_and_plots_its_curves() {
    if !tools::have("dvc", "dvc") {
        return;
    }
    let dvc = tools::bin("dvc").unwrap();
    let git = Path::new("git");
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path();
    sh(repo, git, &["init", "-q"]);
    sh(repo, &dvc, &["init", "-q"]);
    let out = repo.join("runs/blobs");
    let train = |lr: &str| {
        let o = dlp()
            .args([
                "run",
                blobs().to_str().unwrap(),
                "--quiet",
                "--track",
                "dvc",
            ])
            .args(["--set", "train.epochs=3", "--set"])
            .arg(format!("train.optimizer.lr={lr}"))
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
    };
    train("0.02");
    let old_acc = final_metric(&out, "test_accuracy");
    let show: Value =
        serde_json::from_str(&sh(repo, &dvc, &["metrics", "show", "--json"])).unwrap();
    let metrics = &show[""]["data"]["runs/blobs/metrics.json"]["data"];
    assert_eq!(
        metrics["test_accuracy"].as_f64().unwrap(),
        old_acc,
        "{show}"
    );
    assert_eq!(
        metrics["val_loss"].as_f64().unwrap(),
        final_metric(&out, "val_loss")
    );
    // The curves: one point per epoch and column of train.csv.
    let plots: Value =
        serde_json::from_str(&sh(repo, &dvc, &["plots", "show", "--json", "--split"])).unwrap();
    let text = plots.to_string();
    let cols = train_csv(&out);
    let val = &cols.iter().find(|(n, _)| n == "val_loss").unwrap().1;
    assert!(text.contains("runs/blobs/train.csv"), "{text}");
    // One row per epoch and y column, each with every column (as text).
    let plot = &plots["data"]["runs/blobs/train.csv"][0];
    let rows = plot["anchor_definitions"]["<DVC_METRIC_DATA>"]
        .as_array()
        .unwrap_or_else(|| panic!("{plot}"));
    let mut points: Vec<(i64, f64)> = rows
        .iter()
        .map(|p| {
            (
                p["epoch"].as_str().unwrap().parse().unwrap(),
                p["val_loss"].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect();
    points.sort_by(|a, b| a.partial_cmp(b).unwrap());
    points.dedup();
    let want: Vec<(i64, f64)> = val
        .iter()
        .enumerate()
        .map(|(i, v)| (i as i64 + 1, *v))
        .collect();
    assert_eq!(points, want, "{plot}");

    // Committed, then run again with another rate: the diff is the runs'.
    sh(repo, git, &["add", "-A"]);
    sh(repo, git, &["commit", "-q", "-m", "lr 0.02"]);
    std::fs::remove_dir_all(&out).unwrap();
    train("0.05");
    let new_acc = final_metric(&out, "test_accuracy");
    let diff: Value =
        serde_json::from_str(&sh(repo, &dvc, &["metrics", "diff", "--json"])).unwrap();
    let d = &diff["runs/blobs/metrics.json"]["test_accuracy"];
    assert_eq!(d["old"].as_f64().unwrap(), old_acc, "{diff}");
    assert_eq!(d["new"].as_f64().unwrap(), new_acc, "{diff}");
    let params: Value =
        serde_json::from_str(&sh(repo, &dvc, &["params", "diff", "--json"])).unwrap();
    let lr = &params["runs/blobs/params.yaml"]["train.optimizer.lr"];
    assert_eq!(
        (&lr["old"], &lr["new"]),
        (&serde_json::json!(0.02), &serde_json::json!(0.05)),
        "{params}"
    );
}
