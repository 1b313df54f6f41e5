//! Dropout masks drawn on the CPU in parallel blocks.

use candle_core::{Device, Result, Tensor};
use rand::RngExt;
use rayon::prelude::*;

/// Units per independently seeded block of a dropout mask.
pub(crate) const MASK_BLOCK: usize = 1 << 16;

/// The mask of `dims` for a layer's step seed `seed`: 0 where dropped,
/// 1/(1 − rate) where kept.
///
/// Drawn in blocks of [`MASK_BLOCK`] units, block `b` from the ChaCha8
/// stream `derive(seed, &[b])`, in parallel: the blocks depend on the
/// shape only, so the mask is the same whatever the thread count. A unit
/// is dropped when a 32-bit draw falls below `rate · 2³²`.
pub(crate) fn mask(dims: &[usize], rate: f64, seed: u64) -> Result<Tensor> {
    let n: usize = dims.iter().product();
    let (threshold, keep) = crate::ops::dropout_constants(rate);
    let mut values = vec![0f32; n];
    values
        .par_chunks_mut(MASK_BLOCK)
        .enumerate()
        .for_each(|(b, block)| {
            let mut rng = crate::rng::generator(crate::rng::derive(seed, &[b as u64]));
            for v in block {
                *v = if rng.random::<u32>() < threshold {
                    0.0
                } else {
                    keep
                };
            }
        });
    Tensor::from_vec(values, dims, &Device::Cpu)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_do_not_depend_on_the_thread_count() -> Result<()> {
        // Several blocks, the last one partial.
        let dims = [5, MASK_BLOCK / 2 + 7];
        let with = |threads: usize| -> Result<Vec<f32>> {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("thread pool");
            pool.install(|| mask(&dims, 0.3, 11)?.flatten_all()?.to_vec1::<f32>())
        };
        let one = with(1)?;
        assert_eq!(one, with(2)?);
        assert_eq!(one, with(5)?);
        // Blocks draw from different streams: no two equal halves.
        assert_ne!(one[..MASK_BLOCK], one[MASK_BLOCK..2 * MASK_BLOCK]);
        Ok(())
    }
}
