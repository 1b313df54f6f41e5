//! ReLU as a custom op whose backward is one pass (`dy` where `y > 0`).
//! candle's own ReLU backward builds a comparison, a dtype cast and a
//! product, three full-size tensors. The gradient at exactly 0 is 0, as in
//! PyTorch and TensorFlow (candle's passes it through).

use super::storage;
use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

/// Elements per rayon task.
const GRAIN: usize = 1 << 14;

/// Differentiable ReLU of a CPU f32 tensor.
pub(crate) fn relu(x: &Tensor) -> Result<Tensor> {
    x.contiguous()?.apply_op1(Relu)
}

struct Relu;

impl CustomOp1 for Relu {
    fn name(&self) -> &'static str {
        "dlp-relu"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = storage(s, l)?;
        let mut y = vec![0f32; x.len()];
        y.par_chunks_mut(GRAIN)
            .zip(x.par_chunks(GRAIN))
            .for_each(|(o, i)| {
                for (o, &v) in o.iter_mut().zip(i) {
                    *o = v.max(0.0);
                }
            });
        Ok((CpuStorage::F32(y), l.shape().clone()))
    }

    fn bwd(&self, _x: &Tensor, y: &Tensor, dy: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(relu_grad(y, dy)?))
    }
}

/// `dy` where the ReLU's output `y` is positive, else 0 (no autograd).
pub(crate) fn relu_grad(y: &Tensor, dy: &Tensor) -> Result<Tensor> {
    y.apply_op2_no_bwd(&dy.contiguous()?, &ReluGrad)
}

/// Operands (y, dy) → dy where y > 0, else 0.
struct ReluGrad;

impl CustomOp2 for ReluGrad {
    fn name(&self) -> &'static str {
        "dlp-relu-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (y, dy) = (storage(s1, l1)?, storage(s2, l2)?);
        let mut dx = vec![0f32; y.len()];
        dx.par_chunks_mut(GRAIN)
            .zip(y.par_chunks(GRAIN).zip(dy.par_chunks(GRAIN)))
            .for_each(|(o, (y, d))| {
                for (o, (&y, &d)) in o.iter_mut().zip(y.iter().zip(d)) {
                    *o = if y > 0.0 { d } else { 0.0 };
                }
            });
        Ok((CpuStorage::F32(dx), l1.shape().clone()))
    }
}
