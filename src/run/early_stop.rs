//! Early stopping with Keras 3's `EarlyStopping` semantics.
//!
//! Each epoch the monitored value is compared with the best so far; it is
//! an improvement when it is strictly better than `best − min_delta` (for
//! `min`; `best + min_delta` for `max`). `wait` counts epochs since the last
//! improvement and training stops once `wait ≥ patience` (never at the
//! first epoch). With `restore_best` the runner restores the best epoch's
//! weights when training ends, stopped early or not (Keras 3).

use crate::plan::{EarlyStopPlan, Mode};
use serde::{Deserialize, Serialize};

/// A monitor that tracks the best value of one metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Best {
    pub mode: Mode,
    pub min_delta: f64,
    /// Best value so far (±∞ before the first epoch).
    pub value: f64,
    /// 1-based epoch of the best value; 0 before the first epoch.
    pub epoch: usize,
}

impl Best {
    pub(crate) fn new(mode: Mode, min_delta: f64) -> Best {
        let value = match mode {
            Mode::Min => f64::INFINITY,
            Mode::Max => f64::NEG_INFINITY,
        };
        Best {
            mode,
            min_delta: min_delta.abs(),
            value,
            epoch: 0,
        }
    }

    /// Whether `current` improves on the best by more than `min_delta`.
    pub(crate) fn is_improvement(&self, current: f64) -> bool {
        match self.mode {
            Mode::Min => current + self.min_delta < self.value,
            Mode::Max => current - self.min_delta > self.value,
        }
    }

    /// Records `current` for `epoch`; returns whether it improved.
    pub(crate) fn update(&mut self, epoch: usize, current: f64) -> bool {
        let improved = self.is_improvement(current);
        if improved {
            self.value = current;
            self.epoch = epoch;
        }
        improved
    }
}

/// What early stopping decided at the end of an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// The monitored value improved: this epoch is the new best.
    Improved,
    /// No improvement, keep training.
    Continue,
    /// No improvement for `patience` epochs: stop after this epoch.
    Stop,
}

/// Early-stopping state; serialisable so an interrupted run resumes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EarlyStopping {
    pub monitor: String,
    pub patience: usize,
    pub best: Best,
    /// Epochs since the last improvement.
    pub wait: usize,
    /// 1-based epoch at which training stopped, if it did.
    pub stopped_epoch: Option<usize>,
}

impl EarlyStopping {
    pub(crate) fn new(plan: &EarlyStopPlan) -> EarlyStopping {
        EarlyStopping {
            monitor: plan.monitor.clone(),
            patience: plan.patience,
            best: Best::new(plan.mode, plan.min_delta),
            wait: 0,
            stopped_epoch: None,
        }
    }

    /// Feeds the monitored value at the end of 1-based `epoch`.
    pub(crate) fn end_epoch(&mut self, epoch: usize, current: f64) -> Decision {
        self.wait += 1;
        if self.best.update(epoch, current) {
            self.wait = 0;
            return Decision::Improved;
        }
        if self.wait >= self.patience && epoch > 1 {
            self.stopped_epoch = Some(epoch);
            return Decision::Stop;
        }
        Decision::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Loc;

    fn plan(mode: Mode, min_delta: f64, patience: usize) -> EarlyStopPlan {
        EarlyStopPlan {
            monitor: "val_loss".into(),
            mode,
            min_delta,
            patience,
            restore_best: true,
            loc: Loc::default(),
        }
    }

    /// One row per epoch: (value, decision, wait after the epoch), in the
    /// style of Keras' own `test_early_stopping_*` tests.
    fn run_table(es: &mut EarlyStopping, rows: &[(f64, Decision, usize)]) {
        for (i, &(value, decision, wait)) in rows.iter().enumerate() {
            let epoch = i + 1;
            assert_eq!(es.end_epoch(epoch, value), decision, "epoch {epoch}");
            assert_eq!(es.wait, wait, "wait after epoch {epoch}");
        }
    }

    #[test]
    fn patience_two_min_delta_zero() {
        use Decision::*;
        let mut es = EarlyStopping::new(&plan(Mode::Min, 0.0, 2));
        run_table(
            &mut es,
            &[
                (1.0, Improved, 0),
                (0.8, Improved, 0),
                (0.8, Continue, 1),
                (0.9, Stop, 2),
            ],
        );
        assert_eq!(es.best.epoch, 2);
        assert_eq!(es.stopped_epoch, Some(4));
    }

    #[test]
    fn min_delta_requires_a_strictly_larger_gain() {
        use Decision::*;
        // best 1.0; 0.95 is not better than 1.0 − 0.05, 0.94 is.
        let mut es = EarlyStopping::new(&plan(Mode::Min, 0.05, 3));
        run_table(
            &mut es,
            &[
                (1.0, Improved, 0),
                (0.95, Continue, 1),
                (0.94, Improved, 0),
                (0.93, Continue, 1),
            ],
        );
        assert_eq!(es.best.value, 0.94);
    }

    #[test]
    fn max_mode_for_accuracy() {
        use Decision::*;
        let mut es = EarlyStopping::new(&plan(Mode::Max, 0.0, 1));
        run_table(
            &mut es,
            &[(0.5, Improved, 0), (0.6, Improved, 0), (0.6, Stop, 1)],
        );
        assert_eq!(es.best.epoch, 2);
    }

    #[test]
    fn patience_zero_never_stops_at_the_first_epoch() {
        use Decision::*;
        let mut es = EarlyStopping::new(&plan(Mode::Min, 0.0, 0));
        run_table(
            &mut es,
            &[(f64::NAN, Continue, 1), (1.0, Improved, 0), (1.0, Stop, 1)],
        );
    }
}
