//! Learning-rate schedules, one file each, per 0-based epoch, and the
//! [`Scheduler`] that combines the plan's schedule with its warm-up.

pub(crate) mod cosine;
pub(crate) mod exponential;
pub(crate) mod linear;
pub(crate) mod milestones;
pub(crate) mod plateau;
pub(crate) mod step;
pub(crate) mod warmup;

use crate::error::{Error, Result};
use crate::plan::{Schedule, SchedulePlan};
use plateau::Plateau;
use std::collections::BTreeMap;

/// The learning rate of each epoch. Warm-up takes the first `warmup`
/// epochs (a linear ramp, or the constant `warmup_lr`); the schedule then
/// counts epochs from 0, and cosine/linear span the remaining
/// `epochs − warmup`; milestones count from the first epoch of training,
/// warm-up included, as He et al.'s iteration counts do.
#[derive(Debug, Clone)]
pub struct Scheduler {
    plan: SchedulePlan,
    base_lr: f64,
    /// Epochs after warm-up: the span of cosine and linear.
    span: usize,
    plateau: Option<(String, Plateau)>,
}

impl Scheduler {
    pub fn new(plan: &SchedulePlan, base_lr: f64, epochs: usize) -> Self {
        let plateau = match &plan.kind {
            Schedule::Plateau {
                monitor,
                mode,
                factor,
                patience,
                min_delta,
                min_lr,
            } => Some((
                monitor.clone(),
                Plateau::new(base_lr, *mode, *factor, *patience, *min_delta, *min_lr),
            )),
            _ => None,
        };
        Scheduler {
            plan: plan.clone(),
            base_lr,
            span: epochs.saturating_sub(plan.warmup).max(1),
            plateau,
        }
    }

    /// The learning rate for 0-based `epoch`.
    pub fn lr(&self, epoch: usize) -> f64 {
        let lr0 = self.base_lr;
        if let Some(lr) = warmup::lr(lr0, epoch, self.plan.warmup) {
            return self.plan.warmup_lr.unwrap_or(lr);
        }
        let e = epoch - self.plan.warmup;
        match &self.plan.kind {
            Schedule::Constant => lr0,
            Schedule::Step { every, factor } => step::lr(lr0, e, *every, *factor),
            Schedule::Milestones { at, factor } => milestones::lr(lr0, epoch, at, *factor),
            Schedule::Exponential { every, factor } => exponential::lr(lr0, e, *every, *factor),
            Schedule::Cosine { min } => cosine::lr(lr0, e, self.span, *min),
            Schedule::Linear { to } => linear::lr(lr0, e, self.span, *to),
            Schedule::Plateau { .. } => self.plateau.as_ref().map_or(lr0, |(_, p)| p.lr),
        }
    }

    /// Records the end of `epoch` with its metrics (only the plateau
    /// schedule reads them; warm-up epochs are not observed).
    pub fn end_epoch(&mut self, epoch: usize, metrics: &BTreeMap<String, f64>) {
        if epoch < self.plan.warmup {
            return;
        }
        if let Some((monitor, p)) = &mut self.plateau
            && let Some(v) = metrics.get(monitor.as_str())
        {
            p.observe(*v);
        }
    }

    /// The mutable state, for checkpoints: `[lr, best, wait]` for the
    /// plateau schedule, empty for the others (they are pure functions of
    /// the epoch).
    pub fn state(&self) -> Vec<f64> {
        match &self.plateau {
            Some((_, p)) => vec![p.lr, p.best, p.wait as f64],
            None => Vec::new(),
        }
    }

    pub fn load_state(&mut self, s: &[f64]) -> Result<()> {
        match (&mut self.plateau, s) {
            (Some((_, p)), [lr, best, wait]) if wait.fract() == 0.0 && *wait >= 0.0 => {
                p.lr = *lr;
                p.best = *best;
                p.wait = *wait as usize;
                Ok(())
            }
            (None, []) => Ok(()),
            _ => Err(Error::Runtime(format!(
                "schedule state {s:?} does not fit the {} schedule",
                match self.plan.kind {
                    Schedule::Plateau { .. } => "plateau (needs [lr, best, wait])",
                    _ => "stateless",
                }
            ))),
        }
    }
}
