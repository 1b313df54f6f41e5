//! Keras' RMSprop (not centred): s ← ρ·s + (1 − ρ)·g²,
//! Δ = lr·g/√(s + ε) (ε inside the root, as Keras 3); with momentum μ > 0,
//! b ← μ·b + Δ and w ← w − b, else w ← w − Δ.

use super::rule::Rule;
use candle_core::{Result, Tensor};

pub(crate) struct RmsProp {
    pub rho: f64,
    pub momentum: f64,
    pub epsilon: f64,
}

impl Rule for RmsProp {
    fn slots(&self) -> Vec<&'static str> {
        if self.momentum > 0.0 {
            vec!["velocity", "momentum"]
        } else {
            vec!["velocity"]
        }
    }

    fn init(&self, w: &Tensor) -> Result<Vec<Tensor>> {
        self.slots().iter().map(|_| w.zeros_like()).collect()
    }

    fn update(
        &self,
        w: &Tensor,
        g: &Tensor,
        slots: &mut [Tensor],
        lr: f64,
        _t: u64,
    ) -> Result<Tensor> {
        let s = (slots[0].affine(self.rho, 0.0)? + g.sqr()?.affine(1.0 - self.rho, 0.0)?)?;
        let increment = g.affine(lr, 0.0)?.div(&(&s + self.epsilon)?.sqrt()?)?;
        slots[0] = s;
        if self.momentum > 0.0 {
            let b = (slots[1].affine(self.momentum, 0.0)? + increment)?;
            let new = (w - &b)?;
            slots[1] = b;
            Ok(new)
        } else {
            w - increment
        }
    }
}
