//! `expect` over `--seeds N` must hold on every seed: the run names each
//! seed that missed, and the shipped CI examples post the diff table even
//! then, and still fail the job.

use crate::common::{dlp, read, small_blobs, stderr, write};
use serde_yaml_ng::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Five epochs of the overlapping blobs: with `test_accuracy >= 0.99`
/// some seeds pass and some do not.
fn pipeline(expect: &str) -> String {
    small_blobs("").replace("epochs 12", "epochs 5") + expect
}

#[test]
fn failing_seeds_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(
        tmp.path(),
        "p.dlp",
        &pipeline("expect { test_accuracy >= 0.99 }\n"),
    );
    let out = tmp.path().join("seeds");
    let o = dlp()
        .arg("run")
        .arg(&p)
        .args(["--seeds", "3", "--quiet", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    // seed-02 reaches 1.0 on its 60 test points; the others do not.
    let seed3 = dlp::sweeps::seeds::seed_of(7, 2);
    assert!(
        err.contains(&format!(
            "expect must hold on every seed; it failed on 2 of 3: seed-01 (seed=7), seed-03 (seed={seed3})\n"
        )),
        "{err}"
    );
    let m = dlp::records::Manifest::read(&out.join("seed-02")).unwrap();
    assert_eq!(m.final_metrics["test_accuracy"], 1.0);
    assert!(!err.contains("  seed-02: "), "{err}");
    for name in ["seed-01", "seed-03"] {
        let m = dlp::records::Manifest::read(&out.join(name)).unwrap();
        let acc = m.final_metrics["test_accuracy"];
        assert!(
            err.contains(&format!(
                "  {name}: {}:19:10: expected test_accuracy >= 0.99, got {acc:.4}\n",
                p.display()
            )),
            "{name}: {err}"
        );
    }
}

/// The folder of a CI job: a baseline of the same pipeline without its
/// failing `expect` (same seeds, same figures), and the pipeline with it.
fn ci_folder(dir: &Path) -> (PathBuf, PathBuf) {
    let base = write(dir, "base.dlp", &pipeline(""));
    let o = dlp()
        .arg("run")
        .arg(&base)
        .args(["--seeds", "5", "--jobs", "2", "--quiet", "--out"])
        .arg(dir.join("base-run"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let o = dlp()
        .arg("baseline")
        .arg(dir.join("base-run"))
        .arg(dir.join("baseline"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let p = write(
        dir,
        "p.dlp",
        &pipeline("expect { test_accuracy >= 0.99 }\n"),
    );
    (p, dir.join("baseline"))
}

/// A shell with the test's dlp first on PATH, in `dir`, failing on the
/// first failing command as CI runners do.
fn shell(dir: &Path, script: &str) -> Command {
    let bin = Path::new(env!("CARGO_BIN_EXE_dlp")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut c = Command::new("bash");
    c.args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
        .current_dir(dir)
        .env("PATH", path)
        .env_remove("CI_MERGE_REQUEST_IID")
        .env_remove("DLP_NOTE_TOKEN");
    c
}

fn example(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/ci")
        .join(name);
    serde_yaml_ng::from_str(&read(path)).unwrap()
}

#[test]
fn gitlab_posts_the_table_and_fails_when_expect_failed() {
    let tmp = tempfile::tempdir().unwrap();
    let (p, baseline) = ci_folder(tmp.path());
    let gl = example("gitlab-ci.yml");
    let lines: Vec<&str> = gl["metric-gate"]["script"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        // This dlp is the one under test.
        .filter(|l| {
            !l.contains("cargo install")
                && !l.contains("pip install")
                && !l.starts_with("export PATH")
        })
        .collect();
    let o = shell(tmp.path(), &lines.join("\n"))
        .env("PIPELINE", &p)
        .env("BASELINE", &baseline)
        .output()
        .unwrap();
    let (out, err) = (crate::common::stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(3), "{out}{err}");
    let table = read(tmp.path().join("diff.md"));
    assert!(table.contains("| `test_accuracy` |"), "{table}");
    assert!(
        out.contains("| `test_accuracy` |"),
        "the log shows the table: {out}"
    );
    assert!(err.contains("expect must hold on every seed"), "{err}");
}

#[test]
fn github_posts_the_table_and_fails_when_expect_failed() {
    let tmp = tempfile::tempdir().unwrap();
    let (p, baseline) = ci_folder(tmp.path());
    let gh = example("github-actions.yml");
    let steps = gh["jobs"]["gate"]["steps"].as_sequence().unwrap();
    let step = |name: &str| {
        steps
            .iter()
            .find(|s| s["name"].as_str() == Some(name))
            .unwrap_or_else(|| panic!("no step {name}"))
    };
    let output = tmp.path().join("github-output");
    let summary = tmp.path().join("step-summary");
    let train = step("Train with five seeds on CPU");
    assert_eq!(train["id"].as_str(), Some("train"));
    let o = shell(tmp.path(), train["run"].as_str().unwrap())
        .env("PIPELINE", &p)
        .env("GITHUB_OUTPUT", &output)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "the train step lets the job go on: {}",
        stderr(&o)
    );
    let status = read(&output);
    assert_eq!(status, "status=3\n");
    let compare = step("Compare with the baseline");
    assert_eq!(
        compare["env"]["RUN_STATUS"].as_str(),
        Some("${{ steps.train.outputs.status }}")
    );
    let o = shell(tmp.path(), compare["run"].as_str().unwrap())
        .env("BASELINE", &baseline)
        .env("RUN_STATUS", "3")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let table = read(&summary);
    assert!(table.contains("| `test_accuracy` |"), "{table}");
    // The posting step runs whatever happened before it.
    let post = step("Post the table on the pull request");
    assert!(post["if"].as_str().unwrap().starts_with("always()"));
}
