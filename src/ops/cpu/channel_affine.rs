//! `y = (x − mean_c)·scale_c + shift_c` per channel in one pass: inference
//! batch normalisation without candle's three broadcast nodes (each of
//! which allocates and fills a whole tensor). Not differentiable; used
//! only for inputs that track no gradient.
//!
//! The per-element arithmetic is that of the broadcast ops it replaces, in
//! the same order and in f32, so results are bit-for-bit equal.

use candle_core::{Result, Storage, Tensor, bail};
use rayon::prelude::*;

/// Per-channel affine map of a contiguous f32 CPU tensor (N, C, …) with
/// channel vectors of C entries.
pub(crate) fn channel_affine(
    x: &Tensor,
    mean: &[f32],
    scale: &[f32],
    shift: &[f32],
) -> Result<Tensor> {
    if x.rank() < 2 {
        bail!("channel_affine: expected (N, C, …), got {:?}", x.dims());
    }
    let x = &x.contiguous()?;
    let dims = x.dims();
    let c = dims[1];
    if mean.len() != c || scale.len() != c || shift.len() != c {
        bail!("channel_affine: the channel vectors need {c} entries");
    }
    let inner: usize = dims[2..].iter().product();
    let (storage, layout) = x.storage_and_layout();
    let Storage::Cpu(s) = &*storage else {
        bail!("channel_affine: expected a CPU tensor");
    };
    let src = super::storage(s, layout)?;
    let mut y = vec![0f32; src.len()];
    if inner > 0 {
        y.par_chunks_mut(inner)
            .zip(src.par_chunks(inner))
            .enumerate()
            .for_each(|(plane, (y, x))| {
                let ch = plane % c;
                let (m, s, b) = (mean[ch], scale[ch], shift[ch]);
                for (y, &x) in y.iter_mut().zip(x) {
                    *y = (x - m) * s + b;
                }
            });
    }
    drop(storage);
    Tensor::from_vec(y, dims, x.device())
}
