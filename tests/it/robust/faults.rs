//! Faults real machines have, and what each must leave behind: Ctrl-C and
//! `kill -9` at any moment (then `--resume` writes the same metric files,
//! byte for byte, as a run never interrupted), two runs started together,
//! a second resume of a live run, a file-size limit, the umask, a closed
//! stdout, a byte-order mark, a model too big for the machine.

use crate::common::*;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const METRIC_FILES: [&str; 3] = ["train.csv", "eval.csv", "confusion.csv"];

/// The files a resumed run may write differently from a run never
/// interrupted, and why: `stages.csv` holds each stage's wall time, the
/// `started:` and `ended:` lines of `run.yaml` are times of day, and the
/// lock file holds the process id. Every other byte of every other file
/// must be the same (CONTRIBUTING.md, "Resume tests").
const MAY_DIFFER: [&str; 2] = ["stages.csv", ".lock"];

/// The relative paths of the files under `dir`, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// `run.yaml` less its times of day.
fn without_times(yaml: &str) -> String {
    yaml.lines()
        .filter(|l| !l.starts_with("started: ") && !l.starts_with("ended: "))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn pipeline(tmp: &Path) -> PathBuf {
    // Early stopping, a schedule, a best-only checkpoint and dropout all
    // carry state across the cut.
    let text = small_blobs(
        "early_stop monitor=val_loss patience=3 restore_best=true\n  schedule step every=3 factor=0.5\n  checkpoint monitor=val_accuracy best_only=true",
    )
    .replace("epochs 12", "epochs 30");
    write(tmp, "r.dlp", &text)
}

/// 1,800 training samples at batch 16 for `epochs` epochs: seconds, so a
/// signal sent after the first epoch lands mid-run.
fn long_pipeline(tmp: &Path, name: &str, epochs: usize) -> PathBuf {
    let text = small_blobs("")
        .replace("epochs 12", &format!("epochs {epochs}"))
        .replace("samples=300", "samples=3000");
    write(tmp, &format!("{name}.dlp"), &text)
}

/// Runs `p` uninterrupted into `tmp/whole`: what every cut run must match.
fn reference_run(tmp: &Path, p: &Path) -> PathBuf {
    let whole = tmp.join("whole");
    let o = run_quiet(p, &whole, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    whole
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// The resumed run wrote the files of the uninterrupted run, and every
/// one of them byte for byte but those of [`MAY_DIFFER`] (`run.yaml` less
/// its times); the run finished for good and left nothing behind.
fn assert_same_as(whole: &Path, cut: &Path, case: &str) {
    let names = |d: &Path| -> Vec<String> {
        files_under(d)
            .into_iter()
            .filter(|f| f != ".lock")
            .collect()
    };
    let files = names(whole);
    assert_eq!(files, names(cut), "{case}: the files differ");
    assert!(files.len() >= 14, "{case}: only {files:?}");
    for f in &files {
        match f.as_str() {
            f if MAY_DIFFER.contains(&f) => {}
            "run.yaml" => assert_eq!(
                without_times(&read(whole.join(f))),
                without_times(&read(cut.join(f))),
                "{case}: run.yaml differs beyond its times"
            ),
            _ => assert!(
                std::fs::read(whole.join(f)).unwrap() == std::fs::read(cut.join(f)).unwrap(),
                "{case}: {f} differs after resume"
            ),
        }
    }
    let manifest = read(cut.join("run.yaml"));
    assert!(
        manifest.contains("status: stopped_early") || manifest.contains("status: completed"),
        "{case}: {manifest}"
    );
    assert!(manifest.contains("exit_code: 0"), "{case}: {manifest}");
    assert_eq!(leftovers(cut), Vec::<String>::new(), "{case}");
}

/// Temporary files and the resume file: none may outlive a finished run.
fn leftovers(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp") || n == "resume.safetensors")
        .collect();
    names.sort();
    names
}

#[test]
fn resume_after_an_interrupt_mid_epoch_is_exact() {
    let tmp = tempfile::tempdir().unwrap();
    let p = pipeline(tmp.path());
    let whole = reference_run(tmp.path(), &p);

    // 180 training samples at batch 16: 12 steps an epoch; 41 stops mid-epoch 4.
    let cut = tmp.path().join("cut");
    let o = dlp()
        .args(["run", &s(&p), "--quiet", "--out", &s(&cut)])
        .env("DLP_INTERRUPT_AFTER_STEPS", "41")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    // The armed test hook says so first.
    assert_eq!(
        stderr(&o),
        format!(
            "warning: DLP_INTERRUPT_AFTER_STEPS=41 is set: a test hook that interrupts \
             the run after 41 training steps\n\
             error: interrupted at epoch 4, step 41; continue with `dlp run --resume {}`\n",
            cut.display()
        )
    );
    assert!(read(cut.join("run.yaml")).contains("status: interrupted"));
    assert_eq!(
        read(cut.join("train.csv")).lines().count(),
        4,
        "header + 3 finished epochs"
    );
    let o = run(&["status", &s(&cut)]);
    assert_eq!(
        stdout(&o),
        format!(
            "{0}: interrupted; last saved in epoch 4 of 30, after batch 5; continue with `dlp run --resume {0}`\n",
            cut.display()
        )
    );

    let o = run(&["run", "--resume", &s(&cut), "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_same_as(&whole, &cut, "interrupt");
}

#[test]
fn sigint_finishes_the_batch_checkpoints_and_resumes_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let p = long_pipeline(tmp.path(), "s", 60);
    let whole = reference_run(tmp.path(), &p);

    let cut = tmp.path().join("cut");
    let child = spawn_run(&p, &cut, &[]);
    wait_for_rows(&cut, 1);
    signal(&child, "-INT");
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    let o = run(&["run", "--resume", &s(&cut), "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_same_as(&whole, &cut, "SIGINT");
}

fn spawn_run(p: &Path, out: &Path, extra: &[&str]) -> Child {
    dlp()
        .args(["run", &s(p), "--quiet", "--out", &s(out)])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn signal(child: &Child, sig: &str) {
    let sent = std::process::Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

/// Waits until `train.csv` in `dir` holds at least `rows` epochs.
fn wait_for_rows(dir: &Path, rows: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let have = std::fs::read_to_string(dir.join("train.csv"))
            .map_or(0, |t| t.lines().count().saturating_sub(1));
        if have >= rows {
            return;
        }
        assert!(Instant::now() < deadline, "no epoch {rows} within a minute");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// `kill -9` through the fault hook at the worst moments: halfway through
/// writing each file the reference run wrote (the cases come from its
/// folder, so a new file is covered without a new line here), with a
/// temporary file half written when the kill lands. Whatever was half
/// written, `dlp status` says the run crashed and `--resume` finishes it
/// exactly as an uninterrupted run would have.
#[test]
fn kill_9_during_any_write_resumes_to_the_same_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let p = pipeline(tmp.path());
    let whole = reference_run(tmp.path(), &p);
    let epochs = read(whole.join("train.csv")).lines().count() - 1;
    assert!(epochs >= 6, "the run stops early at epoch {epochs}");

    // (file, its n-th write, extra flags): the first write of every file
    // the reference run left, the last write of those written more than
    // once, and the resume file, which a finished run deletes. The resume
    // file's writer writes at most once a second unless flushed, and this
    // run takes less: its 1st write is the end of epoch 1 (with
    // --save-every 0, the first batch), its 2nd the flush when training
    // ends. train.csv is rewritten each epoch, run.yaml at the start and
    // the end.
    let mut cases: Vec<(String, u32, &[&str])> = files_under(&whole)
        .into_iter()
        .filter(|f| !MAY_DIFFER.contains(&f.as_str()))
        .map(|f| (f, 1, &[][..]))
        .collect();
    cases.extend([
        ("resume.safetensors".to_string(), 1, &[][..]),
        ("resume.safetensors".into(), 1, &["--save-every", "0"][..]),
        ("resume.safetensors".into(), 2, &[][..]),
        ("train.csv".into(), epochs as u32, &[][..]),
        ("run.yaml".into(), 2, &[][..]),
    ]);
    for (i, (file, n, extra)) in cases.iter().enumerate() {
        let (n, extra) = (*n, *extra);
        let case = format!("kill:{file}:{n} {extra:?}");
        let cut = tmp.path().join(format!("cut{i}"));
        let o = dlp()
            .args(["run", &s(&p), "--quiet", "--out", &s(&cut)])
            .args(extra)
            .env("DLP_FAULT", format!("kill:{file}:{n}"))
            .output()
            .unwrap();
        assert_eq!(o.status.signal(), Some(9), "{case}: {}", stderr(&o));
        // The kill landed mid-write: that write's temporary file is there.
        assert!(
            files_under(&cut).iter().any(|f| f.ends_with(".tmp")),
            "{case}: no temporary file when the kill landed: {:?}",
            files_under(&cut)
        );
        if !cut.join("run.yaml").exists() {
            // Killed before the manifest (pipeline.dlp is written first):
            // no run to resume, as `killed_before_the_manifest_…` checks.
            let o = run(&["run", "--resume", &s(&cut)]);
            assert_eq!(o.status.code(), Some(2), "{case}: {}", stderr(&o));
            continue;
        }
        assert!(read(cut.join("run.yaml")).contains("status: running"));

        let o = run(&["status", &s(&cut)]);
        assert_eq!(o.status.code(), Some(0), "{case}");
        assert!(
            stdout(&o).starts_with(&format!("{}: crashed; ", cut.display())),
            "{case}: {}",
            stdout(&o)
        );
        assert!(read(cut.join("run.yaml")).contains("status: crashed"));

        let o = run(&["run", "--resume", &s(&cut), "--quiet"]);
        assert_eq!(o.status.code(), Some(0), "{case}: {}", stderr(&o));
        assert_same_as(&whole, &cut, &case);
    }
}

/// `kill -9` from outside, wherever the run happens to be.
#[test]
fn kill_9_at_arbitrary_moments_resumes_to_the_same_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let p = long_pipeline(tmp.path(), "k", 40);
    let whole = reference_run(tmp.path(), &p);

    let cut = tmp.path().join("cut");
    // Killed twice: once early, once again after the first resume.
    for (round, rows) in [(0, 2), (1, 9)] {
        let child = if round == 0 {
            spawn_run(&p, &cut, &[])
        } else {
            dlp()
                .args(["run", "--resume", &s(&cut), "--quiet"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        wait_for_rows(&cut, rows);
        signal(&child, "-KILL");
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.signal(), Some(9), "{}", stderr(&o));
    }
    let o = run(&["run", "--resume", &s(&cut), "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_same_as(&whole, &cut, "kill -9 at arbitrary moments");
}

/// Killed before run.yaml existed: not a run to resume, and the folder
/// takes a plain run again.
#[test]
fn killed_before_the_manifest_the_folder_takes_a_new_run() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(tmp.path(), "p.dlp", &small_blobs(""));
    let out = tmp.path().join("out");
    let o = dlp()
        .args(["run", &s(&p), "--quiet", "--out", &s(&out)])
        .env("DLP_FAULT", "kill:run.yaml:1")
        .output()
        .unwrap();
    assert_eq!(o.status.signal(), Some(9));
    let o = run(&["run", "--resume", &s(&out)]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        format!("error: {}: not a run folder (no run.yaml)\n", out.display())
    );
    let o = run_quiet(&p, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(leftovers(&out), Vec::<String>::new());
}

/// Two runs of one pipeline started together each get a folder of their
/// own, and each is complete. The collision is forced: the folder of every
/// second of the next two minutes is taken beforehand, so each run finds
/// its time's folder taken and must take the next free suffix.
#[test]
fn two_runs_started_together_never_share_a_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(tmp.path(), "twin.dlp", &small_blobs(""));
    let now = std::time::SystemTime::now();
    let taken: Vec<String> = (0..120)
        .map(|k| dlp::run::folder::run_id(now + Duration::from_secs(k)))
        .collect();
    for id in &taken {
        std::fs::create_dir_all(tmp.path().join("runs/twin").join(id)).unwrap();
    }
    let start = || {
        dlp()
            .current_dir(tmp.path())
            .args(["run", &s(&p), "--quiet"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (start(), start());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert_eq!((a.status.code(), b.status.code()), (Some(0), Some(0)));
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(tmp.path().join("runs/twin"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|d| d.join("run.yaml").exists())
        .collect();
    dirs.sort();
    assert_eq!(dirs.len(), 2, "{dirs:?}");
    // Both summaries name their own folder.
    let named =
        |o: &std::process::Output| stdout(o).trim_end().rsplit(' ').next().unwrap().to_string();
    assert_ne!(named(&a), named(&b));
    // Same seed, so the same files; neither was overwritten by the other.
    for f in METRIC_FILES {
        assert_eq!(read(dirs[0].join(f)), read(dirs[1].join(f)), "{f}");
    }
    for d in &dirs {
        assert!(read(d.join("run.yaml")).contains("status: completed"));
    }
    // Each collided and took the next suffix of its second's id: `-2`, or
    // `-3` when the other run took `-2` of the same second.
    let names: Vec<String> = dirs
        .iter()
        .map(|d| d.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    // A folder name is the 15-character id `YYYYMMDD-HHMMSS`, `-`, suffix.
    let parts: Vec<(&str, &str)> = names
        .iter()
        .map(|n| {
            assert!(n.len() > 16 && &n[15..16] == "-", "{n}: no suffix");
            (&n[..15], &n[16..])
        })
        .collect();
    for (name, (id, _)) in names.iter().zip(&parts) {
        assert!(
            taken.iter().any(|t| t == id),
            "{name}: not an id of the taken window"
        );
    }
    let mut suffixes = [parts[0].1, parts[1].1];
    suffixes.sort();
    if parts[0].0 == parts[1].0 {
        assert_eq!(suffixes, ["2", "3"], "{names:?}");
    } else {
        assert_eq!(suffixes, ["2", "2"], "{names:?}");
    }
}

/// While one process resumes a run, a second `--resume` (or `--out` into
/// the same folder) is refused, naming the first; `dlp status` says it runs.
#[test]
fn a_live_run_refuses_a_second_process() {
    let tmp = tempfile::tempdir().unwrap();
    let p = long_pipeline(tmp.path(), "live", 40);
    let out = tmp.path().join("out");
    let first = spawn_run(&p, &out, &[]);
    wait_for_rows(&out, 1);

    let o = run(&["run", "--resume", &s(&out), "--quiet"]);
    assert_eq!(o.status.code(), Some(2));
    let holder = format!(
        "error: {}: another dlp process (pid {}) is using this run folder\n",
        out.display(),
        first.id()
    );
    assert_eq!(stderr(&o), holder);
    let o = run_quiet(&p, &out, &[]);
    assert_eq!((o.status.code(), stderr(&o)), (Some(2), holder.clone()));
    let o = run(&["status", &s(&out)]);
    assert!(
        stdout(&o).starts_with(&format!(
            "{}: running (pid {}) since ",
            out.display(),
            first.id()
        )),
        "{}",
        stdout(&o)
    );
    signal(&first, "-INT");
    let o = first.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    // The lock died with its holder: the run can be continued now.
    let o = run(&["run", "--resume", &s(&out), "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// A file-size limit (as a full disk would) ends the run with exit 1 and a
/// message naming the file, run.yaml `failed`, no temporary file, the
/// earlier files intact; once there is room, `--resume` finishes it.
#[test]
fn a_write_failure_fails_the_run_cleanly_and_it_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let p = pipeline(tmp.path());
    let whole = reference_run(tmp.path(), &p);
    let png = std::fs::metadata(whole.join("curves.png")).unwrap().len();
    assert!(png > 40 * 1024, "curves.png is {png} bytes");

    // 40 KiB: every file fits but curves.png.
    let cut = tmp.path().join("cut");
    let o = dlp_in_shell("ulimit -f 40")
        .args(["run", &s(&p), "--quiet", "--out", &s(&cut)])
        .output()
        .unwrap();
    assert_failed_at(
        &o,
        &cut,
        "curves.png",
        "File too large (os error 27)",
        &whole,
    );
    let o = run(&["run", "--resume", &s(&cut), "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_same_as(&whole, &cut, "file-size limit");
}

/// A run that failed writing `file`: exit 1, the message naming it and
/// the cause, run.yaml `failed`, no temporary file, the resume file kept,
/// every metric file written before intact and `file` itself absent.
fn assert_failed_at(o: &std::process::Output, cut: &Path, file: &str, cause: &str, whole: &Path) {
    assert_eq!(o.status.code(), Some(1), "{}", stderr(o));
    assert_eq!(
        stderr(o),
        format!(
            "error: cannot write {}: {cause}\n",
            cut.join(file).display()
        )
    );
    let manifest = read(cut.join("run.yaml"));
    assert!(manifest.contains("status: failed"), "{manifest}");
    assert!(manifest.contains("exit_code: 1"), "{manifest}");
    assert_eq!(leftovers(cut), ["resume.safetensors"]);
    for f in METRIC_FILES {
        assert_eq!(read(whole.join(f)), read(cut.join(f)), "{f} written before");
    }
    assert!(!cut.join(file).exists());
}

/// A full disk, for real: a 128 KiB tmpfs holds everything but the
/// learning-curve picture. Exit 1 naming the file and "No space left on
/// device", nothing half-written; with room again, `--resume` finishes the
/// run. Mounting needs root (CI runs as root); elsewhere the case is
/// skipped, and `a_write_failure_fails_the_run_cleanly_and_it_resumes`
/// covers the same path with a file-size limit.
#[test]
fn a_full_disk_fails_the_run_cleanly_and_it_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let p = pipeline(tmp.path());
    let whole = reference_run(tmp.path(), &p);

    let disk = tmp.path().join("disk");
    std::fs::create_dir(&disk).unwrap();
    let mount = |opts: &str| {
        std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", opts, "tmpfs", &s(&disk)])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !mount("size=128k") {
        skip::skip_unless_allowed(
            "tmpfs",
            "cannot mount a tmpfs here to fill (mount -t tmpfs needs root)",
        );
        return;
    }
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(disk.clone());
    let cut = disk.join("cut");
    let o = run_quiet(&p, &cut, &[]);
    assert_failed_at(
        &o,
        &cut,
        "curves.png",
        "No space left on device (os error 28)",
        &whole,
    );

    assert!(mount("remount,size=4m"), "remount bigger");
    let o = run(&["run", "--resume", &s(&cut), "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_same_as(&whole, &cut, "full disk");
}

/// Output files get 0666 and folders 0777, less the umask, as any other
/// program's would.
#[test]
fn outputs_follow_the_umask() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(tmp.path(), "m.dlp", &small_blobs(""));
    for (umask, file_mode, dir_mode) in [("022", 0o644, 0o755), ("077", 0o600, 0o700)] {
        let out = tmp.path().join(format!("u{umask}"));
        let o = dlp_in_shell(&format!("umask {umask}"))
            .args(["run", &s(&p), "--quiet", "--out", &s(&out)])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&out), dir_mode, "umask {umask}: the folder");
        let mut files = 0;
        for entry in std::fs::read_dir(&out).unwrap() {
            let path = entry.unwrap().path();
            assert_eq!(mode(&path), file_mode, "umask {umask}: {}", path.display());
            files += 1;
        }
        assert!(files >= 10, "{files} files");
    }
}

/// `dlp plan … | head -2`: a closed stdout ends the command quietly.
#[test]
fn a_closed_stdout_ends_quietly() {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let o = dlp()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["plan", "pipelines/cifar10.dlp"])
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stderr(&o), "");
}

/// A byte-order mark and CRLF line ends (Windows editors) are read as the
/// same pipeline, and errors still point at the right line and column.
#[test]
fn byte_order_mark_and_crlf_are_plain_pipelines() {
    let tmp = tempfile::tempdir().unwrap();
    let windows = |text: &str| format!("\u{feff}{}", text.replace('\n', "\r\n"));
    let p = write(tmp.path(), "w.dlp", &windows(&small_blobs("")));
    let o = run(&["check", &s(&p)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        format!(
            "{}: ok (3 layers, 99 parameters, 2 warnings)\n",
            p.display()
        )
    );
    let bad = write(
        tmp.path(),
        "bad.dlp",
        &windows(&small_blobs("").replace("dense 16", "dense2 16")),
    );
    let o = run(&["check", &s(&bad)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(&format!(
            "error: unknown layer \"dense2\" — did you mean \"dense\"?\n --> {}:7:3\n",
            bad.display()
        )),
        "{}",
        stderr(&o)
    );
}

/// A model that cannot fit in this machine's memory is refused before it
/// is allocated, with the sizes it would need: by `dlp check` already (it
/// runs every check `dlp run` makes before the first step), and by `dlp
/// run`.
#[test]
fn a_model_too_big_for_the_machine_is_refused_before_allocation() {
    let tmp = tempfile::tempdir().unwrap();
    // 2·1e11 + 1e11 + 3·1e11 + 3 ≈ 6e11 parameters: 2.2 TiB of float32
    // weights, as much again for gradients, twice for Adam's moments; a
    // sample's activations are 2 + 1e11 + 1e11 (dropout) + 3 values, ×16
    // ×4 bytes = 11.6 TiB.
    let p = write(
        tmp.path(),
        "big.dlp",
        &small_blobs("").replace("dense 16", "dense 100000000000"),
    );
    let o = run(&["check", &s(&p)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("error: the model needs at least 20.4 TiB of memory"),
        "{}",
        stderr(&o)
    );
    let out = tmp.path().join("out");
    let o = run_quiet(&p, &out, &[]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.starts_with(
            "error: the model needs at least 20.4 TiB of memory (weights 2.2 TiB, gradients 2.2 TiB, \
             optimizer state 4.4 TiB, activations for a batch of 16: 11.6 TiB), but this machine has "
        ) && err.ends_with(" available; use a smaller model or batch\n"),
        "{err}"
    );
    assert!(read(out.join("run.yaml")).contains("status: failed"));
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
        .map(|i| dlp::sweeps::seeds::seed_of(7, i).to_string())
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
    // `dlp status` of the multi-seed folder: a line per seed.
    let o = run(&["status", &s(&cut)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let seed = |n: &str| cut.join(n).display().to_string();
    assert_eq!(
        stdout(&o),
        format!(
            "{}: interrupted; last saved in epoch 2 of 12, after batch 8; continue with `dlp run --resume {}`\n\
             {}: not started\n{}: not started\n",
            seed("seed-01"),
            seed("seed-01"),
            seed("seed-02"),
            seed("seed-03")
        )
    );
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

/// Pruned sweeps (`prune=median warmup=2`, four trials over learning rate
/// and batch size). `--jobs 2`: trial 2 (batch 90, two steps an epoch)
/// runs six times faster than trial 1 (batch 16) beside it, and is judged
/// against trial 1 at epoch 3 only because it waits for trial 1 to train
/// epoch 3; it writes the bytes of `--jobs 1`. A sweep interrupted in its
/// third trial and finished with `--resume` of the folder (the first two
/// kept as they were, the third resumed from its resume file, the fourth
/// started) writes them too.
#[test]
fn sweep_jobs_and_resume_of_the_folder_write_the_same_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = |startup: usize, axes: &str| {
        small_blobs("").replace("epochs 12", "epochs 8")
            + &format!("sweep grid prune=median warmup=2 startup={startup} {{\n{axes}}}\n")
    };
    let status = |dir: &Path| -> Vec<String> {
        read(dir.join("sweep.csv"))
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(3).unwrap().to_string())
            .collect()
    };
    let same = |a: &Path, b: &Path| {
        assert_eq!(read(a.join("sweep.csv")), read(b.join("sweep.csv")));
        for t in ["trial-001", "trial-002", "trial-003", "trial-004"] {
            for f in METRIC_FILES.iter().chain(&["data.csv"]) {
                assert_eq!(read(a.join(t).join(f)), read(b.join(t).join(f)), "{t}/{f}");
            }
            assert_eq!(leftovers(&b.join(t)), Vec::<String>::new(), "{t}");
        }
        assert_eq!(
            std::fs::read(a.join("sweep.png")).unwrap(),
            std::fs::read(b.join("sweep.png")).unwrap()
        );
    };

    let fast = write(
        tmp.path(),
        "fast.dlp",
        &sweep(
            1,
            "  train.optimizer.lr = [0.05, 1e-5]\n  train.batch = [16, 90]\n",
        ),
    );
    let one = tmp.path().join("one");
    let o = run_quiet(&fast, &one, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Batch 90 learns less per epoch than batch 16, and 1e-5 nothing.
    assert_eq!(status(&one), ["completed", "pruned", "pruned", "pruned"]);
    let rows = read(one.join("trial-002/train.csv")).lines().count() - 1;
    assert_eq!(rows, 3, "pruned after epoch 3 (warm-up 2)");
    let two = tmp.path().join("two");
    let o = run_quiet(&fast, &two, &["--jobs", "2"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    same(&one, &two);

    let p = write(
        tmp.path(),
        "sw.dlp",
        &sweep(
            2,
            "  train.batch = [32, 16]\n  train.optimizer.lr = [0.05, 1e-5]\n",
        ),
    );
    let whole = tmp.path().join("whole");
    let o = run_quiet(&p, &whole, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Trials 1 and 2 are the start-up, never pruned.
    assert_eq!(
        status(&whole),
        ["completed", "completed", "completed", "pruned"]
    );
    // Trials 1 and 2 (batch 32: 6 steps an epoch, 48 in all) finish
    // before the hook's 62nd step; trial 3 (batch 16, 12 steps an epoch)
    // stops at its 62nd, in epoch 6.
    let cut = tmp.path().join("cut");
    let o = dlp()
        .args(["run", p.to_str().unwrap(), "--quiet", "--out"])
        .arg(&cut)
        .env("DLP_INTERRUPT_AFTER_STEPS", "62")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    assert!(
        stderr(&o).ends_with(&format!(
            "error: 2 of 4 trials finished; continue with `dlp run --resume {}`\n",
            cut.display()
        )),
        "{}",
        stderr(&o)
    );
    assert!(read(cut.join("trial-003/run.yaml")).contains("status: interrupted"));
    assert!(cut.join("trial-003/resume.safetensors").exists());
    assert!(!cut.join("trial-004").exists());
    let kept = read(cut.join("trial-001/run.yaml"));
    let o = run(&[
        "run",
        "--resume",
        cut.to_str().unwrap(),
        "--quiet",
        "--jobs",
        "2",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        read(cut.join("trial-001/run.yaml")),
        kept,
        "a finished trial ran again"
    );
    same(&whole, &cut);
}
