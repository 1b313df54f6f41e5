//! Max and average pooling on the GPU (valid padding, any size and
//! stride), mirroring [`crate::ops::cpu::pool`]: the max-pool gradient
//! goes whole to each window's first maximum in row-major order. The
//! backward pass runs one thread per input element, summing over the
//! windows that contain it, so overlapping windows need no atomics.

use super::{Kernel, alloc, cuda_only, elementwise, run, storage, view};
use candle_core::cuda_backend::CudaStorage;
use candle_core::cuda_backend::cudarc::driver::PushKernelArg;
use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Result, Shape, Tensor, bail};

/// One pooling: window `size`, step `stride`.
#[derive(Debug, Clone, Copy)]
struct Pool {
    is_max: bool,
    size: usize,
    stride: usize,
}

/// The sizes of a pooling of `l` (N, C, H, W): (planes, h, w, oh, ow).
fn sizes(p: &Pool, l: &Layout) -> Result<(usize, usize, usize, usize, usize)> {
    let &[n, c, h, w] = l.dims() else {
        bail!("pooling: expected (N, C, H, W), got {:?}", l.dims());
    };
    let (oh, ow) = crate::ops::geometry::pool_output(h, w, p.size, p.stride)?;
    Ok((n * c, h, w, oh, ow))
}

pub(crate) fn max_pool2d(x: &Tensor, size: usize, stride: usize) -> Result<Tensor> {
    x.contiguous()?.apply_op1(Pool {
        is_max: true,
        size,
        stride,
    })
}

pub(crate) fn avg_pool2d(x: &Tensor, size: usize, stride: usize) -> Result<Tensor> {
    x.contiguous()?.apply_op1(Pool {
        is_max: false,
        size,
        stride,
    })
}

impl CustomOp1 for Pool {
    fn name(&self) -> &'static str {
        "dlp-cuda-pool"
    }

    fn cpu_fwd(&self, _: &CpuStorage, _: &Layout) -> Result<(CpuStorage, Shape)> {
        cuda_only(self.name())
    }

    fn cuda_fwd(&self, s: &CudaStorage, l: &Layout) -> Result<(CudaStorage, Shape)> {
        let (dev, x) = (&s.device, view(s, l)?);
        let (planes, h, w, oh, ow) = sizes(self, l)?;
        let n = planes * oh * ow;
        let mut y = alloc(dev, n)?;
        let k = Kernel::new(dev, "pool_fwd")?;
        let (planes64, dims) = (
            planes as u64,
            [h, w, oh, ow, self.size, self.stride].map(|v| v as u32),
        );
        let is_max = i32::from(self.is_max);
        let mut args = k.args();
        args.arg(&x).arg(&mut y).arg(&planes64);
        for d in &dims {
            args.arg(d);
        }
        args.arg(&is_max);
        run(args, elementwise(n))?;
        let d = l.dims();
        Ok((storage(y, dev), Shape::from((d[0], d[1], oh, ow))))
    }

    fn bwd(&self, x: &Tensor, _y: &Tensor, dy: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(
            x.apply_op2_no_bwd(&dy.contiguous()?, &PoolGrad(*self))?,
        ))
    }
}

/// Backward: operands (x, dy) → dx.
struct PoolGrad(Pool);

impl CustomOp2 for PoolGrad {
    fn name(&self) -> &'static str {
        "dlp-cuda-pool-grad"
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
        let (dev, x, dy) = (&s1.device, view(s1, l1)?, view(s2, l2)?);
        let p = &self.0;
        let (planes, h, w, oh, ow) = sizes(p, l1)?;
        let n = planes * h * w;
        let mut dx = alloc(dev, n)?;
        let k = Kernel::new(dev, "pool_bwd")?;
        let (planes64, dims) = (
            planes as u64,
            [h, w, oh, ow, p.size, p.stride].map(|v| v as u32),
        );
        let is_max = i32::from(p.is_max);
        let mut args = k.args();
        args.arg(&x).arg(&dy).arg(&mut dx).arg(&planes64);
        for d in &dims {
            args.arg(d);
        }
        args.arg(&is_max);
        run(args, elementwise(n))?;
        Ok((storage(dx, dev), l1.shape().clone()))
    }
}
