//! Batch normalisation in training mode on the GPU: the statistics in two
//! fixed-order reduction stages (partial sums per channel and slice of
//! images in f64, then one thread per channel), the affine map in one
//! element-wise pass; backward likewise. Mirrors
//! [`crate::ops::cpu::batch_norm`], including the ReLU mask applied to
//! the input gradient when the input is a ReLU's output.

use super::{Kernel, THREADS, alloc, cuda_only, elementwise, run, storage, view};
use crate::ops::geometry::batch_norm_dims;
use candle_core::cuda_backend::cudarc::driver::{CudaSlice, CudaView, LaunchConfig, PushKernelArg};
use candle_core::cuda_backend::{CudaDevice, CudaStorage};
use candle_core::{CpuStorage, CustomOp1, CustomOp3, Layout, Result, Shape, Tensor, bail};
use std::sync::{Arc, OnceLock};

/// Per-channel batch statistics, on the device.
struct Stats {
    mean: CudaSlice<f32>,
    var: CudaSlice<f32>,
    inv_std: CudaSlice<f32>,
}

/// `(y, mean, var)` as [`crate::ops::batch_norm_train`]; `relu_input` as
/// the CPU kernel's.
pub(crate) fn batch_norm_train(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    eps: f64,
    relu_input: bool,
) -> Result<(Tensor, Tensor, Tensor)> {
    let (_, c, _, _) = x.dims4()?;
    if gamma.dims1()? != c || beta.dims1()? != c {
        bail!("batch_norm: γ and β need {c} entries (one per channel)");
    }
    let stats = Arc::new(OnceLock::new());
    let op = BatchNormTrain {
        eps: eps as f32,
        stats: stats.clone(),
        relu_input,
    };
    let gamma = gamma.contiguous()?;
    let y = x.contiguous()?.apply_op3(&gamma, &beta.contiguous()?, op)?;
    let moments = gamma.apply_op1_no_bwd(&EmitMoments(stats))?;
    Ok((y, moments.narrow(0, 0, c)?, moments.narrow(0, c, c)?))
}

/// Slices of images per channel for the partial sums: enough blocks
/// (channels × slices) to fill the GPU, and `per` images each.
fn slices(n: usize, c: usize) -> (u32, u32) {
    let wanted = 512usize.div_ceil(c.max(1)).clamp(1, n.max(1));
    let per = n.div_ceil(wanted).max(1);
    (n.div_ceil(per).max(1) as u32, per as u32)
}

/// Grid of the partial-sum kernels: one block per (channel, slice).
fn reduction(c: usize, slices: u32) -> LaunchConfig {
    LaunchConfig {
        grid_dim: (c as u32, slices, 1),
        block_dim: (THREADS, 1, 1),
        shared_mem_bytes: 0,
    }
}

/// `out[ch] = Σ_s partial[ch, s] / divisor`; with `inv_std`, also
/// 1/√(out + ε) there.
fn finish(
    dev: &CudaDevice,
    partial: &CudaSlice<f64>,
    out: &mut CudaSlice<f32>,
    inv_std: Option<&mut CudaSlice<f32>>,
    (c, slices): (usize, u32),
    divisor: f64,
    eps: f32,
) -> Result<()> {
    let (k, null, c32) = (Kernel::new(dev, "channel_finish")?, 0u64, c as u32);
    let mut args = k.args();
    args.arg(partial).arg(out);
    match inv_std {
        Some(inv) => args.arg(inv),
        None => args.arg(&null),
    };
    args.arg(&c32).arg(&slices).arg(&divisor).arg(&eps);
    run(args, elementwise(c))
}

/// Per-channel sums of `x` (or of (x − centre)²) over (N, H·W).
fn channel_sums(
    dev: &CudaDevice,
    x: &CudaView<'_, f32>,
    centre: Option<&CudaSlice<f32>>,
    (n, c, hw): (usize, usize, usize),
) -> Result<(CudaSlice<f64>, u32)> {
    let (count, per) = slices(n, c);
    // SAFETY: channel_partials writes every (channel, slice) entry.
    let mut partial = unsafe { dev.alloc::<f64>(c * count as usize) }?;
    let (k, null) = (Kernel::new(dev, "channel_partials")?, 0u64);
    let (n32, c32, hw64) = (n as u32, c as u32, hw as u64);
    let mut args = k.args();
    args.arg(x);
    match centre {
        Some(m) => args.arg(m),
        None => args.arg(&null),
    };
    args.arg(&mut partial)
        .arg(&n32)
        .arg(&c32)
        .arg(&hw64)
        .arg(&per);
    run(args, reduction(c, count))?;
    Ok((partial, count))
}

/// Per-channel sums of a (N, C, H, W) tensor over N, H and W (a
/// convolution's bias gradient), in the fixed order of the batch-norm
/// statistics.
pub(crate) fn channel_sum(
    dev: &CudaDevice,
    x: &CudaView<'_, f32>,
    dims: (usize, usize, usize),
) -> Result<CudaSlice<f32>> {
    let c = dims.1;
    let (partial, count) = channel_sums(dev, x, None, dims)?;
    let mut out = alloc(dev, c)?;
    finish(dev, &partial, &mut out, None, (c, count), 1.0, 0.0)?;
    Ok(out)
}

struct BatchNormTrain {
    eps: f32,
    stats: Arc<OnceLock<Stats>>,
    relu_input: bool,
}

impl CustomOp3 for BatchNormTrain {
    fn name(&self) -> &'static str {
        "dlp-cuda-batch-norm-train"
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
        let (x, gamma, beta) = (view(s1, l1)?, view(s2, l2)?, view(s3, l3)?);
        let (n, c, hw) = batch_norm_dims(l1)?;
        if x.is_empty() {
            bail!("batch_norm: empty batch");
        }
        let m = (n * hw) as f64;
        let (mut mean, mut var, mut inv_std) = (alloc(dev, c)?, alloc(dev, c)?, alloc(dev, c)?);
        let (partial, count) = channel_sums(dev, &x, None, (n, c, hw))?;
        finish(dev, &partial, &mut mean, None, (c, count), m, self.eps)?;
        let (partial, count) = channel_sums(dev, &x, Some(&mean), (n, c, hw))?;
        finish(
            dev,
            &partial,
            &mut var,
            Some(&mut inv_std),
            (c, count),
            m,
            self.eps,
        )?;
        let len = x.len();
        let mut y = alloc(dev, len)?;
        let k = Kernel::new(dev, "bn_apply")?;
        let (len64, c32, hw64) = (len as u64, c as u32, hw as u64);
        let mut args = k.args();
        args.arg(&x)
            .arg(&mut y)
            .arg(&gamma)
            .arg(&beta)
            .arg(&mean)
            .arg(&inv_std)
            .arg(&len64)
            .arg(&c32)
            .arg(&hw64);
        run(args, elementwise(len))?;
        let _ = self.stats.set(Stats { mean, var, inv_std });
        Ok((storage(y, dev), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        _beta: &Tensor,
        _y: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let Some(stats) = self.stats.get() else {
            bail!("batch_norm: backward before forward");
        };
        let out = x.apply_op3_no_bwd(
            gamma,
            &dy.contiguous()?,
            &BatchNormGrad {
                stats,
                relu_input: self.relu_input,
            },
        )?;
        crate::ops::batch_norm_grads(&out, x.dims4()?)
    }
}

/// The batch's mean and variance, [mean | var], from the forward's
/// statistics (applied to γ for its device).
struct EmitMoments(Arc<OnceLock<Stats>>);

impl CustomOp1 for EmitMoments {
    fn name(&self) -> &'static str {
        "dlp-cuda-batch-norm-moments"
    }

    fn cpu_fwd(&self, _: &CpuStorage, _: &Layout) -> Result<(CpuStorage, Shape)> {
        cuda_only(self.name())
    }

    fn cuda_fwd(&self, s: &CudaStorage, _: &Layout) -> Result<(CudaStorage, Shape)> {
        let dev = &s.device;
        let Some(stats) = self.0.get() else {
            bail!("batch_norm: statistics were not computed");
        };
        let c = stats.mean.len();
        let mut out = alloc(dev, 2 * c)?;
        dev.memcpy_dtod(&stats.mean, &mut out.slice_mut(0..c))?;
        dev.memcpy_dtod(&stats.var, &mut out.slice_mut(c..2 * c))?;
        Ok((storage(out, dev), Shape::from(2 * c)))
    }
}

/// Backward: operands (x, γ, dy) → [dx | dγ | dβ] flat, as on the CPU.
struct BatchNormGrad<'a> {
    stats: &'a Stats,
    relu_input: bool,
}

impl CustomOp3 for BatchNormGrad<'_> {
    fn name(&self) -> &'static str {
        "dlp-cuda-batch-norm-grad"
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
        let (x, gamma, dy) = (view(s1, l1)?, view(s2, l2)?, view(s3, l3)?);
        let (n, c, hw) = batch_norm_dims(l1)?;
        let st = self.stats;
        let (count, per) = slices(n, c);
        // SAFETY: bn_grad_partials writes every (channel, slice) entry.
        let mut pdy = unsafe { dev.alloc::<f64>(c * count as usize) }?;
        let mut pdyx = unsafe { dev.alloc::<f64>(c * count as usize) }?;
        let k = Kernel::new(dev, "bn_grad_partials")?;
        let (n32, c32, hw64) = (n as u32, c as u32, hw as u64);
        let mut args = k.args();
        args.arg(&x)
            .arg(&dy)
            .arg(&st.mean)
            .arg(&st.inv_std)
            .arg(&mut pdy)
            .arg(&mut pdyx)
            .arg(&n32)
            .arg(&c32)
            .arg(&hw64)
            .arg(&per);
        run(args, reduction(c, count))?;
        let (mut dgamma, mut dbeta) = (alloc(dev, c)?, alloc(dev, c)?);
        finish(dev, &pdyx, &mut dgamma, None, (c, count), 1.0, 0.0)?;
        finish(dev, &pdy, &mut dbeta, None, (c, count), 1.0, 0.0)?;
        let len = x.len();
        let mut out = alloc(dev, len + 2 * c)?;
        {
            let mut dx = out.slice_mut(0..len);
            let relu = i32::from(self.relu_input);
            let m = (n * hw) as f32;
            let k = Kernel::new(dev, "bn_grad_dx")?;
            let (len64, c32, hw64) = (len as u64, c as u32, hw as u64);
            let mut args = k.args();
            args.arg(&x)
                .arg(&dy)
                .arg(&gamma)
                .arg(&st.mean)
                .arg(&st.inv_std)
                .arg(&dgamma)
                .arg(&dbeta)
                .arg(&mut dx)
                .arg(&len64)
                .arg(&c32)
                .arg(&hw64)
                .arg(&m)
                .arg(&relu);
            run(args, elementwise(len))?;
        }
        dev.memcpy_dtod(&dgamma, &mut out.slice_mut(len..len + c))?;
        dev.memcpy_dtod(&dbeta, &mut out.slice_mut(len + c..len + 2 * c))?;
        Ok((storage(out, dev), Shape::from(len + 2 * c)))
    }
}
