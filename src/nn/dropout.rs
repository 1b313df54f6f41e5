//! Inverted dropout, training only: each unit is kept with probability
//! 1 − rate and scaled by 1/(1 − rate), so inference needs no rescaling.
//!
//! Masks come from [`crate::rng`] — streams derived from
//! `derive(seed, &[step, layer_index])`, one per block of units, where
//! `seed` is the layer's own `seed=` or else the model's dropout stream —
//! drawn by [`crate::ops::dropout_mask`] on the tensor's device, never
//! from candle's generator (unseedable on CPU). The same step of the same
//! layer therefore always drops the same units, on every device.

use candle_core::{Device, Result, Tensor};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dropout {
    pub rate: f64,
    /// Position of the layer in the model, part of the mask's seed.
    pub index: usize,
}

impl Dropout {
    /// `seed` is the layer's dropout seed (its own `seed=`, else the model's
    /// dropout stream); `step` the training step.
    pub(crate) fn forward(&self, x: &Tensor, seed: u64, step: u64) -> Result<Tensor> {
        if self.rate <= 0.0 {
            return Ok(x.clone());
        }
        crate::ops::dropout(x, self.rate, self.step_seed(seed, step))
    }

    /// The mask for one step: 0 where dropped, 1/(1 − rate) where kept
    /// ([`crate::ops::dropout_mask`]), on the CPU.
    pub fn mask(&self, dims: &[usize], seed: u64, step: u64) -> Result<Tensor> {
        crate::ops::dropout_mask(dims, self.rate, self.step_seed(seed, step), &Device::Cpu)
    }

    /// The seed of this layer's mask at `step`.
    fn step_seed(&self, seed: u64, step: u64) -> u64 {
        crate::rng::derive(seed, &[step, self.index as u64])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn kept_units_are_scaled_and_the_rate_is_honoured() -> Result<()> {
        let d = Dropout {
            rate: 0.25,
            index: 3,
        };
        let x = Tensor::ones((200, 100), candle_core::DType::F32, &Device::Cpu)?;
        let y = d.forward(&x, 9, 0)?.flatten_all()?.to_vec1::<f32>()?;
        // Inverted scaling: kept units become 1/(1 − 0.25) = 4/3.
        assert!(y.iter().all(|&v| v == 0.0 || (v - 4.0 / 3.0).abs() < 1e-6));
        let dropped = y.iter().filter(|&&v| v == 0.0).count() as f64 / y.len() as f64;
        // 20,000 draws: the dropped share's standard error is 0.003.
        assert!((dropped - 0.25).abs() < 0.015, "dropped {dropped}");
        // The expected value is preserved.
        let mean = y.iter().sum::<f32>() / y.len() as f32;
        assert!((mean - 1.0).abs() < 0.03);
        Ok(())
    }

    #[test]
    fn masks_are_deterministic_per_step_and_layer() -> Result<()> {
        let d = Dropout {
            rate: 0.5,
            index: 1,
        };
        let m = |d: &Dropout, seed, step| -> Result<Vec<f32>> {
            d.mask(&[64], seed, step)?.to_vec1::<f32>()
        };
        assert_eq!(m(&d, 5, 7)?, m(&d, 5, 7)?);
        assert_ne!(m(&d, 5, 7)?, m(&d, 5, 8)?);
        assert_ne!(m(&d, 5, 7)?, m(&d, 6, 7)?);
        assert_ne!(
            m(&d, 5, 7)?,
            m(
                &Dropout {
                    rate: 0.5,
                    index: 2
                },
                5,
                7
            )?
        );
        Ok(())
    }
}
