//! Keras' SGD: without momentum w ← w − lr·g; with momentum μ,
//! v ← μ·v − lr·g and w ← w + v, or with Nesterov w ← w + μ·v − lr·g
//! (using the new v). Keras keeps no velocity when μ = 0.

use super::rule::Rule;
use candle_core::{Result, Tensor};

pub(crate) struct Sgd {
    pub momentum: f64,
    pub nesterov: bool,
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
