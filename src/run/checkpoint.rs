//! The checkpoint rule (`checkpoint monitor=… best_only=…`).
//!
//! At the end of each epoch the rule says which weights file to write, the
//! way early stopping's [`Decision`](super::early_stop::Decision) says
//! whether to stop; the trainer carries the action out. Keeping the rule
//! free of I/O makes it a table test, and lets a resumed run carry its
//! state (the best value so far) across the cut.

use super::early_stop::Best;
use crate::plan::CheckpointPlan;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The weights file written after training epochs with a checkpoint.
pub(crate) const BEST_FILE: &str = "best.safetensors";
/// The weights file written after every epoch with `best_only=false`.
pub(crate) const LAST_FILE: &str = "last.safetensors";

/// What to save at the end of an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// The monitored value improved: write [`BEST_FILE`].
    SaveBest,
    /// `best_only=false`: write [`LAST_FILE`] after every epoch.
    SaveLast,
}

impl Action {
    /// The file the action writes, inside the run folder.
    pub(crate) fn file(self) -> &'static str {
        match self {
            Action::SaveBest => BEST_FILE,
            Action::SaveLast => LAST_FILE,
        }
    }
}

/// The rule's state; serialisable so an interrupted run resumes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointRule {
    pub monitor: String,
    pub best_only: bool,
    /// The best monitored value so far (min_delta 0, as Keras'
    /// `ModelCheckpoint(save_best_only=True)`).
    pub best: Best,
}

impl CheckpointRule {
    pub(crate) fn new(plan: &CheckpointPlan) -> CheckpointRule {
        CheckpointRule {
            monitor: plan.monitor.clone(),
            best_only: plan.best_only,
            best: Best::new(plan.mode, 0.0),
        }
    }

    /// Feeds the metrics of 1-based `epoch`; returns what to save, if
    /// anything. The best value is tracked in both modes, so the run can
    /// report the best epoch either way.
    pub(crate) fn end_epoch(
        &mut self,
        epoch: usize,
        values: &BTreeMap<String, f64>,
    ) -> Option<Action> {
        let improved = values
            .get(&self.monitor)
            .is_some_and(|&v| self.best.update(epoch, v));
        match (self.best_only, improved) {
            (true, true) => Some(Action::SaveBest),
            (true, false) => None,
            (false, _) => Some(Action::SaveLast),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Loc, Mode};

    fn rule(mode: Mode, best_only: bool) -> CheckpointRule {
        CheckpointRule::new(&CheckpointPlan {
            monitor: "val_loss".into(),
            mode,
            best_only,
            loc: Loc::default(),
        })
    }

    /// One row per epoch: (monitored value or none, action, best epoch after).
    fn run_table(r: &mut CheckpointRule, rows: &[(Option<f64>, Option<Action>, usize)]) {
        for (i, &(value, action, best)) in rows.iter().enumerate() {
            let epoch = i + 1;
            let values: BTreeMap<String, f64> = value
                .map(|v| ("val_loss".to_string(), v))
                .into_iter()
                .collect();
            assert_eq!(r.end_epoch(epoch, &values), action, "epoch {epoch}");
            assert_eq!(r.best.epoch, best, "best epoch after epoch {epoch}");
        }
    }

    #[test]
    fn best_only_saves_strict_improvements() {
        use Action::*;
        run_table(
            &mut rule(Mode::Min, true),
            &[
                (Some(1.0), Some(SaveBest), 1),
                (Some(0.7), Some(SaveBest), 2),
                // Equal is not better (Keras: `monitor_op(current, best)` is `<`).
                (Some(0.7), None, 2),
                (Some(0.9), None, 2),
                (Some(f64::NAN), None, 2),
                (None, None, 2),
                (Some(0.5), Some(SaveBest), 7),
            ],
        );
    }

    #[test]
    fn max_mode_for_accuracy_monitors() {
        use Action::*;
        run_table(
            &mut rule(Mode::Max, true),
            &[
                (Some(0.5), Some(SaveBest), 1),
                (Some(0.4), None, 1),
                (Some(0.6), Some(SaveBest), 3),
            ],
        );
    }

    #[test]
    fn every_epoch_saves_last_and_still_tracks_the_best() {
        use Action::*;
        run_table(
            &mut rule(Mode::Min, false),
            &[
                (Some(1.0), Some(SaveLast), 1),
                (Some(2.0), Some(SaveLast), 1),
                (Some(0.5), Some(SaveLast), 3),
            ],
        );
    }
}
