//! Runs a pipeline from Rust code: analyse it, override a value as
//! `--set` would, train, evaluate and write the run folder, then read the
//! final metrics back.
//!
//! `cargo run --release --example run -- pipelines/blobs.dlp /tmp/blobs-run`

use dlp::run::{RunOptions, run};
use std::path::PathBuf;

fn main() {
    let mut args = std::env::args().skip(1);
    let file = PathBuf::from(args.next().unwrap_or_else(|| "pipelines/blobs.dlp".into()));
    let out = args.next().map(PathBuf::from);
    // The same mechanism as `dlp run --set train.epochs=50`.
    let plan = match dlp::analyze::load(&file, &["train.epochs=50".to_string()]) {
        Ok(plan) => plan,
        Err(e) => {
            eprint!("{e}");
            std::process::exit(e.exit_code());
        }
    };
    let opts = RunOptions {
        out,
        quiet: true,
        ..RunOptions::default()
    };
    match run(&plan, &opts) {
        Ok(outcome) => {
            println!("run folder: {}", outcome.dir.display());
            for name in ["test_accuracy", "test_f1", "val_loss"] {
                if let Some(v) = outcome.metrics.get(name) {
                    println!("{name} = {v:.4}");
                }
            }
            for failure in &outcome.failures {
                println!("expectation failed: {failure}");
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(e.exit_code());
        }
    }
}
