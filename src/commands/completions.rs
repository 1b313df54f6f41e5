//! `dlp completions SHELL`: a completion script from the command line's
//! own definition (clap_complete), with pipeline files for the commands
//! that read one, folders for run folders, and the metric names for
//! `dlp diff --tol`.

use crate::cli::{Cli, CompletionsArgs};
use crate::error::Result;
use clap::builder::PossibleValuesParser;
use clap::{CommandFactory, ValueHint};

pub(crate) fn run(args: &CompletionsArgs) -> Result<i32> {
    let mut cmd = command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "dlp", &mut out);
    crate::terminal::out(&String::from_utf8_lossy(&out))?;
    Ok(0)
}

/// The command line as completion sees it: value hints, and `--tol`
/// offering `METRIC=` for every metric a run can write.
pub(crate) fn command() -> clap::Command {
    let files =
        |c: clap::Command, arg: &'static str| c.mut_arg(arg, |a| a.value_hint(ValueHint::FilePath));
    Cli::command()
        .mut_subcommand("check", |c| files(c, "files"))
        .mut_subcommand("fmt", |c| files(c, "files"))
        .mut_subcommand("plan", |c| files(c, "file"))
        .mut_subcommand("bench", |c| files(c, "file"))
        .mut_subcommand("eval", |c| files(files(c, "file"), "weights"))
        .mut_subcommand("run", |c| {
            files(c, "file").mut_arg("resume", |a| a.value_hint(ValueHint::DirPath))
        })
        .mut_subcommand("status", |c| {
            c.mut_arg("dirs", |a| a.value_hint(ValueHint::DirPath))
        })
        .mut_subcommand("diff", |c| {
            c.mut_arg("tol", |a| {
                a.value_parser(PossibleValuesParser::new(tol_names()))
                    .hide_possible_values(true)
            })
        })
}

/// `loss=`, `val_accuracy=`, `test_f1_weighted=`, …: what `--tol` takes
/// before its tolerance.
fn tol_names() -> Vec<String> {
    use crate::analyze::{TEST_METRICS, TRAIN_METRICS, VAL_METRICS};
    let mut names: Vec<String> = TRAIN_METRICS.iter().map(|m| format!("{m}=")).collect();
    names.extend(VAL_METRICS.iter().map(|m| format!("val_{m}=")));
    names.extend(TEST_METRICS.iter().map(|m| format!("test_{m}=")));
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(shell: clap_complete::Shell) -> String {
        let mut out = Vec::new();
        clap_complete::generate(shell, &mut command(), "dlp", &mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn scripts_name_the_subcommands_files_and_metrics() {
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
        ] {
            let s = script(shell);
            for word in [
                "check",
                "fmt",
                "lsp",
                "completions",
                "test_accuracy=",
                "val_loss=",
            ] {
                assert!(s.contains(word), "{shell:?} lacks {word}");
            }
        }
        // zsh and fish complete pipeline paths as files.
        assert!(script(clap_complete::Shell::Zsh).contains("_files"));
        assert!(script(clap_complete::Shell::Fish).contains("-F"));
    }

    /// The completion-only `--tol` values must not change what the real
    /// command line accepts: `dlp diff` parses `--tol` itself.
    #[test]
    fn the_real_parser_takes_any_tolerance() {
        use clap::Parser;
        let cli = Cli::try_parse_from(["dlp", "diff", "a", "b", "--tol", "test_accuracy=1%"])
            .expect("the real command line parses");
        let crate::cli::Command::Diff(args) = cli.command else {
            panic!("not parsed as `dlp diff`");
        };
        assert_eq!(args.tol, ["test_accuracy=1%"]);
    }
}
