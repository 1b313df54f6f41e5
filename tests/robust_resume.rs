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

/// `--seeds 3`: seed-01 is the plain run of the pipeline; `--jobs 2` (one
/// thread per seed on two cores) and a multi-seed run interrupted in its
/// first seed and finished with `--resume` of the folder write the bytes
/// `--jobs 1` writes.
#[test]
fn seeds_jobs_and_resume_of_the_folder_write_the_same_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(tmp.path(), "s.dlp", &small_blobs(""));
    let plain = tmp.path().join("plain");
    let o = run_quiet(&p, &plain, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let one = tmp.path().join("one");
    let o = run_quiet(&p, &one, &["--seeds", "3"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).ends_with(&format!("→ {}\n", one.join("summary.csv").display())),
        "{}",
        stdout(&o)
    );
    for f in METRIC_FILES {
        assert_eq!(
            read(plain.join(f)),
            read(one.join("seed-01").join(f)),
            "{f}"
        );
    }
    let seeds = read(one.join("seeds.csv"));
    let column: Vec<&str> = seeds
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap())
        .collect();
    let want: Vec<String> = (0..3)
        .map(|i| dlp::run::seeds::seed_of(7, i).to_string())
        .collect();
    assert_eq!(column, want);
    assert!(
        seeds.starts_with("run,seed,loss,accuracy,val_loss,val_accuracy,"),
        "{seeds}"
    );
    assert_eq!(
        read(one.join("summary.csv")).lines().next(),
        Some("metric,n,mean,sd,min,max,ci95_low,ci95_high")
    );

    let two = tmp.path().join("two");
    let o = run_quiet(&p, &two, &["--seeds", "3", "--jobs", "2"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let cut = tmp.path().join("cut");
    let o = dlp()
        .args([
            "run",
            p.to_str().unwrap(),
            "--quiet",
            "--seeds",
            "3",
            "--out",
        ])
        .arg(&cut)
        .env("DLP_INTERRUPT_AFTER_STEPS", "20")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    assert!(
        stderr(&o).ends_with(&format!(
            "error: 0 of 3 seeds finished; continue with `dlp run --resume {}`\n",
            cut.display()
        )),
        "{}",
        stderr(&o)
    );
    assert!(read(cut.join("seed-01/run.yaml")).contains("status: interrupted"));
    let o = run(&[
        "run",
        "--resume",
        cut.to_str().unwrap(),
        "--quiet",
        "--jobs",
        "2",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    for other in [&two, &cut] {
        for f in ["seeds.csv", "summary.csv"] {
            assert_eq!(read(one.join(f)), read(other.join(f)), "{f}");
        }
        for s in ["seed-01", "seed-02", "seed-03"] {
            for f in METRIC_FILES.iter().chain(&["data.csv"]) {
                assert_eq!(
                    read(one.join(s).join(f)),
                    read(other.join(s).join(f)),
                    "{s}/{f}"
                );
            }
        }
    }
    // run.yaml records the threads each seed ran on: the cores split
    // between the two jobs (one job on one core).
    let cores = std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let threads = (cores / 2.min(cores)).max(1);
    assert!(
        read(two.join("seed-02/run.yaml")).contains(&format!("\nthreads: {threads}\n")),
        "{threads}"
    );
    // Usage: one seed is no spread; --jobs needs seeds.
    let o = run_quiet(&p, &tmp.path().join("x"), &["--seeds", "1"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: --seeds 1: a spread needs at least 2 seeds (leave --seeds out for one run)\n"
    );
    let o = run_quiet(&p, &tmp.path().join("y"), &["--jobs", "2"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--jobs runs the seeds of --seeds N at once"),
        "{}",
        stderr(&o)
    );
}
