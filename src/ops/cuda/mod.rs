//! The CUDA kernels of the ops: f32, NCHW, contiguous, each a candle
//! custom op whose `cuda_fwd` launches dlp's own kernels (`kernels/`, PTX
//! built with the `cuda` feature) or cuDNN, with its own backward pass.
//! Only [`crate::ops`] calls them, after deciding that the operands are
//! CUDA f32 tensors. Each mirrors a CPU kernel of [`super::cpu`]; the op
//! tests run the same reference checks on both devices.
//!
//! Determinism: no kernel uses atomics; reductions add fixed slices in a
//! fixed order, and cuDNN's backward passes use deterministic algorithms,
//! so a run repeats bit for bit on the same GPU.

pub(super) mod batch_norm;
pub(super) mod conv;
pub(super) mod elementwise;
pub(super) mod pool;

use candle_core::cuda_backend::cudarc::driver::{
    CudaFunction, CudaSlice, CudaStream, CudaView, LaunchArgs, LaunchConfig,
};
use candle_core::cuda_backend::{CudaDevice, CudaStorage, WrapErr};
use candle_core::{CpuStorage, Layout, Result, Shape, bail};
use std::sync::Arc;

/// [`crate::ops::prepare`] on a GPU.
pub(super) fn prepare(dev: &CudaDevice) -> Result<()> {
    // cudarc records two CUDA events per buffer for programs that share
    // buffers between streams; dlp never does: each device's work runs on
    // one thread's stream, and the prefetch thread, the only other thread
    // that makes buffers, waits for its copies before handing a batch over
    // (`run::input`). Turned off, an allocation creates no events.
    // SAFETY: as above, no buffer is used on two streams at once.
    unsafe { dev.disable_event_tracking() };
    // A 3×3 image by a 2×2 kernel of ones, bias −12, then ReLU: the window
    // sums 12, 16, 24, 28 less 12.
    let device = candle_core::Device::Cuda(dev.clone());
    let x = candle_core::Tensor::arange(1f32, 10., &device)?.reshape((1, 1, 3, 3))?;
    let w = candle_core::Tensor::ones((1, 1, 2, 2), candle_core::DType::F32, &device)?;
    let b = candle_core::Tensor::new(&[-12f32], &device)?;
    let y = conv::conv2d(
        &x,
        &w,
        Some(&b),
        1,
        crate::plan::Padding::Valid,
        crate::ops::Relu::On,
    )?;
    let got = y.flatten_all()?.to_vec1::<f32>()?;
    if got != [0.0, 4.0, 12.0, 16.0] {
        bail!("a test convolution computed {got:?}, not [0, 4, 12, 16]");
    }
    Ok(())
}

/// Threads per block of the element-wise kernels (and `THREADS` in
/// `dlp.cu`, which the reductions' shared memory is sized for).
const THREADS: u32 = 256;

/// The f32 data of a contiguous CUDA operand.
fn view<'a>(s: &'a CudaStorage, l: &Layout) -> Result<CudaView<'a, f32>> {
    let Some((start, end)) = l.contiguous_offsets() else {
        bail!("dlp CUDA op: expected a contiguous tensor");
    };
    Ok(s.as_cuda_slice::<f32>()?.slice(start..end))
}

/// A fresh device buffer of `len` values, every one written by the
/// kernel that fills it.
fn alloc(dev: &CudaDevice, len: usize) -> Result<CudaSlice<f32>> {
    // SAFETY: callers launch a kernel that writes all `len` values before
    // the buffer is read.
    unsafe { dev.alloc::<f32>(len) }
}

/// One thread per element of `n` (below 2³² · 256, far beyond any GPU's
/// memory in f32).
fn elementwise(n: usize) -> LaunchConfig {
    let blocks = n.div_ceil(THREADS as usize).max(1);
    LaunchConfig {
        grid_dim: (u32::try_from(blocks).unwrap_or(u32::MAX), 1, 1),
        block_dim: (THREADS, 1, 1),
        shared_mem_bytes: 0,
    }
}

/// A kernel of `dlp.cu` on a device's stream.
struct Kernel {
    func: CudaFunction,
    stream: Arc<CudaStream>,
}

impl Kernel {
    /// Kernel `name`, loaded (once per device) from the PTX.
    fn new(dev: &CudaDevice, name: &str) -> Result<Kernel> {
        let func = dev.get_or_load_custom_func(name, "dlp", dlp_kernels::PTX)?;
        Ok(Kernel {
            func: func.into_cuda_function(),
            stream: dev.cuda_stream(),
        })
    }

    /// An empty argument list to push this kernel's arguments on.
    fn args(&self) -> LaunchArgs<'_> {
        self.stream.launch_builder(&self.func)
    }
}

/// Launches a kernel whose arguments `args` holds.
fn run(mut args: LaunchArgs<'_>, cfg: LaunchConfig) -> Result<()> {
    // SAFETY: every kernel of dlp.cu is called with the argument types of
    // its C signature, pushed in order by the caller, and bounds-checks
    // its thread index against the sizes passed.
    unsafe { args.launch(cfg) }.w()?;
    Ok(())
}

/// The `cpu_fwd` of an op that only runs on CUDA tensors ([`crate::ops`]
/// never hands it others).
fn cuda_only(name: &str) -> Result<(CpuStorage, Shape)> {
    bail!("{name}: a CUDA op was handed CPU tensors")
}

/// Wraps a kernel's output buffer as candle storage.
fn storage(slice: CudaSlice<f32>, dev: &CudaDevice) -> CudaStorage {
    CudaStorage::wrap_cuda_slice(slice, dev.clone())
}
