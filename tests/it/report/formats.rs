//! Files that outlive a version: every file `dlp` reads back carries a
//! format version (`src/file_format.rs`), every format ever written stays
//! readable, and a newer one is refused by name. The fixtures under
//! `tests/fixtures/format-1/` were written by `dlp` at format 1 (see their
//! README): a finished run, an interrupted one (`resume.safetensors`), a
//! baseline, a grid sweep, a multi-seed run, and a `run.yaml` from before
//! the `format` key (format 1 without it).

use crate::common::*;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/format-1")
}

fn s(p: impl AsRef<Path>) -> String {
    p.as_ref().to_string_lossy().into_owned()
}

/// A copy of fixture `name` in `tmp` (the commands may write beside it).
fn copy(tmp: &Path, name: &str) -> PathBuf {
    fn walk(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let p = e.unwrap().path();
            let dest = to.join(p.file_name().unwrap());
            if p.is_dir() {
                walk(&p, &dest);
            } else {
                std::fs::copy(&p, &dest).unwrap();
            }
        }
    }
    let to = tmp.join(name);
    walk(&fixtures().join(name), &to);
    to
}

#[test]
fn every_file_of_format_1_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    for name in ["run", "run-before-format-key"] {
        let dir = copy(d, name);
        let o = run(&["status", &s(&dir)]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        assert!(
            stdout(&o).starts_with(&format!("{}: completed", dir.display())),
            "{name}: {}",
            stdout(&o)
        );
        let m = dlp::records::Manifest::read(&dir).unwrap();
        assert_eq!(m.status, dlp::records::Status::Completed, "{name}");
    }
    // The model: run.yaml and model.safetensors, through `dlp predict`.
    let run_dir = copy(d, "run");
    let input = write(d, "x.csv", "x0,x1\n0.5,-1\n");
    let o = run(&["predict", &s(&run_dir), &s(&input)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The resume file, through `dlp status`.
    let cut = copy(d, "cut");
    let o = run(&["status", &s(&cut)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(": interrupted; last saved in epoch "),
        "{}",
        stdout(&o)
    );
    // sweep.yaml, seeds.yaml and a baseline.
    let sweep = copy(d, "sweep");
    let o = run(&["sweep", "status", &s(&sweep)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let seeds = copy(d, "seeds");
    let o = run(&["status", &s(&seeds)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let baseline = copy(d, "baseline");
    let o = run(&["diff", &s(&baseline), &s(&run_dir)]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
}

/// `dlp diff` of the committed baseline against a run made now: the same
/// pipeline gives the same metrics, so the comparison passes exactly.
#[test]
fn an_old_baseline_compares_with_a_new_run() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let p = d.join("blobs.dlp");
    std::fs::copy(fixtures().join("blobs.dlp"), &p).unwrap();
    let new = d.join("new");
    let o = run_quiet(&p, &new, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run(&["diff", &s(fixtures().join("baseline")), &s(&new)]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("test_accuracy"), "{}", stdout(&o));
}

/// Each file with a newer format than this `dlp` reads is refused with a
/// message naming the file and the format, not misread.
#[test]
fn a_newer_format_is_refused_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let newer = |path: &Path| {
        let bytes = std::fs::read(path).unwrap();
        let at = bytes
            .windows(9)
            .position(|w| w == b"format: 1")
            .unwrap_or_else(|| panic!("{}: no format key", path.display()));
        let mut out = bytes.clone();
        out[at + 8] = b'2';
        std::fs::write(path, out).unwrap();
    };
    let refused = |file: &Path| {
        format!(
            "error: {}: written by a newer dlp (file format 2; this dlp reads formats 1 to 1): \
             read it with that dlp or a later one\n",
            file.display()
        )
    };
    let run_dir = copy(d, "run");
    newer(&run_dir.join("run.yaml"));
    let o = run(&["status", &s(&run_dir)]);
    assert_ne!(o.status.code(), Some(0));
    assert_eq!(stderr(&o), refused(&run_dir.join("run.yaml")));

    let cut = copy(d, "cut");
    newer(&cut.join("resume.safetensors"));
    let o = run(&["run", "--resume", &s(&cut), "--quiet"]);
    assert_ne!(o.status.code(), Some(0));
    assert_eq!(stderr(&o), refused(&cut.join("resume.safetensors")));

    let sweep = copy(d, "sweep");
    newer(&sweep.join("sweep.yaml"));
    let o = run(&["sweep", "status", &s(&sweep)]);
    assert_ne!(o.status.code(), Some(0));
    assert_eq!(stderr(&o), refused(&sweep.join("sweep.yaml")));

    let seeds = copy(d, "seeds");
    newer(&seeds.join("seeds.yaml"));
    let o = run(&["run", "--resume", &s(&seeds), "--quiet"]);
    assert_ne!(o.status.code(), Some(0));
    assert_eq!(stderr(&o), refused(&seeds.join("seeds.yaml")));

    let baseline = copy(d, "baseline");
    newer(&baseline.join("baseline.yaml"));
    let o = run(&["diff", &s(&baseline), &s(fixtures().join("run"))]);
    assert_ne!(o.status.code(), Some(0));
    assert_eq!(stderr(&o), refused(&baseline.join("baseline.yaml")));
}
