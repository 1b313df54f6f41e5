//! Sweeps on Slurm: the batch scripts of a dry run, and a job array on a
//! real single-node cluster against what `--jobs 1` writes.

use crate::common::*;

/// `--executor slurm --dry-run` prints the two batch scripts, each after
/// the `sbatch` that would submit it, and writes nothing.
#[test]
fn slurm_dry_run_prints_the_batch_scripts() {
    let tmp = tempfile::tempdir().unwrap();
    let text = small_blobs("") + "sweep grid { train.optimizer.lr = [0.1, 0.01, 0.001] }\n";
    let p = write(tmp.path(), "lr.dlp", &text);
    let out = tmp.path().join("sweep");
    let cache = tmp.path().join("cache");
    let o = dlp()
        .env("DLP_DATA", &cache)
        .args([
            "run",
            p.to_str().unwrap(),
            "--quiet",
            "--out",
            out.to_str().unwrap(),
            "--executor",
            "slurm",
            "--partition",
            "gpu",
            "--gpus-per-trial",
            "1",
            "--cpus-per-trial",
            "4",
            "--time",
            "2:00:00",
            "--max-parallel",
            "2",
            "--sbatch-arg=--account=ml",
            "--sbatch-arg",
            "--qos=low",
            "--dry-run",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!out.exists(), "a dry run wrote {}", out.display());
    let (d, dlp_bin, data) = (out.display(), env!("CARGO_BIN_EXE_dlp"), cache.display());
    assert_eq!(
        stdout(&o),
        format!(
            "# sbatch --parsable --array=1-3%2 {d}/slurm/trials.sbatch
#!/bin/bash
# The trials of the dlp sweep in {d}: array task I runs trial I
# into trial-NNN/, or resumes it from its resume file.
#SBATCH --job-name=dlp-lr
#SBATCH --array=1-3%2
#SBATCH --output={d}/slurm/trial-%a.out
#SBATCH --open-mode=append
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=4
#SBATCH --gres=gpu:1
#SBATCH --partition=gpu
#SBATCH --time=2:00:00
#SBATCH --account=ml
#SBATCH --qos=low
# One thread per CPU Slurm gave the task; the dataset cache filled at submission.
export RAYON_NUM_THREADS=\"${{SLURM_CPUS_PER_TASK:-1}}\"
export DLP_DATA='{data}'
exec '{dlp_bin}' run --resume '{d}' --trial \"$SLURM_ARRAY_TASK_ID\" --device cuda

# sbatch --parsable --dependency=afterany:<the array's job id> {d}/slurm/summary.sbatch
#!/bin/bash
# Writes sweep.csv and sweep.png of the dlp sweep in {d} once its
# trials have ended.
#SBATCH --job-name=dlp-lr-summary
#SBATCH --output={d}/slurm/summary.out
#SBATCH --open-mode=append
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1
#SBATCH --partition=gpu
#SBATCH --time=2:00:00
#SBATCH --account=ml
#SBATCH --qos=low
exec '{dlp_bin}' sweep summary '{d}'
"
        )
    );
}

/// Whether a Slurm cluster answers here, starting the single-node one of
/// `scripts/slurm-local.sh` when this process is root and Slurm is
/// installed (as in CI). A cluster that cannot be had fails the test,
/// unless `DLP_ALLOW_SKIP` names `slurm` (see `common::skip`).
fn slurm_cluster() -> bool {
    let answers = || {
        std::process::Command::new("sinfo")
            .arg("-h")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if answers() {
        return true;
    }
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    let why = if !root {
        "not root, so scripts/slurm-local.sh cannot start a cluster".to_string()
    } else {
        match std::process::Command::new("scripts/slurm-local.sh").output() {
            Ok(o) if o.status.success() && answers() => return true,
            Ok(o) => format!("scripts/slurm-local.sh failed: {}", stderr(&o)),
            Err(e) => format!("scripts/slurm-local.sh: {e}"),
        }
    };
    skip::skip_unless_allowed("slurm", &format!("no Slurm cluster ({why})"));
    false
}

/// The summary job's id in what `dlp run --executor slurm` or `dlp sweep
/// resume` printed.
fn summary_job(out: &str) -> String {
    out.split("and the summary as job ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no summary job in {out:?}"))
        .to_string()
}

/// Waits until Slurm says job `id` has ended.
fn wait_for_job(id: &str) {
    let start = std::time::Instant::now();
    loop {
        let o = std::process::Command::new("squeue")
            .args(["-h", "-t", "all", "-j", id, "-o", "%T"])
            .output()
            .unwrap();
        let state = String::from_utf8_lossy(&o.stdout).trim().to_string();
        if !matches!(
            state.as_str(),
            "PENDING" | "RUNNING" | "CONFIGURING" | "COMPLETING" | ""
        ) {
            return;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(180),
            "job {id} still {state:?} after 3 minutes"
        );
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
}

/// A pruned grid sweep submitted to a real Slurm as a job array: its tasks
/// interrupted part-way (a test hook every task inherits), `dlp sweep
/// status` says so, `dlp sweep summary` refuses to call it finished, and
/// `dlp sweep resume` resubmits them; each continues from its resume file,
/// and the summary job writes the `sweep.csv` (and trial files) that
/// `--jobs 1` writes here.
#[test]
fn a_sweep_on_slurm_writes_what_jobs_1_writes() {
    if !slurm_cluster() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let text = small_blobs("").replace("epochs 12", "epochs 8")
        + "sweep grid prune=median warmup=2 startup=1 {\n  train.optimizer.lr = [0.05, 1e-5]\n  train.batch = [16, 90]\n}\n";
    let p = write(tmp.path(), "sl.dlp", &text);
    let here = tmp.path().join("here");
    let o = run_quiet(&p, &here, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let out = tmp.path().join("slurm");
    let o = dlp()
        .args(["run", p.to_str().unwrap(), "--quiet", "--out"])
        .arg(&out)
        .args([
            "--executor",
            "slurm",
            "--max-parallel",
            "2",
            "--cpus-per-trial",
            "1",
        ])
        .env("DLP_INTERRUPT_AFTER_STEPS", "20")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let first = stdout(&o);
    assert!(
        first.starts_with(&format!(
            "submitted 4 trials of {} as Slurm job array ",
            out.display()
        )),
        "{first}"
    );
    wait_for_job(&summary_job(&first));
    // Trials 1 and 3 (batch 16) stop at step 20, in epoch 2; trials 2 and
    // 4 reach epoch 3, where pruning needs the trials before them, and
    // stop too, to be resumed with them.
    let o = run(&["sweep", "status", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let status = stdout(&o);
    assert!(
        status.starts_with(&format!("{}: 4 trials: 4 failed\n", out.display())),
        "{status}"
    );
    assert!(
        status.ends_with(&format!(
            "continue the failed trials with `dlp sweep resume {}`\n",
            out.display()
        )),
        "{status}"
    );
    let o = run(&["sweep", "summary", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).ends_with(&format!(
            "error: 4 trials have not ended (1, 2, 3, 4): continue with `dlp sweep resume {}`\n",
            out.display()
        )),
        "{}",
        stderr(&o)
    );

    let o = run(&["sweep", "resume", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    wait_for_job(&summary_job(&stdout(&o)));
    assert_eq!(read(out.join("sweep.csv")), read(here.join("sweep.csv")));
    for t in ["trial-001", "trial-002", "trial-003", "trial-004"] {
        for f in ["train.csv", "eval.csv", "confusion.csv"] {
            assert_eq!(
                read(out.join(t).join(f)),
                read(here.join(t).join(f)),
                "{t}/{f}"
            );
        }
    }
    let o = run(&["sweep", "status", out.to_str().unwrap()]);
    assert!(
        stdout(&o).starts_with(&format!("{}: 4 trials: 1 done, 3 pruned\n", out.display())),
        "{}",
        stdout(&o)
    );
    let summary_log = read(out.join("slurm/summary.out"));
    assert!(summary_log.contains("← best"), "{summary_log}");
}
