//! Keras' Adam: m ← m + (1 − β1)(g − m), v ← v + (1 − β2)(g² − v),
//! lr_t = lr·√(1 − β2ᵗ)/(1 − β1ᵗ), w ← w − lr_t·m/(√v + ε).
//! (ε is added to √v without bias correction, unlike PyTorch's form.)

use super::rule::Rule;
use crate::ops::AdamStep;
use candle_core::{Result, Tensor, bail};

pub(crate) struct Adam {
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
        let [m, v] = slots else {
            bail!("adam: expected the slots m and v");
        };
        let step = AdamStep::keras(lr, self.beta1, self.beta2, self.epsilon, t);
        let (w, new_m, new_v) = crate::ops::adam_update(w, g, m, v, &step)?;
        (*m, *v) = (new_m, new_v);
        Ok(w)
    }
}
