//! What every optimizer shares: the variable list, per-variable slots, the
//! iteration count, Keras' `global_clipnorm` and the legacy inverse-time
//! `decay`.
//!
//! One step: lr_eff = lr / (1 + decay·iterations) (iterations = steps taken
//! before this one, Keras 2's `decay`); if the global norm ‖g‖ = √(Σ‖gᵢ‖²)
//! exceeds `clip_norm`, every gradient is scaled by clip_norm/‖g‖ (Keras'
//! `clip_by_global_norm`); then the rule updates each variable that has a
//! gradient (Keras skips variables without one).

use super::Optimizer;
use super::rule::Rule;
use crate::error::{Error, Result};
use candle_core::backprop::GradStore;
use candle_core::{DType, Device, Tensor, Var};
use std::collections::HashMap;

pub(crate) struct Stepper {
    rule: Box<dyn Rule>,
    vars: Vec<(String, Var)>,
    slots: Vec<Vec<Tensor>>,
    iterations: u64,
    clip_norm: Option<f64>,
    decay: f64,
}

/// Keras 2's legacy decay: the rate of the step taken after `iterations`
/// steps, `lr / (1 + decay·iterations)`.
pub(crate) fn decayed(lr: f64, decay: f64, iterations: u64) -> f64 {
    lr / (1.0 + decay * iterations as f64)
}

impl Stepper {
    pub(crate) fn new(
        rule: Box<dyn Rule>,
        vars: Vec<(String, Var)>,
        clip_norm: Option<f64>,
        decay: f64,
    ) -> Result<Stepper> {
        let slots = vars
            .iter()
            .map(|(_, v)| rule.init(&v.as_detached_tensor()))
            .collect::<candle_core::Result<_>>()?;
        Ok(Stepper {
            rule,
            vars,
            slots,
            iterations: 0,
            clip_norm,
            decay,
        })
    }

    /// The gradients of the variables, detached, `None` where absent.
    fn gradients(&self, grads: &GradStore) -> Result<Vec<Option<Tensor>>> {
        let gs: Vec<Option<Tensor>> = self
            .vars
            .iter()
            .map(|(_, v)| grads.get(v.as_tensor()).map(|g| g.detach()))
            .collect();
        let Some(clip) = self.clip_norm else {
            return Ok(gs);
        };
        let mut sq = 0f64;
        for g in gs.iter().flatten() {
            sq += g
                .to_dtype(DType::F64)?
                .sqr()?
                .sum_all()?
                .to_scalar::<f64>()?;
        }
        let norm = sq.sqrt();
        if !norm.is_finite() || norm <= clip {
            return Ok(gs);
        }
        let scale = clip / norm;
        gs.into_iter()
            .map(|g| g.map(|g| g.affine(scale, 0.0)).transpose())
            .collect::<candle_core::Result<_>>()
            .map_err(Error::from)
    }
}

impl Optimizer for Stepper {
    fn step(&mut self, grads: &GradStore, lr: f64) -> Result<()> {
        let lr = self.effective_lr(lr);
        let t = self.iterations + 1;
        let gs = self.gradients(grads)?;
        for (((_, var), slots), g) in self.vars.iter().zip(&mut self.slots).zip(gs) {
            let Some(g) = g else { continue };
            let w = var.as_detached_tensor();
            let new = self.rule.update(&w, &g, slots, lr, t)?;
            var.set(&new)?;
        }
        self.iterations = t;
        Ok(())
    }

    fn iterations(&self) -> u64 {
        self.iterations
    }

    fn effective_lr(&self, lr: f64) -> f64 {
        decayed(lr, self.decay, self.iterations)
    }

    fn state(&self) -> Result<Vec<(String, Tensor)>> {
        let names = self.rule.slots();
        let mut out = Vec::new();
        for ((name, _), slots) in self.vars.iter().zip(&self.slots) {
            for (slot, t) in names.iter().zip(slots) {
                out.push((format!("{name}/{slot}"), t.copy()?));
            }
        }
        out.push((
            "iterations".to_string(),
            Tensor::new(self.iterations as f64, &Device::Cpu)?,
        ));
        Ok(out)
    }

    fn load_state(&mut self, s: &HashMap<String, Tensor>) -> Result<()> {
        let names = self.rule.slots();
        let mut problems = Vec::new();
        let mut loaded = Vec::with_capacity(self.vars.len());
        for (name, var) in &self.vars {
            let mut slots = Vec::with_capacity(names.len());
            for slot in &names {
                let key = format!("{name}/{slot}");
                match s.get(&key) {
                    None => problems.push(format!("missing tensor `{key}`")),
                    Some(t) if t.dims() != var.dims() => problems.push(format!(
                        "tensor `{key}` has shape {:?}, the variable has {:?}",
                        t.dims(),
                        var.dims()
                    )),
                    Some(t) => slots.push(t.to_dtype(var.dtype())?.to_device(var.device())?),
                }
            }
            loaded.push(slots);
        }
        let iterations = match s.get("iterations") {
            None => {
                problems.push("missing tensor `iterations`".to_string());
                0
            }
            Some(t) => {
                let v = t.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?;
                match v.as_slice() {
                    [x] if *x >= 0.0 && x.fract() == 0.0 => *x as u64,
                    _ => {
                        problems.push(format!("tensor `iterations` holds {v:?}, not a count"));
                        0
                    }
                }
            }
        };
        if !problems.is_empty() {
            return Err(Error::Runtime(format!(
                "optimizer state does not fit: {}",
                problems.join("; ")
            )));
        }
        self.slots = loaded;
        self.iterations = iterations;
        Ok(())
    }
}
