//! Keras' Adagrad: the accumulator starts at `initial_accumulator` (Keras'
//! 0.1), a ← a + g², w ← w − lr·g/√(a + ε) (ε inside the root, as Keras 3).

use super::rule::Rule;
use candle_core::{Result, Tensor};

pub(crate) struct Adagrad {
    pub initial_accumulator: f64,
    pub epsilon: f64,
}

impl Rule for Adagrad {
    fn slots(&self) -> Vec<&'static str> {
        vec!["accumulator"]
    }

    fn init(&self, w: &Tensor) -> Result<Vec<Tensor>> {
        Ok(vec![w.ones_like()?.affine(self.initial_accumulator, 0.0)?])
    }

    fn update(
        &self,
        w: &Tensor,
        g: &Tensor,
        slots: &mut [Tensor],
        lr: f64,
        _t: u64,
    ) -> Result<Tensor> {
        let a = (&slots[0] + g.sqr()?)?;
        let step = g.affine(lr, 0.0)?.div(&(&a + self.epsilon)?.sqrt()?)?;
        slots[0] = a;
        w - step
    }
}
