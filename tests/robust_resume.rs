//! Interruption and exact resume: a run stopped mid-epoch (by the test hook
//! or by a real SIGINT) and resumed writes the same metric CSVs, byte for
//! byte, as a run that was never interrupted.

mod common;
use common::*;
use std::process::Stdio;
use std::time::{Duration, Instant};

const METRIC_FILES: [&str; 3] = ["train.csv", "eval.csv", "confusion.csv"];

fn pipeline(tmp: &std::path::Path) -> std::path::PathBuf {
    // Early stopping, a schedule and dropout all carry state across the cut.
    let text = small_blobs(
        "early_stop monitor=val_loss patience=3 restore_best=true\n  schedule step every=3 factor=0.5\n  checkpoint monitor=val_accuracy best_only=true",
    )
    .replace("epochs 12", "epochs 30");
    write(tmp, "r.dlp", &text)
}

#[test]
fn resume_after_an_interrupt_mid_epoch_is_exact() {
    let tmp = tempfile::tempdir().unwrap();
    let p = pipeline(tmp.path());
    let whole = tmp.path().join("whole");
    let o = run_quiet(&p, &whole, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // 180 training samples at batch 16: 12 steps an epoch; 41 stops mid-epoch 4.
    let cut = tmp.path().join("cut");
    let o = dlp()
        .args([
            "run",
            p.to_str().unwrap(),
            "--quiet",
            "--out",
            cut.to_str().unwrap(),
        ])
        .env("DLP_INTERRUPT_AFTER_STEPS", "41")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    assert!(stderr(&o).contains("dlp run --resume"), "{}", stderr(&o));
    assert!(read(cut.join("run.yaml")).contains("status: interrupted"));
    assert_eq!(
        read(cut.join("train.csv")).lines().count(),
        4,
        "header + 3 finished epochs"
    );

    let o = run(&["run", "--resume", cut.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for f in METRIC_FILES {
        assert_eq!(
            read(whole.join(f)),
            read(cut.join(f)),
            "{f} differs after resume"
        );
    }
    assert!(
        !cut.join("resume").exists(),
        "the resume state is removed once the run finishes"
    );
}

#[test]
fn sigint_finishes_the_batch_checkpoints_and_resumes_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    // 1,800 training samples at batch 16, 60 epochs: a few seconds, so the
    // signal lands mid-run.
    let text = small_blobs("")
        .replace("epochs 12", "epochs 60")
        .replace("samples=300", "samples=3000");
    let p = write(tmp.path(), "s.dlp", &text);
    let whole = tmp.path().join("whole");
    let o = run_quiet(&p, &whole, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let cut = tmp.path().join("cut");
    let child = dlp()
        .args([
            "run",
            p.to_str().unwrap(),
            "--quiet",
            "--out",
            cut.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first finished epoch, then interrupt.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cut.join("train.csv").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let pid = child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    let o = run(&["run", "--resume", cut.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for f in METRIC_FILES {
        assert_eq!(
            read(whole.join(f)),
            read(cut.join(f)),
            "{f} differs after resume"
        );
    }
}
