//! Tensor operations the layers are built from, declared once here and
//! implemented per backend. This module is the one place in `dlp` that
//! looks at a tensor's device: each function asks [`backend`] which
//! implementation runs and calls it.
//!
//! - [`cpu`]: f32 kernels for the CPU (im2col + GEMM convolutions, fused
//!   batch norm, pooling, ReLU, dropout masks, the Adam update), each a
//!   candle custom op with its own backward pass;
//! - `cuda` (the `cuda` feature): the same ops on the GPU, dlp's own
//!   kernels (`kernels/`) and cuDNN's convolutions;
//! - [`reference`]: candle's own ops, slow but obviously right and
//!   device-independent, the yardstick the kernels are tested against and
//!   the path for every other device and dtype.
//!
//! Operands are candle tensors in NCHW layout; results are differentiable
//! through candle's autograd wherever the reference is. Where a CPU step's
//! time goes, and what was tried, is in `benches/README.md`.

mod cpu;
#[cfg(feature = "cuda")]
mod cuda;
mod geometry;
pub mod reference;

use crate::plan::Padding;
use candle_core::{DType, Device, Result, Tensor};

/// Readies a device that was just opened for dlp's kernels, and on a GPU
/// runs a convolution through cuDNN and dlp's own kernels, so that a
/// missing cuDNN library or a driver that cannot load dlp's PTX is found
/// when the device is chosen, not in the middle of a run.
#[cfg(feature = "cuda")]
pub(crate) fn prepare(device: &Device) -> Result<()> {
    match device {
        #[cfg(feature = "cuda")]
        Device::Cuda(d) => cuda::prepare(d),
        _ => Ok(()),
    }
}

/// TensorFlow's `same` padding for one axis: (before, after), the extra
/// row/column going after.
pub(crate) fn same_padding(input: usize, kernel: usize, stride: usize) -> (usize, usize) {
    let out = input.div_ceil(stride);
    let total = ((out - 1) * stride + kernel).saturating_sub(input);
    (total / 2, total - total / 2)
}

/// The ReLU fused into a convolution's output, and where its gradient mask
/// is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relu {
    Off,
    /// The backward masks `dy` by `y > 0` in a pass of its own.
    On,
    /// The output's one consumer masks the gradient it hands back (batch
    /// norm, which reads `y` in its backward anyway: see
    /// [`crate::ops::conv2d_relu_batch_norm_train`]); the pass is skipped.
    MaskedByConsumer,
}

/// The gradients of a three-operand op's operands.
type Grads3 = (Option<Tensor>, Option<Tensor>, Option<Tensor>);

/// Splits a batch-norm backward's flat output [dx | dγ | dβ] (both
/// backends pack it so) into the gradients of x (N, C, H, W), γ and β.
fn batch_norm_grads(out: &Tensor, (n, c, h, w): (usize, usize, usize, usize)) -> Result<Grads3> {
    let len = n * c * h * w;
    let dx = out.narrow(0, 0, len)?.reshape((n, c, h, w))?;
    Ok((
        Some(dx),
        Some(out.narrow(0, len, c)?),
        Some(out.narrow(0, len + c, c)?),
    ))
}

/// A dropout mask's two numbers for `rate`: a unit is dropped when its
/// 32-bit draw falls below the threshold, rate·2³² (saturating at
/// `u32::MAX` at rate 1, where the one draw not below it still gets the
/// kept value, which is 0 then); kept units get 1/(1 − rate).
fn dropout_constants(rate: f64) -> (u32, f32) {
    let keep = if rate >= 1.0 {
        0.0
    } else {
        (1.0 / (1.0 - rate)) as f32
    };
    ((rate * 2f64.powi(32)).min(u32::MAX as f64) as u32, keep)
}

/// The implementation that runs an op on some operands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    /// Every operand is an f32 CPU tensor: the kernels of [`cpu`].
    Cpu,
    /// Every operand is an f32 tensor on a CUDA device: the kernels of
    /// `cuda` (built with the `cuda` feature).
    #[cfg(feature = "cuda")]
    Cuda,
    /// Anything else: candle's own ops ([`reference`]).
    Reference,
}

/// The CPU kernel of stride-1 convolutions in this process, for speed
/// reports: `direct-avx2`, `direct-avx512` or `im2col` (chosen from the
/// CPU once, or by `DLP_CONV_ISA`; see `cpu::direct`).
pub(crate) fn cpu_conv_kernel() -> &'static str {
    match cpu::direct::isa() {
        Some(cpu::direct::Isa::Avx2) => "direct-avx2",
        Some(cpu::direct::Isa::Avx512) => "direct-avx512",
        None => "im2col",
    }
}

/// The backend for `operands`: the one place that looks at the device.
fn backend(operands: &[&Tensor]) -> Backend {
    if operands
        .iter()
        .all(|t| t.device().is_cpu() && t.dtype() == DType::F32)
    {
        return Backend::Cpu;
    }
    #[cfg(feature = "cuda")]
    if operands
        .iter()
        .all(|t| t.device().is_cuda() && t.dtype() == DType::F32)
    {
        return Backend::Cuda;
    }
    Backend::Reference
}

/// The backend for a convolution's operands.
fn conv_backend(x: &Tensor, w: &Tensor, b: Option<&Tensor>) -> Backend {
    match b {
        Some(b) => backend(&[x, w, b]),
        None => backend(&[x, w]),
    }
}

/// 2-D convolution. `x`: (N, C, H, W); `w`: (F, C, KH, KW); `b`: (F).
pub fn conv2d(
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    stride: usize,
    padding: Padding,
) -> Result<Tensor> {
    match conv_backend(x, w, b) {
        Backend::Cpu => cpu::conv::conv2d(x, w, b, stride, padding, Relu::Off),
        #[cfg(feature = "cuda")]
        Backend::Cuda => cuda::conv::conv2d(x, w, b, stride, padding, Relu::Off),
        Backend::Reference => reference::conv2d(x, w, b, stride, padding),
    }
}

/// `relu(conv2d(x, w, b, stride, padding))`, fused on CPU: one node in
/// the graph instead of two, the ReLU applied while the output is in cache.
pub fn conv2d_relu(
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    stride: usize,
    padding: Padding,
) -> Result<Tensor> {
    match conv_backend(x, w, b) {
        Backend::Cpu => cpu::conv::conv2d(x, w, b, stride, padding, Relu::On),
        #[cfg(feature = "cuda")]
        Backend::Cuda => cuda::conv::conv2d(x, w, b, stride, padding, Relu::On),
        Backend::Reference => reference::conv2d(x, w, b, stride, padding)?.relu(),
    }
}

/// `batch_norm_train(conv2d_relu(x, …), γ, β, ε)` for training, as one
/// call so that on CPU the ReLU's gradient mask is applied inside batch
/// norm's backward, which reads the ReLU's output anyway, instead of in a
/// pass of its own over the convolution's output (same values and bits).
/// The convolution's output has no other consumer: it never leaves here.
pub fn conv2d_relu_batch_norm_train(
    x: &Tensor,
    (w, b): (&Tensor, Option<&Tensor>),
    stride: usize,
    padding: Padding,
    (gamma, beta): (&Tensor, &Tensor),
    eps: f64,
) -> Result<(Tensor, Tensor, Tensor)> {
    match (conv_backend(x, w, b), backend(&[gamma, beta])) {
        (Backend::Cpu, Backend::Cpu) => {
            let relu = Relu::MaskedByConsumer;
            let h = cpu::conv::conv2d(x, w, b, stride, padding, relu)?;
            cpu::batch_norm::batch_norm_train(&h, gamma, beta, eps, true, false)
        }
        #[cfg(feature = "cuda")]
        (Backend::Cuda, Backend::Cuda) => {
            let relu = Relu::MaskedByConsumer;
            let h = cuda::conv::conv2d(x, w, b, stride, padding, relu)?;
            cuda::batch_norm::batch_norm_train(&h, gamma, beta, eps, true)
        }
        _ => batch_norm_train(&conv2d_relu(x, w, b, stride, padding)?, gamma, beta, eps),
    }
}

/// Max pooling with `valid` padding (Keras' default), any size and stride.
/// Its gradient goes to the window's first maximum (candle's own
/// `max_pool2d` backward scales it by 1/K² and refuses size ≠ stride).
pub fn max_pool2d(x: &Tensor, size: usize, stride: usize) -> Result<Tensor> {
    match backend(&[x]) {
        Backend::Cpu => cpu::pool::max_pool2d(x, size, stride),
        #[cfg(feature = "cuda")]
        Backend::Cuda => cuda::pool::max_pool2d(x, size, stride),
        Backend::Reference => reference::max_pool2d(x, size, stride),
    }
}

/// Average pooling with `valid` padding, any size and stride.
pub fn avg_pool2d(x: &Tensor, size: usize, stride: usize) -> Result<Tensor> {
    match backend(&[x]) {
        Backend::Cpu => cpu::pool::avg_pool2d(x, size, stride),
        #[cfg(feature = "cuda")]
        Backend::Cuda => cuda::pool::avg_pool2d(x, size, stride),
        Backend::Reference => reference::avg_pool2d(x, size, stride),
    }
}

/// Batch normalisation with the batch's statistics (training mode):
/// `y = γ·(x − mean)/√(var + ε) + β` per channel of `x` (N, C, H, W),
/// differentiable in x, γ and β. Returns `(y, mean, var)`, the statistics
/// detached and the variance biased (divided by N·H·W, as Keras' moments),
/// for the caller's running averages.
pub fn batch_norm_train(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    eps: f64,
) -> Result<(Tensor, Tensor, Tensor)> {
    match backend(&[x, gamma, beta]) {
        Backend::Cpu => cpu::batch_norm::batch_norm_train(x, gamma, beta, eps, false, false),
        #[cfg(feature = "cuda")]
        Backend::Cuda => cuda::batch_norm::batch_norm_train(x, gamma, beta, eps, false),
        Backend::Reference => reference::batch_norm_train(x, gamma, beta, eps),
    }
}

/// `relu(batch_norm_train(x, γ, β, ε))` for training, as one call so that
/// on CPU the ReLU is applied in batch norm's output pass and its gradient
/// mask in batch norm's backward, instead of two passes of their own over
/// the activations (same values and bits). Returns `(y, mean, var)` as
/// [`batch_norm_train`]; the normalised value before the ReLU never
/// leaves here.
pub fn batch_norm_relu_train(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    eps: f64,
) -> Result<(Tensor, Tensor, Tensor)> {
    match backend(&[x, gamma, beta]) {
        Backend::Cpu => cpu::batch_norm::batch_norm_train(x, gamma, beta, eps, false, true),
        _ => {
            let (y, mean, var) = batch_norm_train(x, gamma, beta, eps)?;
            Ok((relu(&y)?, mean, var))
        }
    }
}

/// Batch normalisation with given statistics (inference):
/// `(x − mean)·(γ/√(var + ε)) + β` per channel of `x` (N, C, …). On CPU,
/// for inputs that track no gradient, one pass over `x` with the
/// per-channel scale computed by the reference's own ops, so the result
/// is the reference's bit for bit.
pub fn batch_norm_eval(
    x: &Tensor,
    mean: &Tensor,
    var: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    eps: f64,
) -> Result<Tensor> {
    let backend = backend(&[x, mean, var, gamma, beta]);
    if x.track_op() || x.rank() < 2 || backend == Backend::Reference {
        return reference::batch_norm_eval(x, mean, var, gamma, beta, eps);
    }
    // The reference's own ops, so that the per-channel scale has its bits.
    let scale = (var + eps)?.sqrt()?.recip()?.mul(gamma)?;
    match backend {
        #[cfg(feature = "cuda")]
        Backend::Cuda => cuda::elementwise::channel_affine(x, mean, &scale, beta),
        _ => {
            let [mean, scale, beta] =
                [mean, &scale, beta].map(|t| t.flatten_all()?.to_vec1::<f32>());
            cpu::channel_affine::channel_affine(x, &mean?, &scale?, &beta?)
        }
    }
}

/// `x · mask` for a constant `mask` of x's shape (dropout): on CPU f32
/// one node whose backward skips the mask's unused gradient.
pub fn mask_mul(x: &Tensor, mask: &Tensor) -> Result<Tensor> {
    match backend(&[x, mask]) {
        Backend::Cpu if x.dims() == mask.dims() => cpu::mask::mask_mul(x, mask),
        #[cfg(feature = "cuda")]
        Backend::Cuda if x.dims() == mask.dims() => cuda::elementwise::mask_mul(x, mask),
        _ => x.mul(mask),
    }
}

/// The dropout mask of shape `dims` for the step seed `seed` on `device`:
/// 0 where a unit is dropped (with probability `rate`), 1/(1 − rate)
/// where kept. The same seed gives the same mask on every device and
/// with any number of threads.
pub fn dropout_mask(dims: &[usize], rate: f64, seed: u64, device: &Device) -> Result<Tensor> {
    #[cfg(feature = "cuda")]
    if device.is_cuda() {
        let block = cpu::dropout::MASK_BLOCK;
        return cuda::elementwise::dropout_mask(dims, rate, seed, block, device);
    }
    cpu::dropout::mask(dims, rate, seed)?.to_device(device)
}

/// Inverted dropout of `x` with the mask of [`dropout_mask`].
pub(crate) fn dropout(x: &Tensor, rate: f64, seed: u64) -> Result<Tensor> {
    let mask = dropout_mask(x.dims(), rate, seed, x.device())?;
    mask_mul(x, &mask.to_dtype(x.dtype())?)
}

/// ReLU with a one-pass backward; gradient 0 at 0 (PyTorch, TensorFlow).
pub fn relu(x: &Tensor) -> Result<Tensor> {
    match backend(&[x]) {
        Backend::Cpu => cpu::relu::relu(x),
        #[cfg(feature = "cuda")]
        Backend::Cuda => cuda::elementwise::relu(x),
        Backend::Reference => x.relu(),
    }
}

/// The constants of one Keras Adam step (`lr_t` folded into `alpha`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamStep {
    pub beta1: f64,
    pub beta2: f64,
    pub epsilon: f64,
    /// lr·√(1 − β2ᵗ)/(1 − β1ᵗ).
    pub alpha: f64,
}

/// [`AdamStep`]'s constants rounded to f32 as candle's `affine` rounds
/// them: β1, 1 − β1, β2, 1 − β2, ε and α.
struct AdamF32 {
    b1: f32,
    c1: f32,
    b2: f32,
    c2: f32,
    eps: f32,
    alpha: f32,
}

impl AdamStep {
    fn f32(&self) -> AdamF32 {
        AdamF32 {
            b1: self.beta1 as f32,
            c1: (1.0 - self.beta1) as f32,
            b2: self.beta2 as f32,
            c2: (1.0 - self.beta2) as f32,
            eps: self.epsilon as f32,
            alpha: self.alpha as f32,
        }
    }

    /// The constants of step `t` (1-based) at learning rate `lr`.
    pub fn keras(lr: f64, beta1: f64, beta2: f64, epsilon: f64, t: u64) -> AdamStep {
        let t = t as f64;
        let alpha = lr * (1.0 - beta2.powf(t)).sqrt() / (1.0 - beta1.powf(t));
        AdamStep {
            beta1,
            beta2,
            epsilon,
            alpha,
        }
    }
}

/// Keras' Adam: m ← m + (1 − β1)(g − m), v ← v + (1 − β2)(g² − v),
/// w ← w − α·m/(√v + ε); returns the new `(w, m, v)`.
pub fn adam_update(
    w: &Tensor,
    g: &Tensor,
    m: &Tensor,
    v: &Tensor,
    step: &AdamStep,
) -> Result<(Tensor, Tensor, Tensor)> {
    match backend(&[w, g, m, v]) {
        Backend::Cpu => cpu::adam::update(w, g, m, v, step),
        #[cfg(feature = "cuda")]
        Backend::Cuda => cuda::elementwise::adam_update(w, g, m, v, step),
        Backend::Reference => reference::adam_update(w, g, m, v, step),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn same_padding_matches_tensorflow() {
        // TF: in 32, k 3, s 1 → pad 1/1; in 5, k 2, s 2 → out 3, total 1 → 0/1.
        assert_eq!(same_padding(32, 3, 1), (1, 1));
        assert_eq!(same_padding(5, 2, 2), (0, 1));
        assert_eq!(same_padding(4, 3, 2), (0, 1));
    }

    #[test]
    fn max_pool_gradient_goes_to_the_maximum() -> Result<()> {
        // The candle bug: [[1,2],[3,4]] must give [0,0,0,1], not 0.25 —
        // in the custom op and in the reference implementation alike.
        type Pool = fn(&Tensor, usize, usize) -> Result<Tensor>;
        for pool in [max_pool2d as Pool, reference::max_pool2d] {
            let x = Var::new(&[[[[1f32, 2.], [3., 4.]]]], &Device::Cpu)?;
            let g = pool(x.as_tensor(), 2, 2)?.sum_all()?.backward()?;
            let gx = g
                .get(&x)
                .expect("gradient")
                .flatten_all()?
                .to_vec1::<f32>()?;
            assert_eq!(gx, vec![0., 0., 0., 1.]);
        }
        Ok(())
    }
}
