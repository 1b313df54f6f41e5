//! Helpers shared by the integration tests: run the `dlp` binary, make
//! temporary pipelines.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub mod browser;
pub mod skip;

pub fn dlp() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dlp"));
    c.env_remove("RUST_LOG")
        .env_remove("DLP_INTERRUPT_AFTER_STEPS")
        .env_remove("DLP_FAULT");
    c
}

/// Set in a child copy of the test binary started by [`run_in_child`]:
/// the test it runs.
const CHILD_TEST: &str = "DLP_TEST_IN_CHILD";

/// Whether this process is the child copy of the test binary that
/// [`run_in_child`] started for `test`.
pub fn in_child(test: &str) -> bool {
    std::env::var_os(CHILD_TEST).is_some_and(|t| t == test)
}

/// For a test whose code under test reads environment variables or sets
/// process-wide state (the global tracing subscriber): runs `test` (its
/// `module_path!()` and name) alone in a child copy of this test binary
/// with `env` set there, and fails if it fails. The test calls this when
/// [`in_child`] is false and goes on with its body when it is true, so
/// this process's environment and globals, which every test thread
/// shares, are never written.
pub fn run_in_child(test: &str, env: &[(&str, &OsStr)]) {
    // Test names leave out the crate's name, which `module_path!()` starts with.
    let (_, name) = test.split_once("::").expect("a path below the crate");
    let o = Command::new(std::env::current_exe().expect("the test binary's path"))
        .args([name, "--exact", "--test-threads=1"])
        .env(CHILD_TEST, test)
        .envs(env.iter().copied())
        .output()
        .expect("the test binary runs");
    let (out, err) = (stdout(&o), stderr(&o));
    assert!(
        o.status.success(),
        "{name} in a child process: {}\n{out}{err}",
        o.status
    );
    assert!(
        out.contains(" 1 passed;"),
        "the child ran no test {name}:\n{out}{err}"
    );
}

pub fn run(args: &[&str]) -> Output {
    dlp().args(args).output().expect("the dlp binary runs")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(path.as_ref())
        .unwrap_or_else(|e| panic!("{}: {e}", path.as_ref().display()))
}

/// `dlp run PIPELINE --quiet --out OUT EXTRA…`.
pub fn run_quiet(pipeline: &Path, out: &Path, extra: &[&str]) -> Output {
    let (p, o) = (pipeline.to_string_lossy(), out.to_string_lossy());
    let mut args = vec!["run", &*p, "--quiet", "--out", &*o];
    args.extend_from_slice(extra);
    run(&args)
}

/// Writes `text` as `name` in `dir` and returns the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write test file");
    p
}

/// A small blobs pipeline that trains in well under a second.
pub fn small_blobs(extra_train: &str) -> String {
    format!(
        "seed 7
data {{
  source blobs samples=300 centers=3 features=2 std=1.5
  split train=0.6 valid=0.2 test=0.2
}}
model {{
  dense 16 activation=relu
  dropout 0.1
  dense 3 activation=softmax
}}
train {{
  loss cross_entropy
  optimizer adam lr=0.01
  batch 16
  epochs 12
  {extra_train}
}}
evaluate {{ metrics accuracy precision recall f1 confusion }}
"
    )
}

/// A deterministic byte per (seed, index): noise for test images.
pub fn noise(seed: u64, i: u64) -> u8 {
    let mut x = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(i.wrapping_mul(0xBF58_476D_1CE4_E5B9));
    x ^= x >> 31;
    x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
    (x >> 56) as u8
}

/// `root/{train,test}/{red,green,blue}/NNN.png`: 8×8 noisy colour images
/// whose class channel is brighter on average, except every tenth, which
/// looks like the next class: any model makes mistakes.
pub fn colour_folder(root: &std::path::Path, train: usize, test: usize) {
    for (part, n) in [("train", train), ("test", test)] {
        for (k, class) in ["blue", "green", "red"].iter().enumerate() {
            let dir = root.join(part).join(class);
            std::fs::create_dir_all(&dir).unwrap();
            for i in 0..n {
                let seed = (k * 100_000 + i) as u64 + if part == "test" { 50_000 } else { 0 };
                let img = image::RgbImage::from_fn(8, 8, |x, y| {
                    let at = u64::from(y * 8 + x) * 3;
                    image::Rgb(std::array::from_fn(|c| {
                        let looks = if i % 10 == 9 { (k + 1) % 3 } else { k };
                        let base: u8 = if c == 2 - looks { 110 } else { 70 };
                        base.saturating_add(noise(seed, at + c as u64) / 2)
                    }))
                });
                img.save(dir.join(format!("{i:03}.png"))).unwrap();
            }
        }
    }
}

/// The resolved plan with source positions left out: what formatting must
/// not change (it moves lines and columns, nothing else).
pub fn plan_without_positions(plan: &dlp::plan::Plan) -> serde_json::Value {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.retain(|k, _| k != "loc" && k != "source_loc");
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v = serde_json::to_value(plan).unwrap();
    strip(&mut v);
    v
}

/// `dlp fmt`'s two properties on one text: formatting is idempotent, and
/// the formatted pipeline resolves to the same plan (or, when the original
/// is invalid but parses, to the same errors, positions aside).
pub fn fmt_keeps_meaning(src: &str, path: &Path) -> Result<(), String> {
    let once = dlp::fmt::format(src).map_err(|d| format!("refused: {}", d.message))?;
    let twice =
        dlp::fmt::format(&once).map_err(|d| format!("refused its own output: {}", d.message))?;
    if twice != once {
        return Err(format!("not idempotent:\n{once}\n---\n{twice}"));
    }
    let before = dlp::analyze::analysis(src, path, &[]).map_err(|e| e.to_string())?;
    let after = dlp::analyze::analysis(&once, path, &[]).map_err(|e| e.to_string())?;
    let plans = (
        before.plan.as_ref().map(plan_without_positions),
        after.plan.as_ref().map(plan_without_positions),
    );
    // Kinds, not messages: a message may name a line ("the first is on
    // line 3") that formatting moved.
    let kinds = |a: &dlp::analyze::Analysis| -> Vec<dlp::analyze::Kind> {
        a.errors.iter().map(|d| d.kind).collect()
    };
    if plans.0 != plans.1 || kinds(&before) != kinds(&after) {
        return Err(format!(
            "the meaning changed:\n{src}\n--- formatted ---\n{once}\n{:?}\n{:?}",
            kinds(&before),
            kinds(&after)
        ));
    }
    Ok(())
}
