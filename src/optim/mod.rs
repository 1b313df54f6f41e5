//! Optimizers and learning-rate schedules, one file each, with Keras 3's
//! update rules so that hyperparameters carry over from the book.
//!
//! Each rule file ([`sgd`], [`adam`], [`adamw`], [`rmsprop`], [`adagrad`])
//! holds only the per-variable arithmetic ([`rule::Rule`]); [`stepper`]
//! applies a rule to all variables, with the global-norm clipping, the
//! legacy inverse-time decay and the iteration count that every optimizer
//! shares, and exports the whole state for checkpoints.

pub(crate) mod adagrad;
pub(crate) mod adam;
pub(crate) mod adamw;
pub(crate) mod rmsprop;
pub(crate) mod rule;
pub(crate) mod schedule;
pub(crate) mod sgd;
pub(crate) mod stepper;

pub use schedule::Scheduler;
pub(crate) use stepper::Stepper;

use crate::error::Result;
use crate::plan::OptimizerPlan;
use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};
use std::collections::HashMap;

/// An optimizer over a fixed list of variables.
pub trait Optimizer: Send {
    /// One update of every variable that has a gradient in `grads`, at the
    /// schedule's learning rate `lr` (before the optimizer's own `decay`).
    fn step(&mut self, grads: &GradStore, lr: f64) -> Result<()>;
    /// Steps taken so far (Keras' `optimizer.iterations`).
    fn iterations(&self) -> u64;
    /// The learning rate the next step will use for a scheduled `lr`, after
    /// the legacy decay lr / (1 + decay·iterations).
    fn effective_lr(&self, lr: f64) -> f64;
    /// Everything needed to resume exactly: slot tensors by
    /// `variable/slot` name, plus `iterations`.
    fn state(&self) -> Result<Vec<(String, Tensor)>>;
    /// Restores a [`Optimizer::state`]; errors name missing or mis-shaped
    /// tensors and change nothing.
    fn load_state(&mut self, s: &HashMap<String, Tensor>) -> Result<()>;
}

/// The optimizer `plan` describes, over `vars` (the model's trainable
/// variables), wrapped with its `clip_norm` and `decay`.
pub fn build(plan: &OptimizerPlan, vars: Vec<(String, Var)>) -> Result<Box<dyn Optimizer>> {
    use crate::plan::Optimizer as P;
    let rule: Box<dyn rule::Rule> = match plan.kind {
        P::Sgd {
            momentum,
            nesterov,
            weight_decay,
            ..
        } => Box::new(sgd::Sgd {
            momentum,
            nesterov,
            weight_decay,
        }),
        P::Adam {
            beta1,
            beta2,
            epsilon,
            ..
        } => Box::new(adam::Adam {
            beta1,
            beta2,
            epsilon,
        }),
        P::AdamW {
            beta1,
            beta2,
            epsilon,
            weight_decay,
            ..
        } => Box::new(adamw::AdamW {
            adam: adam::Adam {
                beta1,
                beta2,
                epsilon,
            },
            weight_decay,
        }),
        P::RmsProp {
            rho,
            momentum,
            epsilon,
            ..
        } => Box::new(rmsprop::RmsProp {
            rho,
            momentum,
            epsilon,
        }),
        P::Adagrad {
            initial_accumulator,
            epsilon,
            ..
        } => Box::new(adagrad::Adagrad {
            initial_accumulator,
            epsilon,
        }),
    };
    Ok(Box::new(Stepper::new(
        rule,
        vars,
        plan.clip_norm,
        plan.decay,
    )?))
}
