//! Keras' AdamW: the decoupled decay w ← w − lr·wd·w, applied to every
//! trainable variable (Keras excludes none by default) before the Adam
//! step with the same learning rate.

use super::adam::Adam;
use super::rule::Rule;
use candle_core::{Result, Tensor};

pub(crate) struct AdamW {
    pub adam: Adam,
    pub weight_decay: f64,
}

impl Rule for AdamW {
    fn slots(&self) -> Vec<&'static str> {
        self.adam.slots()
    }

    fn init(&self, w: &Tensor) -> Result<Vec<Tensor>> {
        self.adam.init(w)
    }

    fn update(
        &self,
        w: &Tensor,
        g: &Tensor,
        slots: &mut [Tensor],
        lr: f64,
        t: u64,
    ) -> Result<Tensor> {
        let decayed = w.affine(1.0 - lr * self.weight_decay, 0.0)?;
        self.adam.update(&decayed, g, slots, lr, t)
    }
}
