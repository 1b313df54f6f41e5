//! `x · mask` for a constant mask (dropout) as a custom op whose backward
//! gives only x its gradient. candle's `mul` backward also computes the
//! mask's gradient (`dy · x`, plus a zero-filled accumulator and an add:
//! three full-size tensors per dropout layer and step) although nothing
//! reads it. Forward and x's gradient are the same f32 products as
//! candle's, so results are bit-for-bit unchanged.

use super::storage;
use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor, bail};
use rayon::prelude::*;

/// Elements per rayon task.
const GRAIN: usize = 1 << 14;

/// `x · mask` of CPU f32 tensors of one shape, differentiable in `x` only.
pub(crate) fn mask_mul(x: &Tensor, mask: &Tensor) -> Result<Tensor> {
    if x.dims() != mask.dims() {
        bail!(
            "mask_mul: mask shape {:?} differs from input {:?}",
            mask.dims(),
            x.dims()
        );
    }
    x.contiguous()?.apply_op2(&mask.contiguous()?, MaskMul)
}

struct MaskMul;

impl CustomOp2 for MaskMul {
    fn name(&self) -> &'static str {
        "dlp-mask-mul"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (x, m) = (storage(s1, l1)?, storage(s2, l2)?);
        let mut y = vec![0f32; x.len()];
        y.par_chunks_mut(GRAIN)
            .zip(x.par_chunks(GRAIN).zip(m.par_chunks(GRAIN)))
            .for_each(|(o, (x, m))| {
                for (o, (&x, &m)) in o.iter_mut().zip(x.iter().zip(m)) {
                    *o = x * m;
                }
            });
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    fn bwd(
        &self,
        _x: &Tensor,
        mask: &Tensor,
        _y: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        Ok((Some(dy.mul(mask)?), None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn matches_candle_mul_and_leaves_the_mask_without_gradient() -> Result<()> {
        // Reference: candle's own `x.mul(mask)` and its gradient dy·mask.
        let dev = Device::Cpu;
        let n = 3 * 5 * 7;
        let xs: Vec<f32> = (0..n)
            .map(|i| ((i * 13 % 17) as f32 - 8.0) * 0.37)
            .collect();
        let ms: Vec<f32> = (0..n)
            .map(|i| if i % 3 == 0 { 0.0 } else { 1.25 })
            .collect();
        let cs: Vec<f32> = (0..n).map(|i| ((i * 7 % 11) as f32 - 5.0) * 0.21).collect();
        let mask = Tensor::from_vec(ms, (3, 5, 7), &dev)?;
        let c = Tensor::from_vec(cs, (3, 5, 7), &dev)?;
        let run = |fused: bool| -> Result<(Vec<f32>, Vec<f32>, bool)> {
            let x = Var::from_tensor(&Tensor::from_vec(xs.clone(), (3, 5, 7), &dev)?)?;
            let y = if fused {
                mask_mul(x.as_tensor(), &mask)?
            } else {
                x.as_tensor().mul(&mask)?
            };
            let g = (&y * &c)?.sum_all()?.backward()?;
            let dx = g
                .get(x.as_tensor())
                .ok_or_else(|| candle_core::Error::Msg("no gradient for x".into()))?;
            Ok((
                y.flatten_all()?.to_vec1()?,
                dx.flatten_all()?.to_vec1()?,
                g.get(&mask).is_some(),
            ))
        };
        let (fused, plain) = (run(true)?, run(false)?);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&fused.0), bits(&plain.0), "forward");
        assert_eq!(bits(&fused.1), bits(&plain.1), "gradient");
        assert!(plain.2, "candle's mul computes the mask's gradient");
        assert!(!fused.2, "the fused op does not");
        assert!(mask_mul(&c, &mask.reshape((5, 3, 7))?).is_err());
        Ok(())
    }
}
