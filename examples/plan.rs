//! Using `dlp` as a library: parse a pipeline, check it, and print its
//! model summary and resolved plan — what `dlp plan` does.
//!
//! ```text
//! cargo run --release --example plan -- pipelines/cifar10.dlp --set width=16
//! ```

use dlp::analyze;
use dlp::plan::summary::{describe, summary};
use std::path::PathBuf;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(
        args.next()
            .unwrap_or_else(|| "pipelines/cifar10.dlp".into()),
    );
    // Remaining arguments: `--set NAME=VALUE` pairs.
    let mut overrides = Vec::new();
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--set", Some(v)) => overrides.push(v),
            _ => {
                eprintln!("usage: plan FILE [--set NAME=VALUE]…");
                std::process::exit(2);
            }
        }
    }

    // 1. Parse: syntax only, a typed AST with spans.
    let source = match std::fs::read_to_string(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            std::process::exit(1);
        }
    };
    match dlp::syntax::parse(&source) {
        Ok(file) => println!(
            "{}: {} top-level statements",
            path.display(),
            file.statements.len()
        ),
        Err(e) => println!("{}: syntax error at {:?}", path.display(), e.line_col),
    }

    // 2. Check and plan: every diagnostic at once, or a resolved plan.
    match analyze::diagnose_source(&source, &path, &overrides) {
        Err(usage) => {
            eprintln!("error: {usage}");
            std::process::exit(2);
        }
        Ok(Err(diagnostics)) => {
            // Structured diagnostics (kind, span, hints), rendered as
            // `dlp check` renders them.
            let shown = path.display().to_string();
            eprint!(
                "{}",
                analyze::Report::new(shown, source.as_str(), diagnostics)
            );
            std::process::exit(2);
        }
        Ok(Ok(plan)) => {
            print!("{}", summary(&plan));
            println!();
            print!("{}", describe(&plan));
            println!(
                "\nmetrics this run will report: {}",
                analyze::metric_names(&plan).join(", ")
            );
        }
    }
}
