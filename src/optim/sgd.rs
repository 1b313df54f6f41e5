//! Keras' SGD: without momentum w ← w − lr·g; with momentum μ,
//! v ← μ·v − lr·g and w ← w + v, or with Nesterov w ← w + μ·v − lr·g
//! (using the new v). Keras keeps no velocity when μ = 0.
//!
//! `weight_decay` wd is Keras 3's decoupled decay: w ← w − lr·wd·w before
//! the step above, on every trainable variable. PyTorch's `SGD(weight_decay)`
//! is another rule (g ← g + wd·w, coupled, so it passes through the
//! momentum); the two agree only without momentum.

use super::rule::Rule;
use candle_core::{Result, Tensor};

pub(crate) struct Sgd {
    pub momentum: f64,
    pub nesterov: bool,
    pub weight_decay: f64,
}

impl Rule for Sgd {
    fn slots(&self) -> Vec<&'static str> {
        if self.momentum != 0.0 {
            vec!["momentum"]
        } else {
            Vec::new()
        }
    }

    fn init(&self, w: &Tensor) -> Result<Vec<Tensor>> {
        if self.momentum != 0.0 {
            Ok(vec![w.zeros_like()?])
        } else {
            Ok(Vec::new())
        }
    }

    fn update(
        &self,
        w: &Tensor,
        g: &Tensor,
        slots: &mut [Tensor],
        lr: f64,
        _t: u64,
    ) -> Result<Tensor> {
        let decayed;
        let w = if self.weight_decay != 0.0 {
            decayed = w.affine(1.0 - lr * self.weight_decay, 0.0)?;
            &decayed
        } else {
            w
        };
        let step = g.affine(-lr, 0.0)?;
        let Some(v) = slots.first_mut() else {
            return w + step;
        };
        *v = (v.affine(self.momentum, 0.0)? + &step)?;
        if self.nesterov {
            (w + v.affine(self.momentum, 0.0)?)? + step
        } else {
            w + &*v
        }
    }
}
