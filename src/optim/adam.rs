//! Keras' Adam: m ← m + (1 − β1)(g − m), v ← v + (1 − β2)(g² − v),
//! lr_t = lr·√(1 − β2ᵗ)/(1 − β1ᵗ), w ← w − lr_t·m/(√v + ε).
//! (ε is added to √v without bias correction, unlike PyTorch's form.)

use super::rule::Rule;
use candle_core::{Result, Tensor};

pub struct Adam {
    pub beta1: f64,
    pub beta2: f64,
    pub epsilon: f64,
}

impl Rule for Adam {
    fn slots(&self) -> Vec<&'static str> {
        vec!["m", "v"]
    }

    fn init(&self, w: &Tensor) -> Result<Vec<Tensor>> {
        Ok(vec![w.zeros_like()?, w.zeros_like()?])
    }

    fn update(
        &self,
        w: &Tensor,
        g: &Tensor,
        slots: &mut [Tensor],
        lr: f64,
        t: u64,
    ) -> Result<Tensor> {
        let t = t as f64;
        let alpha = lr * (1.0 - self.beta2.powf(t)).sqrt() / (1.0 - self.beta1.powf(t));
        let m = (slots[0].affine(self.beta1, 0.0)? + g.affine(1.0 - self.beta1, 0.0)?)?;
        let v = (slots[1].affine(self.beta2, 0.0)? + g.sqr()?.affine(1.0 - self.beta2, 0.0)?)?;
        let step = m.div(&(v.sqrt()? + self.epsilon)?)?.affine(alpha, 0.0)?;
        slots[0] = m;
        slots[1] = v;
        w - step
    }
}
