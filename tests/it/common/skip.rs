//! Skips that must be asked for by name. A test whose tool is missing (a
//! browser, a Slurm cluster, a tmpfs to fill, a GPU) fails, unless the
//! skip is named in `DLP_ALLOW_SKIP` (comma-separated, e.g.
//! `DLP_ALLOW_SKIP=browser,slurm`). An allowed skip is recorded: one line
//! appended to [`log_path`], which `.ci/run` prints after `cargo test`, so
//! what did not run shows in CI's log instead of vanishing into a passed
//! test's captured output.
//!
//! ```ignore
//! let Some(exe) = browser::find() else {
//!     skip::skip_unless_allowed("browser", "no headless Chromium on the PATH");
//!     return;
//! };
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

/// The environment variable naming the skips a run allows.
pub const ALLOW: &str = "DLP_ALLOW_SKIP";

/// The skips `DLP_ALLOW_SKIP` names in this process.
pub fn allowed() -> Vec<String> {
    parse(&std::env::var(ALLOW).unwrap_or_default())
}

/// `browser, slurm` → `["browser", "slurm"]`: names, trimmed, none empty.
pub fn parse(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Where allowed skips are recorded: `target/tmp/skipped.txt` (Cargo's
/// scratch folder for integration tests), one line per skip:
/// `NAME<TAB>TEST<TAB>WHY`.
pub fn log_path() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("skipped.txt")
}

/// The current test's name, as libtest names its thread.
fn test_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("(unnamed test)")
        .to_string()
}

/// The test cannot run here because `why` (its tool, named `name`, is
/// missing). Panics with a message saying how to allow the skip, unless
/// `DLP_ALLOW_SKIP` names `name`; then records the skip in [`log_path`]
/// and returns, and the caller returns early.
#[track_caller]
pub fn skip_unless_allowed(name: &str, why: &str) {
    decide(name, why, &allowed(), &log_path());
}

/// `true` when the tool is there; otherwise [`skip_unless_allowed`] and
/// `false`: `if !skip::require_tool("tmpfs", mounted, "…") { return; }`.
#[track_caller]
pub fn require_tool(name: &str, present: bool, why: &str) -> bool {
    if !present {
        skip_unless_allowed(name, why);
    }
    present
}

/// [`skip_unless_allowed`] against an explicit allow list and log.
#[track_caller]
fn decide(name: &str, why: &str, allowed: &[String], path: &Path) {
    let test = test_name();
    assert!(
        allowed.iter().any(|a| a == name),
        "{test} cannot run: {why}. Install what it needs, or allow this skip \
         by name: {ALLOW}={name} (comma-separated with others)"
    );
    let line = format!("{name}\t{test}\t{}\n", why.replace(['\t', '\n', '\r'], " "));
    let written = std::fs::create_dir_all(path.parent().expect("a folder"))
        .and_then(|()| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
        })
        // One write of one short line: appends from parallel tests do
        // not interleave.
        .and_then(|mut f| f.write_all(line.as_bytes()));
    if let Err(e) = written {
        panic!(
            "{test}: recording the allowed skip in {}: {e}",
            path.display()
        );
    }
    eprintln!("skipped ({ALLOW}={name}): {why}");
}

#[test]
fn the_allow_list_is_names_separated_by_commas() {
    assert_eq!(
        parse(" browser, slurm ,,tmpfs"),
        ["browser", "slurm", "tmpfs"]
    );
    assert!(parse("").is_empty());
}

#[test]
fn a_skip_not_named_fails_the_test() {
    let caught = std::panic::catch_unwind(|| {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("skipped.txt");
        decide("browser", "no browser here", &parse("slurm,gpu"), &log);
    });
    let message = caught.expect_err("a skip not allowed panics");
    let text = message
        .downcast_ref::<String>()
        .expect("a formatted message");
    assert!(
        text.contains("cannot run: no browser here") && text.contains("DLP_ALLOW_SKIP=browser"),
        "{text}"
    );
}

#[test]
fn an_allowed_skip_is_recorded_in_the_log() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("skipped.txt");
    decide("tool", "the skip helper records", &parse("gpu,tool"), &path);
    let log = std::fs::read_to_string(&path).unwrap();
    assert!(
        log.lines().any(|l| l
            == "tool\tcommon::skip::an_allowed_skip_is_recorded_in_the_log\tthe skip helper records"),
        "{log}"
    );
}
