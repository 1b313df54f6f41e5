//! Training progress on stderr: live bars on a terminal, one plain line per
//! epoch when stderr is a pipe or a file (CI logs, `2> log`), nothing with
//! `--quiet`. The final summary line is printed in every mode, on stdout,
//! so a script can read the result of a run.

use crate::records::atomic::csv_num;
use crate::records::history::{EpochRow, column_order};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Instant;

/// The bars on screen, if any, so log lines ([`super::trace`]) can be
/// printed above them instead of through them.
static ON_SCREEN: Mutex<Option<MultiProgress>> = Mutex::new(None);

/// Runs `f` (which writes to stderr) with the bars, if any, hidden.
pub(crate) fn suspend_bars<R>(f: impl FnOnce() -> R) -> R {
    let bars = ON_SCREEN.lock().ok().and_then(|g| g.clone());
    match bars {
        Some(m) => m.suspend(f),
        None => f(),
    }
}

fn set_on_screen(bars: Option<MultiProgress>) {
    match ON_SCREEN.lock() {
        Ok(mut g) => *g = bars,
        Err(p) => *p.into_inner() = bars,
    }
}

enum Output {
    Quiet,
    Plain(Box<dyn Write + Send>),
    Bars {
        multi: MultiProgress,
        epochs: ProgressBar,
        batches: ProgressBar,
    },
}

/// Reports training progress; see the module documentation for the modes.
pub(crate) struct Progress {
    out: Output,
    epochs: usize,
    epoch_started: Instant,
}

impl Progress {
    /// Bars when stderr is a terminal, plain lines otherwise, nothing when
    /// `quiet`.
    pub(crate) fn new(quiet: bool, epochs: usize, batches_per_epoch: usize) -> Progress {
        if quiet {
            Progress::with_output(Output::Quiet, epochs)
        } else if std::io::stderr().is_terminal() {
            Progress::bars(epochs, batches_per_epoch)
        } else {
            Progress::plain(Box::new(std::io::stderr()), epochs)
        }
    }

    /// Plain one-line-per-epoch output to `w`.
    pub(crate) fn plain(w: Box<dyn Write + Send>, epochs: usize) -> Progress {
        Progress::with_output(Output::Plain(w), epochs)
    }

    fn with_output(out: Output, epochs: usize) -> Progress {
        Progress {
            out,
            epochs,
            epoch_started: Instant::now(),
        }
    }

    fn bars(epochs: usize, batches_per_epoch: usize) -> Progress {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        // Templates are constants; a bad one would be a programming error
        // caught by the tests, so fall back to the default style.
        let style = |t: &str| {
            ProgressStyle::with_template(t).unwrap_or_else(|_| ProgressStyle::default_bar())
        };
        let e = multi.add(
            ProgressBar::new(epochs as u64).with_style(
                style(
                    "epoch {pos:>4}/{len} [{bar:30.cyan/blue}] {elapsed_precise} eta {eta_precise}",
                )
                .progress_chars("=> "),
            ),
        );
        let b = multi.add(ProgressBar::new(batches_per_epoch as u64).with_style(
            style("batch {pos:>4}/{len} [{bar:30.green/white}] {msg}").progress_chars("=> "),
        ));
        set_on_screen(Some(multi.clone()));
        Progress::with_output(
            Output::Bars {
                multi,
                epochs: e,
                batches: b,
            },
            epochs,
        )
    }

    /// Call before the first batch of `epoch`.
    pub(crate) fn start_epoch(&mut self, epoch: usize) {
        self.epoch_started = Instant::now();
        if let Output::Bars {
            epochs, batches, ..
        } = &self.out
        {
            epochs.set_position(epoch.saturating_sub(1) as u64);
            batches.reset();
        }
    }

    /// Call after batch `i` (1-based) with its running loss and accuracy.
    pub(crate) fn batch(&mut self, i: usize, loss: f64, accuracy: Option<f64>) {
        if let Output::Bars { batches, .. } = &self.out {
            batches.set_position(i as u64);
            let msg = match accuracy {
                Some(a) => format!("loss {loss:.4}  accuracy {a:.4}"),
                None => format!("loss {loss:.4}"),
            };
            batches.set_message(msg);
        }
    }

    /// Call when an epoch's row is complete: prints its line.
    pub(crate) fn end_epoch(&mut self, row: &EpochRow) {
        let line = epoch_line(
            row,
            self.epochs,
            Some(self.epoch_started.elapsed().as_secs_f64()),
        );
        match &mut self.out {
            Output::Quiet => {}
            Output::Plain(w) => {
                let _ = writeln!(w, "{line}");
                let _ = w.flush();
            }
            Output::Bars { multi, epochs, .. } => {
                let _ = multi.println(line);
                epochs.set_position(row.epoch as u64);
            }
        }
    }

    /// A note for the person watching (not shown with `--quiet`).
    pub(crate) fn message(&mut self, msg: &str) {
        let msg = super::printable(msg);
        match &mut self.out {
            Output::Quiet => {}
            Output::Plain(w) => {
                let _ = writeln!(w, "{msg}");
            }
            Output::Bars { multi, .. } => {
                let _ = multi.println(msg.as_ref());
            }
        }
    }

    /// Removes the bars and prints the summary line on stdout.
    pub(crate) fn finish(&mut self, summary: &str) {
        if let Output::Bars {
            multi,
            epochs,
            batches,
        } = &self.out
        {
            batches.finish_and_clear();
            epochs.finish_and_clear();
            let _ = multi.clear();
            set_on_screen(None);
        }
        // A closed stdout (`dlp run … | head -0`) must not change how the
        // run ends: the summary is also in run.yaml.
        let _ = writeln!(std::io::stdout(), "{}", super::printable(summary));
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Output::Bars { .. } = self.out {
            set_on_screen(None);
        }
    }
}

/// One epoch as a line: `epoch 3/100  lr 0.001  loss 0.5123  …  1.2s`.
/// Metrics in `train.csv` order, four decimals.
pub(crate) fn epoch_line(row: &EpochRow, epochs: usize, seconds: Option<f64>) -> String {
    let width = epochs.to_string().len();
    let mut line = format!(
        "epoch {:>width$}/{epochs}  lr {}",
        row.epoch,
        csv_num(row.lr)
    );
    for name in column_order(row.values.keys().map(String::as_str)) {
        let v = row.values[&name];
        if v.is_finite() {
            line.push_str(&format!("  {name} {v:.4}"));
        } else {
            line.push_str(&format!("  {name} {}", csv_num(v)));
        }
    }
    if let Some(s) = seconds {
        line.push_str(&format!("  {s:.1}s"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn row(epoch: usize) -> EpochRow {
        EpochRow {
            epoch,
            lr: 0.001,
            values: [
                ("val_loss", 0.61234),
                ("loss", 0.5),
                ("accuracy", 0.8),
                ("val_f1", f64::NAN),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        }
    }

    #[test]
    fn line_format() {
        assert_eq!(
            epoch_line(&row(3), 100, Some(1.25)),
            "epoch   3/100  lr 0.001  loss 0.5000  accuracy 0.8000  val_loss 0.6123  val_f1 nan  1.2s"
        );
    }

    #[test]
    fn plain_mode_prints_one_line_per_epoch() {
        let buf = Shared::default();
        let mut p = Progress::plain(Box::new(buf.clone()), 2);
        for e in 1..=2 {
            p.start_epoch(e);
            p.batch(1, 0.5, Some(0.8));
            p.end_epoch(&row(e));
        }
        p.message("restored the best weights (epoch 1)");
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("epoch 1/2  lr 0.001  loss 0.5000"));
        assert!(lines[1].starts_with("epoch 2/2  "));
        assert_eq!(lines[2], "restored the best weights (epoch 1)");
    }
}
