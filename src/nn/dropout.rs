//! Inverted dropout, training only: each unit is kept with probability
//! 1 − rate and scaled by 1/(1 − rate), so inference needs no rescaling.
//!
//! Masks come from [`crate::rng`] — streams derived from
//! `derive(seed, &[step, layer_index])`, one per block of units, where
//! `seed` is the layer's own `seed=` or else the model's dropout stream —
//! drawn on the CPU and moved to the device, never from candle's generator
//! (unseedable on CPU). The same step of the same layer therefore always
//! drops the same units.

use candle_core::{Result, Tensor};
use rand::RngExt;
use rayon::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dropout {
    pub rate: f64,
    /// Position of the layer in the model, part of the mask's seed.
    pub index: usize,
}

impl Dropout {
    /// `seed` is the layer's dropout seed (its own `seed=`, else the model's
    /// dropout stream); `step` the training step.
    pub fn forward(&self, x: &Tensor, seed: u64, step: u64) -> Result<Tensor> {
        if self.rate <= 0.0 {
            return Ok(x.clone());
        }
        let mask = self.mask(x.dims(), seed, step)?.to_device(x.device())?;
        crate::ops::mask_mul(x, &mask.to_dtype(x.dtype())?)
    }

    /// The mask for one step: 0 where dropped, 1/(1 − rate) where kept.
    ///
    /// Drawn in blocks of [`MASK_BLOCK`] units, block `b` from the stream
    /// `derive(seed, &[step, layer, b])`, in parallel: the blocks depend on
    /// the shape only, so the mask is the same whatever the thread count.
    /// A unit is dropped when a 32-bit draw falls below `rate · 2³²`.
    pub fn mask(&self, dims: &[usize], seed: u64, step: u64) -> Result<Tensor> {
        let n: usize = dims.iter().product();
        let keep = if self.rate >= 1.0 {
            0.0
        } else {
            (1.0 / (1.0 - self.rate)) as f32
        };
        // At rate 1 the threshold saturates at u32::MAX: the one draw not
        // below it still gets `keep`, which is 0 then.
        let threshold = (self.rate * 2f64.powi(32)).min(u32::MAX as f64) as u32;
        let base = crate::rng::derive(seed, &[step, self.index as u64]);
        let mut values = vec![0f32; n];
        values
            .par_chunks_mut(MASK_BLOCK)
            .enumerate()
            .for_each(|(b, block)| {
                let mut rng = crate::rng::generator(crate::rng::derive(base, &[b as u64]));
                for v in block {
                    *v = if rng.random::<u32>() < threshold {
                        0.0
                    } else {
                        keep
                    };
                }
            });
        Tensor::from_vec(values, dims, &candle_core::Device::Cpu)
    }
}

/// Units per independently seeded block of a dropout mask.
const MASK_BLOCK: usize = 1 << 16;

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

    #[test]
    fn masks_do_not_depend_on_the_thread_count() -> Result<()> {
        let d = Dropout {
            rate: 0.3,
            index: 4,
        };
        // Several blocks, the last one partial.
        let dims = [5, MASK_BLOCK / 2 + 7];
        let with = |threads: usize| -> Result<Vec<f32>> {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("thread pool");
            pool.install(|| d.mask(&dims, 11, 2)?.flatten_all()?.to_vec1::<f32>())
        };
        let one = with(1)?;
        assert_eq!(one, with(2)?);
        assert_eq!(one, with(5)?);
        // Blocks draw from different streams: no two equal halves.
        assert_ne!(one[..MASK_BLOCK], one[MASK_BLOCK..2 * MASK_BLOCK]);
        Ok(())
    }
}
