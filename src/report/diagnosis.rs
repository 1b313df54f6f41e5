//! The over/underfitting verdict and the learning-rate symptoms of a run,
//! written to `diagnosis.txt` (the workflow of the book's section 4.4).
//!
//! Human-level error stands in for the Bayes error: avoidable bias = train
//! error − human error, variance = validation error − train error. Both
//! within the tolerance is a good fit; otherwise the larger of the two
//! names the problem (underfitting on a tie: bias is fixed first, since a
//! model that cannot fit its training data says nothing about variance).
//! The train error comes from a clean pass over the train split (no
//! dropout, no augmentation), not from the running training average.

use crate::plan::DiagnosePlan;
use crate::records::history::History;
use std::fmt;

/// The tolerance when the pipeline has no `diagnose { tolerance=… }`.
pub(crate) const DEFAULT_TOLERANCE: f64 = 0.02;

/// Relative size of a validation-loss rise that counts as an oscillation
/// rather than noise (3 % of the typical validation loss).
const OSCILLATION_AMPLITUDE: f64 = 0.03;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    GoodFit,
    Underfitting,
    Overfitting,
}

impl Verdict {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Verdict::GoodFit => "good fit",
            Verdict::Underfitting => "underfitting",
            Verdict::Overfitting => "overfitting",
        }
    }

    /// The chapter's advice for this verdict.
    pub(crate) fn advice(self) -> &'static [&'static str] {
        match self {
            Verdict::Overfitting => &[
                "get more training data (this is the case where more data helps)",
                "regularise: L2 on the kernels (`l2=`), dropout (`dropout 0.3`), data augmentation (`augment { … }`)",
                "stop early (`early_stop monitor=val_loss patience=…`)",
                "a smaller model if none of the above closes the gap",
            ],
            Verdict::Underfitting => &[
                "a bigger model: more units, more layers",
                "train longer (more epochs)",
                "tune the learning rate (try 0.1, 0.01, 0.001, 1e-4, 1e-5) or another optimizer",
                "less regularisation: smaller `l2=`, lower dropout rates",
                "do not collect more data yet: it helps only when the model overfits",
            ],
            Verdict::GoodFit => &[
                "avoidable bias and variance are both within the tolerance",
                "to go further, tighten the tolerance or check the test error against the validation error",
            ],
        }
    }
}

/// A learning-rate symptom read from the curves.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Symptom {
    /// The training loss became NaN or infinite.
    NonFiniteLoss { epoch: usize },
    /// The training loss ended above where it started.
    LossRising {
        first: (usize, f64),
        last: (usize, f64),
    },
    /// The validation loss keeps changing direction by more than noise.
    ValLossOscillating { reversals: usize, steps: usize },
    /// The validation loss was still falling at the last epoch.
    StillImproving { epoch: usize },
}

impl fmt::Display for Symptom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Symptom::NonFiniteLoss { epoch } => write!(
                f,
                "training loss became non-finite at epoch {epoch}: training diverged; lower the learning rate (or clip gradients with `clip_norm=`)"
            ),
            Symptom::LossRising { first, last } => write!(
                f,
                "training loss rose from {:.4} (epoch {}) to {:.4} (epoch {}): divergence, the learning rate is too high",
                first.1, first.0, last.1, last.0
            ),
            Symptom::ValLossOscillating { reversals, steps } => write!(
                f,
                "validation loss changed direction {reversals} times in {steps} epochs: it oscillates, the learning rate is likely too high"
            ),
            Symptom::StillImproving { epoch } => write!(
                f,
                "validation loss was still falling at the last epoch ({epoch}): train for more epochs or raise the learning rate"
            ),
        }
    }
}

/// The diagnosis of one run; `Display` renders `diagnosis.txt`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Diagnosis {
    /// Error rates as fractions (0.05 = 5 %).
    pub train_error: f64,
    pub val_error: f64,
    /// `None` when the pipeline has no `diagnose` block: the train error
    /// itself is then the avoidable-bias proxy (a human error of 0).
    pub human_error: Option<f64>,
    pub tolerance: f64,
    pub avoidable_bias: f64,
    pub variance: f64,
    pub verdict: Verdict,
    pub symptoms: Vec<Symptom>,
    /// Misclassified samples and split sizes behind the two error rates,
    /// when known ([`Diagnosis::with_counts`]).
    pub counts: Option<Counts>,
}

/// The samples behind the error rates: (wrong, of) for each split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts {
    pub train: (usize, usize),
    pub val: (usize, usize),
}

/// The verdict of two error rates (see the module documentation).
fn verdict_of(
    train_error: f64,
    val_error: f64,
    human_error: Option<f64>,
    tolerance: f64,
) -> Verdict {
    let avoidable_bias = train_error - human_error.unwrap_or(0.0);
    let variance = val_error - train_error;
    if avoidable_bias <= tolerance && variance <= tolerance {
        Verdict::GoodFit
    } else if avoidable_bias >= variance {
        Verdict::Underfitting
    } else {
        Verdict::Overfitting
    }
}

impl Diagnosis {
    /// Diagnoses a run from its error rates (fractions) and its history.
    pub(crate) fn new(
        train_error: f64,
        val_error: f64,
        human_error: Option<f64>,
        tolerance: f64,
        history: &History,
    ) -> Diagnosis {
        let avoidable_bias = train_error - human_error.unwrap_or(0.0);
        let variance = val_error - train_error;
        let verdict = verdict_of(train_error, val_error, human_error, tolerance);
        Diagnosis {
            train_error,
            val_error,
            human_error,
            tolerance,
            avoidable_bias,
            variance,
            verdict,
            symptoms: symptoms(history),
            counts: None,
        }
    }

    /// The diagnosis with the sample counts behind its error rates: the
    /// text then says how many samples each rate is, and when one
    /// validation sample more or fewer wrong would change the verdict.
    pub(crate) fn with_counts(self, counts: Counts) -> Diagnosis {
        Diagnosis {
            counts: Some(counts),
            ..self
        }
    }

    /// Whether one validation sample more or fewer misclassified would
    /// give another verdict.
    pub(crate) fn one_sample_decides(&self) -> bool {
        let Some(Counts {
            val: (wrong, of), ..
        }) = self.counts
        else {
            return false;
        };
        if of == 0 {
            return false;
        }
        let at = |w: usize| {
            verdict_of(
                self.train_error,
                w as f64 / of as f64,
                self.human_error,
                self.tolerance,
            )
        };
        (wrong > 0 && at(wrong - 1) != self.verdict)
            || (wrong < of && at(wrong + 1) != self.verdict)
    }

    /// As [`Diagnosis::new`], with human error and tolerance from the
    /// pipeline's `diagnose` block, if any.
    pub(crate) fn from_plan(
        train_error: f64,
        val_error: f64,
        plan: Option<&DiagnosePlan>,
        history: &History,
    ) -> Diagnosis {
        match plan {
            Some(p) => Diagnosis::new(
                train_error,
                val_error,
                Some(p.human_error),
                p.tolerance,
                history,
            ),
            None => Diagnosis::new(train_error, val_error, None, DEFAULT_TOLERANCE, history),
        }
    }
}

/// Reads learning-rate symptoms from the training and validation losses.
pub(crate) fn symptoms(history: &History) -> Vec<Symptom> {
    let mut out = Vec::new();
    let loss = history.series("loss");
    if let Some(&(epoch, _)) = loss.iter().find(|(_, v)| !v.is_finite()) {
        out.push(Symptom::NonFiniteLoss { epoch });
    } else if let (Some(&first), Some(&last)) = (loss.first(), loss.last())
        && loss.len() >= 2
        && last.1 > first.1
    {
        out.push(Symptom::LossRising { first, last });
    }
    let val: Vec<(usize, f64)> = history
        .series("val_loss")
        .into_iter()
        .filter(|(_, v)| v.is_finite())
        .collect();
    if let Some(s) = oscillation(&val) {
        out.push(s);
    }
    if val.len() >= 2 {
        let (epoch, last) = val[val.len() - 1];
        let before = val[val.len() - 2].1;
        let min = val.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        if last < before && last <= min {
            out.push(Symptom::StillImproving { epoch });
        }
    }
    out
}

/// Oscillation: at least half of the consecutive steps reverse direction,
/// and the typical rise is above [`OSCILLATION_AMPLITUDE`] of the median
/// loss (so the noise of a converged run does not count). Needs 5 epochs.
fn oscillation(val: &[(usize, f64)]) -> Option<Symptom> {
    if val.len() < 5 {
        return None;
    }
    let diffs: Vec<f64> = val
        .windows(2)
        .map(|w| w[1].1 - w[0].1)
        .filter(|d| *d != 0.0)
        .collect();
    if diffs.len() < 4 {
        return None;
    }
    let reversals = diffs
        .windows(2)
        .filter(|w| (w[0] > 0.0) != (w[1] > 0.0))
        .count();
    let rises: Vec<f64> = diffs.iter().copied().filter(|d| *d > 0.0).collect();
    let mut sorted: Vec<f64> = val.iter().map(|p| p.1).collect();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2].abs();
    let mean_rise = rises.iter().sum::<f64>() / rises.len().max(1) as f64;
    (2 * reversals >= diffs.len() - 1 && mean_rise > OSCILLATION_AMPLITUDE * median).then_some(
        Symptom::ValLossOscillating {
            reversals,
            steps: val.len(),
        },
    )
}

fn pct(x: f64) -> String {
    format!("{:.2} %", x * 100.0)
}

impl fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "train error        {:>8}  (clean pass over the train split)",
            pct(self.train_error)
        )?;
        writeln!(f, "validation error   {:>8}", pct(self.val_error))?;
        match self.human_error {
            Some(h) => {
                writeln!(
                    f,
                    "human-level error  {:>8}  (proxy for the Bayes error)",
                    pct(h)
                )?;
                writeln!(
                    f,
                    "avoidable bias     {:>8}  = train error - human-level error",
                    pct(self.avoidable_bias)
                )?;
            }
            None => {
                writeln!(
                    f,
                    "human-level error        -  (no `diagnose {{ human_error … }}` in the pipeline)"
                )?;
                writeln!(
                    f,
                    "avoidable bias     {:>8}  = train error, standing in for the avoidable bias (human error taken as 0)",
                    pct(self.avoidable_bias)
                )?;
            }
        }
        writeln!(
            f,
            "variance           {:>8}  = validation error - train error",
            pct(self.variance)
        )?;
        writeln!(f, "tolerance          {:>8}", pct(self.tolerance))?;
        if let Some(Counts { train, val }) = self.counts {
            writeln!(
                f,
                "samples            {} of {} train and {} of {} validation samples misclassified; one validation sample is {}",
                train.0,
                train.1,
                val.0,
                val.1,
                pct(1.0 / val.1.max(1) as f64)
            )?;
        }
        writeln!(f)?;
        let why = match self.verdict {
            Verdict::GoodFit => format!(
                "avoidable bias ({}) and variance ({}) are both within the tolerance ({})",
                pct(self.avoidable_bias),
                pct(self.variance),
                pct(self.tolerance)
            ),
            Verdict::Underfitting => format!(
                "avoidable bias ({}) is above the tolerance ({}) and at least the variance ({})",
                pct(self.avoidable_bias),
                pct(self.tolerance),
                pct(self.variance)
            ),
            Verdict::Overfitting => format!(
                "variance ({}) is above the tolerance ({}) and larger than the avoidable bias ({})",
                pct(self.variance),
                pct(self.tolerance),
                pct(self.avoidable_bias)
            ),
        };
        writeln!(f, "verdict: {}: {why}", self.verdict.as_str())?;
        if self.one_sample_decides()
            && let Some(Counts { val, .. }) = self.counts
        {
            writeln!(
                f,
                "note: one validation sample decides this verdict: with {} of {} wrong instead of {} it would differ; a larger validation split (or --seeds) says more",
                if val.0 > 0
                    && verdict_of(
                        self.train_error,
                        (val.0 - 1) as f64 / val.1 as f64,
                        self.human_error,
                        self.tolerance
                    ) != self.verdict
                {
                    val.0 - 1
                } else {
                    val.0 + 1
                },
                val.1,
                val.0
            )?;
        }
        writeln!(f)?;
        writeln!(f, "what to try:")?;
        for a in self.verdict.advice() {
            writeln!(f, "  - {a}")?;
        }
        writeln!(f)?;
        writeln!(f, "learning rate (read from the curves):")?;
        if self.symptoms.is_empty() {
            writeln!(
                f,
                "  - no sign of a learning rate that is too high or too low"
            )?;
        }
        for s in &self.symptoms {
            writeln!(f, "  - {s}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::history::EpochRow;

    /// 2 of 20 validation samples wrong (10 %) against 3 of 60 train (5 %):
    /// variance 5 % is above the 2 % tolerance, overfitting; with 1 wrong
    /// (5 %) the variance would be 0 and the fit good.
    #[test]
    fn counts_and_one_sample_deciding() {
        let d = Diagnosis::new(0.05, 0.10, Some(0.05), 0.02, &History::new()).with_counts(Counts {
            train: (3, 60),
            val: (2, 20),
        });
        assert_eq!(d.verdict, Verdict::Overfitting);
        assert!(d.one_sample_decides());
        let text = d.to_string();
        assert!(text.contains("\nsamples            3 of 60 train and 2 of 20 validation samples misclassified; one validation sample is 5.00 %\n"), "{text}");
        assert!(text.contains("\nnote: one validation sample decides this verdict: with 1 of 20 wrong instead of 2 it would differ;"), "{text}");
        // 20 of 200: one sample is 0.5 %, and 19 or 21 wrong still overfit.
        let big =
            Diagnosis::new(0.05, 0.10, Some(0.05), 0.02, &History::new()).with_counts(Counts {
                train: (30, 600),
                val: (20, 200),
            });
        assert!(!big.one_sample_decides());
        assert!(!big.to_string().contains("note: one validation sample"));
    }

    fn history(loss: &[f64], val_loss: &[f64]) -> History {
        let mut h = History::new();
        for e in 0..loss.len().max(val_loss.len()) {
            let mut values = std::collections::BTreeMap::new();
            if let Some(v) = loss.get(e) {
                values.insert("loss".to_string(), *v);
            }
            if let Some(v) = val_loss.get(e) {
                values.insert("val_loss".to_string(), *v);
            }
            h.push(EpochRow {
                epoch: e + 1,
                lr: 0.01,
                values,
            });
        }
        h
    }

    /// The chapter's section 4.4 examples (tolerance 2 %):
    /// train 1 % / val 10 % overfits; train 14 % / val 15 % underfits;
    /// with human error 0.5 %, a 95 %-accurate model (5 % error on train
    /// and validation) underfits; with human error 5 % the same model is good.
    #[test]
    fn verdict_table() {
        let h = History::new();
        // (train error, validation error, human error, verdict, bias, variance)
        type Case = (f64, f64, Option<f64>, Verdict, f64, f64);
        let table: &[Case] = &[
            (0.01, 0.10, None, Verdict::Overfitting, 0.01, 0.09),
            (0.14, 0.15, None, Verdict::Underfitting, 0.14, 0.01),
            (0.05, 0.05, Some(0.005), Verdict::Underfitting, 0.045, 0.0),
            (0.05, 0.05, Some(0.05), Verdict::GoodFit, 0.0, 0.0),
            (0.01, 0.02, None, Verdict::GoodFit, 0.01, 0.01),
            // Both above the tolerance: the larger names the verdict.
            (0.10, 0.25, Some(0.0), Verdict::Overfitting, 0.10, 0.15),
            (0.15, 0.25, Some(0.0), Verdict::Underfitting, 0.15, 0.10),
        ];
        for &(train, val, human, verdict, bias, variance) in table {
            let d = Diagnosis::new(train, val, human, DEFAULT_TOLERANCE, &h);
            assert_eq!(
                d.verdict, verdict,
                "train {train} val {val} human {human:?}"
            );
            assert!((d.avoidable_bias - bias).abs() < 1e-12);
            assert!((d.variance - variance).abs() < 1e-12);
        }
    }

    #[test]
    fn symptom_table() {
        let nan = f64::NAN;
        let table: &[(&[f64], &[f64], Vec<Symptom>)] = &[
            // Healthy: both fall, then the validation loss turns up (stopped early).
            (&[1.0, 0.8, 0.6, 0.5], &[1.0, 0.9, 0.85, 0.9], vec![]),
            // Still falling at the end.
            (
                &[1.0, 0.8, 0.6],
                &[1.0, 0.9, 0.8],
                vec![Symptom::StillImproving { epoch: 3 }],
            ),
            // Loss up from the start.
            (
                &[1.0, 1.5, 3.0],
                &[1.0, 1.2, 1.4],
                vec![Symptom::LossRising {
                    first: (1, 1.0),
                    last: (3, 3.0),
                }],
            ),
            (
                &[1.0, 5.0, nan],
                &[],
                vec![Symptom::NonFiniteLoss { epoch: 3 }],
            ),
            // Zig-zag by 20 % of the loss each epoch.
            (
                &[1.0, 0.9, 0.8, 0.7, 0.6, 0.5],
                &[1.0, 0.8, 1.0, 0.8, 1.0, 0.9],
                vec![Symptom::ValLossOscillating {
                    reversals: 4,
                    steps: 6,
                }],
            ),
            // The same zig-zag at 0.1 % amplitude is noise, not oscillation.
            (
                &[1.0, 0.9, 0.8, 0.7, 0.6, 0.5],
                &[0.500, 0.499, 0.500, 0.499, 0.500, 0.4995],
                vec![],
            ),
        ];
        for (loss, val, want) in table {
            assert_eq!(
                &symptoms(&history(loss, val)),
                want,
                "loss {loss:?} val {val:?}"
            );
        }
    }

    #[test]
    fn text_names_the_proxy_and_the_advice() {
        let d = Diagnosis::new(0.14, 0.15, None, DEFAULT_TOLERANCE, &History::new());
        assert_eq!(
            d.to_string(),
            "train error         14.00 %  (clean pass over the train split)
validation error    15.00 %
human-level error        -  (no `diagnose { human_error … }` in the pipeline)
avoidable bias      14.00 %  = train error, standing in for the avoidable bias (human error taken as 0)
variance             1.00 %  = validation error - train error
tolerance            2.00 %

verdict: underfitting: avoidable bias (14.00 %) is above the tolerance (2.00 %) and at least the variance (1.00 %)

what to try:
  - a bigger model: more units, more layers
  - train longer (more epochs)
  - tune the learning rate (try 0.1, 0.01, 0.001, 1e-4, 1e-5) or another optimizer
  - less regularisation: smaller `l2=`, lower dropout rates
  - do not collect more data yet: it helps only when the model overfits

learning rate (read from the curves):
  - no sign of a learning rate that is too high or too low
"
        );
        let h = history(&[1.0, 0.5, 0.2], &[1.0, 0.9, 0.8]);
        let d = Diagnosis::new(0.01, 0.10, Some(0.005), DEFAULT_TOLERANCE, &h);
        let text = d.to_string();
        assert!(
            text.contains("human-level error    0.50 %  (proxy for the Bayes error)"),
            "{text}"
        );
        assert!(
            text.contains("avoidable bias       0.50 %  = train error - human-level error"),
            "{text}"
        );
        assert!(text.contains("verdict: overfitting: variance (9.00 %) is above the tolerance (2.00 %) and larger than the avoidable bias (0.50 %)"), "{text}");
        assert!(text.contains("  - get more training data"), "{text}");
        assert!(text.contains("  - validation loss was still falling at the last epoch (3): train for more epochs or raise the learning rate"), "{text}");
    }
}
