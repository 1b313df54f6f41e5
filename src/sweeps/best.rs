//! `dlp sweep best SWEEP_DIR [--out FILE]`: the best trial's pipeline,
//! its values written in and the `sweep` block left out, ready to run or
//! commit (what Keras Tuner's `get_best_hyperparameters` hands back, as a
//! file). The best trial is the one `sweep.csv` marks ([`summary::best`]:
//! ranked by the sweep's monitor, a validation figure).
//!
//! The values are written where the trial's `--set` overrides landed
//! ([`crate::analyze::set_landing`]): a value replaced in place, a
//! parameter added to its statement, a statement added to its section (a
//! random sweep's trial seed as `seed N`); the text is then laid out by
//! `dlp fmt`, keeping the pipeline's comments, and analysed again before
//! it is handed back. Relative data paths are as the pipeline wrote them:
//! save the file next to the pipeline.

use super::summary;
use super::sweep::Spec;
use crate::analyze::{Landing, set_landing};
use crate::error::{Error, Result};
use crate::plan::trials::trial_name;
use crate::syntax::{self, Statement, Value, ValueKind};

/// The best trial of the sweep in `dir`: its folder name, what it scored,
/// and its pipeline text.
pub(crate) struct Best {
    pub trial: String,
    /// `val_loss 0.1234 at epoch 7`.
    pub score: String,
    /// The trial's values, `target=value` each.
    pub values: Vec<String>,
    pub text: String,
}

pub(crate) fn best(dir: &std::path::Path) -> Result<Best> {
    let spec = Spec::read(dir)?;
    let results = summary::collect(dir, &spec)?;
    let (monitor, goal) = (&spec.sweep.monitor, spec.sweep.goal);
    let order = summary::ranking(&results, monitor, goal);
    let Some(i) = summary::best(&results, &order, monitor, goal) else {
        return Err(Error::Usage(format!(
            "{}: no trial has completed or stopped early yet, so none is the best; see `dlp sweep status {0}`",
            dir.display()
        )));
    };
    let score = match results[i].score(monitor, goal) {
        Some((epoch, v)) => format!("{monitor} {v:.4} at epoch {epoch}"),
        None => format!("no {monitor}"),
    };
    let set = spec.set(i);
    let source = syntax::read_source(&spec.pipeline).map_err(|e| Error::io(&spec.pipeline, e))?;
    let text = written(&source, &set).map_err(|why| {
        Error::file(
            &spec.pipeline,
            format!("cannot write trial {}'s values: {why}", i + 1),
        )
    })?;
    let name = trial_name(i, spec.trials.len());
    let header = format!(
        "# The best trial of the sweep {} ({name}: {score}).\n# Written by `dlp sweep best` with {}.\n",
        dir.display(),
        set.join(" ")
    );
    let text = crate::fmt::format(&(header + &text)).map_err(|d| {
        Error::file(
            &spec.pipeline,
            format!("the written pipeline does not parse: {}", d.message),
        )
    })?;
    // What is handed back must be a valid pipeline, as the trial's was.
    crate::analyze::analyze_source(&text, &spec.pipeline, &[])?;
    Ok(Best {
        trial: name,
        score,
        values: set,
        text,
    })
}

/// `source` with the overrides `set` (`target=value`) written in and its
/// `sweep` statement removed.
pub(crate) fn written(source: &str, set: &[String]) -> std::result::Result<String, String> {
    let mut file = syntax::parse(source).map_err(|e| e.to_string())?;
    let original = file.clone();
    // (start, end, text), applied from the end of the file back.
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    for o in set {
        let Some((target, text)) = o.split_once('=') else {
            return Err(format!("{o}: expected NAME=VALUE"));
        };
        let (target, text) = (target.trim(), text.trim());
        let (value, text) = match syntax::parse_value(text) {
            Ok(v) => (v, text.to_string()),
            Err(_) => (
                Value {
                    kind: ValueKind::Str(text.to_string()),
                    span: syntax::Span::default(),
                },
                format!("{text:?}"),
            ),
        };
        let edit = match set_landing(&mut file, target, value)? {
            Landing::Replace(span) => {
                // A value's span can run on over a comment after it
                // (`let width = 16 # hidden units`): the comment stays.
                let replaced = &source[span.start..span.end];
                let end = match replaced.find('#') {
                    Some(i) if !replaced.starts_with('"') => {
                        span.start + replaced[..i].trim_end().len()
                    }
                    _ => span.end,
                };
                (span.start, end, text)
            }
            Landing::Append { at, key } => (at, at, format!(" {key}={text}")),
            Landing::Statement { section, stmt, .. } if section.is_empty() => {
                (0, 0, format!("{stmt} {text}\n"))
            }
            Landing::Statement { section, stmt, key } => {
                let close = original
                    .statements
                    .iter()
                    .find_map(|s| match s {
                        Statement::Command(c) if c.name.name == section && c.block.is_some() => {
                            Some(c.span.end.saturating_sub(1))
                        }
                        _ => None,
                    })
                    .ok_or_else(|| format!("the pipeline has no {section} block"))?;
                (close, close, format!("\n{stmt} {key}={text}\n"))
            }
        };
        // A later value for the same place wins (a sweep axis over a
        // command-line --set).
        edits.retain(|e| !(e.0 == edit.0 && e.1 == edit.1 && e.0 != e.1));
        edits.push(edit);
    }
    for s in &original.statements {
        if let Statement::Command(c) = s
            && c.name.name == "sweep"
        {
            edits.push((c.span.start, c.span.end, String::new()));
        }
    }
    // Insertions at one place keep their order: sort stably by start.
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    let mut out = source.to_string();
    for (start, end, text) in edits {
        out.replace_range(start..end, &text);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_written_where_they_land() {
        let src = "seed 3\nlet width = 16 # hidden units\nmodel {\n  dense $width activation=relu\n  dense 3\n}\ntrain {\n  optimizer adam lr=0.01\n  epochs 5\n}\nsweep grid {\n  train.optimizer.lr = [0.1, 0.01]\n  width = [8, 16]\n}\n";
        let set = [
            "train.optimizer.lr=0.1".to_string(),
            "width=8".to_string(),
            "model.dense_1.units=4".to_string(),
            "train.optimizer.clip_norm=1.0".to_string(),
            "train.batch.drop_last=true".to_string(),
        ];
        let out = written(src, &set).unwrap();
        assert_eq!(
            out,
            "seed 3\nlet width = 8 # hidden units\nmodel {\n  dense $width activation=relu\n  dense 4\n}\ntrain {\n  optimizer adam lr=0.1 clip_norm=1.0\n  epochs 5\n\nbatch drop_last=true\n}\n\n"
        );
        let out = written("model {\n  dense 3\n}\n", &["seed=7".to_string()]).unwrap();
        assert_eq!(out, "seed 7\nmodel {\n  dense 3\n}\n");
    }
}
