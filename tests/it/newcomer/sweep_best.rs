//! `dlp sweep best SWEEP_DIR` hands back the best trial's pipeline with
//! its values written in: running it gives that trial's figures exactly.

use crate::common::{dlp, read, small_blobs, stderr, stdout, write};

#[test]
fn the_best_trials_pipeline_runs_as_the_trial_did() {
    let tmp = tempfile::tempdir().unwrap();
    let text = small_blobs("").replace("epochs 12", "epochs 4")
        + "sweep grid {\n  train.optimizer.lr = [0.05, 0.002]\n  train.batch = [16, 32]\n}\n";
    let p = write(tmp.path(), "p.dlp", &text);
    let sweep = tmp.path().join("sweep");
    let o = dlp()
        .arg("run")
        .arg(&p)
        .args(["--quiet", "--out"])
        .arg(&sweep)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    // The winner as sweep.csv marks it.
    let table = read(sweep.join("sweep.csv"));
    let header: Vec<&str> = table.lines().next().unwrap().split(',').collect();
    let col = |n: &str| header.iter().position(|h| *h == n).unwrap();
    let best: Vec<&str> = table
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<&str>>())
        .find(|r| r[col("best")] == "true")
        .unwrap();
    let (lr, batch) = (best[col("train.optimizer.lr")], best[col("train.batch")]);
    let trial = best[col("trial")];

    let file = tmp.path().join("best.dlp");
    let o = dlp()
        .args(["sweep", "best"])
        .arg(&sweep)
        .arg("--out")
        .arg(&file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let written = read(&file);
    assert!(!written.contains("sweep grid"), "{written}");
    assert!(
        written.contains(&format!("optimizer adam lr={lr}\n")),
        "{written}"
    );
    assert!(written.contains(&format!("batch {batch}\n")), "{written}");
    assert!(
        stderr(&o).contains(&format!(
            "train.optimizer.lr={lr} train.batch={batch} (val_loss "
        )),
        "{}",
        stderr(&o)
    );
    // Printed without --out, the same text.
    let o = dlp().args(["sweep", "best"]).arg(&sweep).output().unwrap();
    assert_eq!(stdout(&o), written);

    // Run next to the pipeline, it is the trial again.
    let run = tmp.path().join("again");
    let o = dlp()
        .arg("run")
        .arg(&file)
        .args(["--quiet", "--out"])
        .arg(&run)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let trial_dir = sweep.join(format!("trial-{:03}", trial.parse::<usize>().unwrap()));
    assert_eq!(
        read(run.join("train.csv")),
        read(trial_dir.join("train.csv"))
    );
    assert_eq!(read(run.join("eval.csv")), read(trial_dir.join("eval.csv")));
}

#[test]
fn an_unfinished_sweep_has_no_best() {
    let tmp = tempfile::tempdir().unwrap();
    let o = dlp()
        .args(["sweep", "best"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a sweep folder"), "{}", stderr(&o));
}
