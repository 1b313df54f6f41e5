//! Element-wise CUDA ops: ReLU, the dropout multiply and mask, inference
//! batch norm's per-channel affine map, and the Adam update.

use super::{Kernel, alloc, cuda_only, elementwise, run, storage, view};
use crate::ops::AdamStep;
use candle_core::cuda_backend::cudarc::driver::{CudaView, PushKernelArg};
use candle_core::cuda_backend::{CudaDevice, CudaStorage};
use candle_core::{
    CpuStorage, CustomOp1, CustomOp2, CustomOp3, DType, Device, Layout, Result, Shape, Tensor, bail,
};

/// Runs `kernel(operands…, out, len)` of `dlp.cu`, one thread per element
/// of the operands (all of `shape`), and returns `out`.
fn map(
    dev: &CudaDevice,
    kernel: &str,
    operands: &[CudaView<'_, f32>],
    shape: &Shape,
) -> Result<(CudaStorage, Shape)> {
    let n = shape.elem_count();
    let mut out = alloc(dev, n)?;
    let (k, len) = (Kernel::new(dev, kernel)?, n as u64);
    let mut args = k.args();
    for x in operands {
        args.arg(x);
    }
    args.arg(&mut out).arg(&len);
    run(args, elementwise(n))?;
    Ok((storage(out, dev), shape.clone()))
}

/// ReLU, gradient 0 at 0 as on the CPU.
pub(crate) fn relu(x: &Tensor) -> Result<Tensor> {
    x.contiguous()?.apply_op1(Relu)
}

struct Relu;

impl CustomOp1 for Relu {
    fn name(&self) -> &'static str {
        "dlp-cuda-relu"
    }

    fn cpu_fwd(&self, _: &CpuStorage, _: &Layout) -> Result<(CpuStorage, Shape)> {
        cuda_only(self.name())
    }

    fn cuda_fwd(&self, s: &CudaStorage, l: &Layout) -> Result<(CudaStorage, Shape)> {
        map(&s.device, "relu_fwd", &[view(s, l)?], l.shape())
    }

    fn bwd(&self, _x: &Tensor, y: &Tensor, dy: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(relu_grad(y, dy)?))
    }
}

/// dy where the ReLU's output `y` is positive, else 0.
pub(crate) fn relu_grad(y: &Tensor, dy: &Tensor) -> Result<Tensor> {
    y.contiguous()?
        .apply_op2_no_bwd(&dy.contiguous()?, &ReluGrad)
}

struct ReluGrad;

impl CustomOp2 for ReluGrad {
    fn name(&self) -> &'static str {
        "dlp-cuda-relu-grad"
    }

    fn cpu_fwd(
        &self,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        cuda_only(self.name())
    }

    fn cuda_fwd(
        &self,
        s1: &CudaStorage,
        l1: &Layout,
        s2: &CudaStorage,
        l2: &Layout,
    ) -> Result<(CudaStorage, Shape)> {
        let operands = [view(s1, l1)?, view(s2, l2)?];
        map(&s1.device, "relu_bwd", &operands, l1.shape())
    }
}

/// `x · mask` for a mask of x's shape, differentiable in `x` only.
pub(crate) fn mask_mul(x: &Tensor, mask: &Tensor) -> Result<Tensor> {
    x.contiguous()?.apply_op2(&mask.contiguous()?, MaskMul)
}

struct MaskMul;

impl CustomOp2 for MaskMul {
    fn name(&self) -> &'static str {
        "dlp-cuda-mask-mul"
    }

    fn cpu_fwd(
        &self,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        cuda_only(self.name())
    }

    fn cuda_fwd(
        &self,
        s1: &CudaStorage,
        l1: &Layout,
        s2: &CudaStorage,
        l2: &Layout,
    ) -> Result<(CudaStorage, Shape)> {
        let operands = [view(s1, l1)?, view(s2, l2)?];
        map(&s1.device, "mask_mul", &operands, l1.shape())
    }

    fn bwd(
        &self,
        _x: &Tensor,
        mask: &Tensor,
        _y: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let dx = dy
            .contiguous()?
            .apply_op2_no_bwd(&mask.contiguous()?, &MaskMul)?;
        Ok((Some(dx), None))
    }
}

/// The dropout mask of [`crate::ops::cpu::dropout::mask`], drawn on the
/// GPU: the same ChaCha8 streams (block keys computed here, on the host),
/// so the same bits.
pub(crate) fn dropout_mask(
    dims: &[usize],
    rate: f64,
    seed: u64,
    block_len: usize,
    device: &Device,
) -> Result<Tensor> {
    let n: usize = dims.iter().product();
    let (threshold, keep) = crate::ops::dropout_constants(rate);
    let keys: Vec<u32> = (0..n.div_ceil(block_len).max(1))
        .flat_map(|b| crate::rng::chacha_key(crate::rng::derive(seed, &[b as u64])))
        .collect();
    let count = keys.len();
    let keys = Tensor::from_vec(keys, count, device)?;
    keys.apply_op1_no_bwd(&DropoutMask {
        shape: Shape::from(dims),
        block_len,
        threshold,
        keep,
    })
}

struct DropoutMask {
    shape: Shape,
    block_len: usize,
    threshold: u32,
    keep: f32,
}

impl CustomOp1 for DropoutMask {
    fn name(&self) -> &'static str {
        "dlp-cuda-dropout-mask"
    }

    fn cpu_fwd(&self, _: &CpuStorage, _: &Layout) -> Result<(CpuStorage, Shape)> {
        cuda_only(self.name())
    }

    fn cuda_fwd(&self, s: &CudaStorage, l: &Layout) -> Result<(CudaStorage, Shape)> {
        let dev = &s.device;
        let Some((start, end)) = l.contiguous_offsets() else {
            bail!("dropout mask: keys must be contiguous");
        };
        let keys = s.as_cuda_slice::<u32>()?.slice(start..end);
        let n = self.shape.elem_count();
        let mut out = alloc(dev, n)?;
        let k = Kernel::new(dev, "dropout_mask")?;
        let (len, block_len) = (n as u64, self.block_len as u64);
        let mut args = k.args();
        args.arg(&mut out)
            .arg(&keys)
            .arg(&len)
            .arg(&block_len)
            .arg(&self.threshold)
            .arg(&self.keep);
        run(args, elementwise(n.div_ceil(16)))?;
        Ok((storage(out, dev), self.shape.clone()))
    }
}

/// `(x − mean_c)·scale_c + shift_c` per channel of `x` (N, C, …); not
/// differentiable (inference).
pub(crate) fn channel_affine(
    x: &Tensor,
    mean: &Tensor,
    scale: &Tensor,
    shift: &Tensor,
) -> Result<Tensor> {
    let c = x.dim(1)?;
    let params = Tensor::cat(
        &[
            mean.flatten_all()?,
            scale.flatten_all()?,
            shift.flatten_all()?,
        ],
        0,
    )?;
    if params.dim(0)? != 3 * c {
        bail!("channel_affine: the channel vectors need {c} entries");
    }
    x.contiguous()?
        .apply_op2_no_bwd(&params.to_dtype(DType::F32)?, &ChannelAffine { c })
}

struct ChannelAffine {
    c: usize,
}

impl CustomOp2 for ChannelAffine {
    fn name(&self) -> &'static str {
        "dlp-cuda-channel-affine"
    }

    fn cpu_fwd(
        &self,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        cuda_only(self.name())
    }

    fn cuda_fwd(
        &self,
        s1: &CudaStorage,
        l1: &Layout,
        s2: &CudaStorage,
        l2: &Layout,
    ) -> Result<(CudaStorage, Shape)> {
        let (dev, x, p) = (&s1.device, view(s1, l1)?, view(s2, l2)?);
        let c = self.c;
        let n = x.len();
        let inner: usize = l1.dims()[2..].iter().product();
        let (mean, rest) = p.split_at(c);
        let (scale, shift) = rest.split_at(c);
        let mut y = alloc(dev, n)?;
        let k = Kernel::new(dev, "channel_affine")?;
        let (len, c32, inner) = (n as u64, c as u32, inner.max(1) as u64);
        let mut args = k.args();
        args.arg(&x)
            .arg(&mut y)
            .arg(&mean)
            .arg(&scale)
            .arg(&shift)
            .arg(&len)
            .arg(&c32)
            .arg(&inner);
        run(args, elementwise(n))?;
        Ok((storage(y, dev), l1.shape().clone()))
    }
}

/// Keras' Adam on the GPU: `(w, m, v)` after one step, element for
/// element the arithmetic of the CPU's kernel.
pub(crate) fn adam_update(
    w: &Tensor,
    g: &Tensor,
    m: &Tensor,
    v: &Tensor,
    s: &AdamStep,
) -> Result<(Tensor, Tensor, Tensor)> {
    let n = w.elem_count();
    let shape = w.shape().clone();
    let v = v.contiguous()?;
    let packed = w.contiguous()?.apply_op3_no_bwd(
        &g.contiguous()?,
        &m.contiguous()?,
        &Adam { v: &v, step: *s },
    )?;
    let part = |k: usize| packed.narrow(0, k * n, n)?.reshape(&shape);
    Ok((part(0)?, part(1)?, part(2)?))
}

/// Operands (w, g, m), with v alongside → [w′ | m′ | v′] flat.
struct Adam<'a> {
    v: &'a Tensor,
    step: AdamStep,
}

impl CustomOp3 for Adam<'_> {
    fn name(&self) -> &'static str {
        "dlp-cuda-adam"
    }

    fn cpu_fwd(
        &self,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        cuda_only(self.name())
    }

    fn cuda_fwd(
        &self,
        s1: &CudaStorage,
        l1: &Layout,
        s2: &CudaStorage,
        l2: &Layout,
        s3: &CudaStorage,
        l3: &Layout,
    ) -> Result<(CudaStorage, Shape)> {
        let dev = &s1.device;
        let (w, g, m) = (view(s1, l1)?, view(s2, l2)?, view(s3, l3)?);
        let (v_storage, v_layout) = self.v.storage_and_layout();
        let candle_core::Storage::Cuda(vs) = &*v_storage else {
            bail!("adam: the v slot is not on the GPU");
        };
        let v = view(vs, v_layout)?;
        let n = w.len();
        let mut out = alloc(dev, 3 * n)?;
        let k = self.step.f32();
        {
            let (mut nw, mut rest) = out.split_at_mut(n);
            let (mut nm, mut nv) = rest.split_at_mut(n);
            let (kernel, len) = (Kernel::new(dev, "adam_step")?, n as u64);
            let mut args = kernel.args();
            args.arg(&w)
                .arg(&g)
                .arg(&m)
                .arg(&v)
                .arg(&mut nw)
                .arg(&mut nm)
                .arg(&mut nv)
                .arg(&len)
                .arg(&k.b1)
                .arg(&k.c1)
                .arg(&k.b2)
                .arg(&k.c2)
                .arg(&k.eps)
                .arg(&k.alpha);
            run(args, elementwise(n))?;
        }
        Ok((storage(out, dev), Shape::from(3 * n)))
    }
}
