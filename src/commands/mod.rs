//! One file per subcommand; each returns the process exit code.

pub(crate) mod baseline;
pub(crate) mod bench;
pub(crate) mod check;
pub(crate) mod completions;
pub(crate) mod diff;
pub(crate) mod eval;
pub(crate) mod export;
pub(crate) mod fmt;
pub(crate) mod lsp;
pub(crate) mod plan;
pub(crate) mod predict;
pub(crate) mod report;
pub(crate) mod run;
pub(crate) mod status;
pub(crate) mod sweep;
pub(crate) mod sync;

use crate::cli::{Cli, Command};
use crate::error::Error;
use clap::Parser;

/// Parses the command line, runs the command and returns the exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    if let Err(e) = crate::run::signals::survive_file_size_limit() {
        return report(&e);
    }
    let result = match cli.command {
        Command::Check(a) => check::run(&a),
        Command::Plan(a) => plan::run(&a),
        Command::Run(a) => run::run(&a),
        Command::Eval(a) => eval::run(&a),
        Command::Diff(a) => diff::run(&a),
        Command::Baseline(a) => baseline::run(&a),
        Command::Bench(a) => bench::run(&a),
        Command::Status(a) => status::run(&a),
        Command::Sweep(c) => sweep::run(&c),
        Command::Report(a) => report::run(&a),
        Command::Predict(a) => predict::run(&a),
        Command::Export(a) => export::run(&a),
        Command::Sync(a) => sync::run(&a),
        Command::Fmt(a) => fmt::run(&a),
        Command::Lsp => lsp::run(),
        Command::Completions(a) => completions::run(&a),
    };
    match result {
        Ok(code) => code,
        // `dlp plan … | head` closed the pipe: nothing is wrong.
        Err(e) if e.is_broken_pipe() => 0,
        Err(e) => report(&e),
    }
}

fn report(e: &Error) -> i32 {
    match e {
        // Diagnostics are already rendered with their own `error:` lines.
        Error::Invalid(report) => crate::terminal::err!("{report}"),
        _ => crate::terminal::errln!("error: {e}"),
    }
    e.exit_code()
}
