//! Tensor operations the layers are built from, behind one stable API so
//! the implementation can be swapped (candle reference, fast CPU custom
//! ops, CUDA) without touching `nn`.
//!
//! The functions here take and return candle tensors in NCHW layout and
//! are differentiable through candle's autograd. On CPU with f32 they run
//! the custom ops of `conv` and `pool` (im2col + GEMM, own backward passes);
//! anything else goes through `reference` (candle's own ops).
//!
//! Where a CPU training step of the CIFAR-10 model goes (`perf record` of
//! `examples/conv_bench --reps 25`, 2 threads, batch 128, about 185 % CPU):
//! the `gemm` crate's AVX-512 micro-kernels 55 % (about 220 GFLOP/s inside
//! them, near this machine's peak), im2col with its copies 13 %, max-pool
//! backward 4 %, zero-filling new tensors 3 %, the `dy` transposes of the
//! weight gradient 3 %, batch norm and ReLU passes about 7 %, col2im 1.4 %.
//! Per kernel (`cargo test --release --lib conv_kernel_timings -- --ignored
//! --nocapture`) the convolutions run at 120–170 GFLOP/s. What it took to
//! get there from 0.5× PyTorch: the weight gradient as `[col; 1]·dyᵀ` so
//! `gemm` packs both operands contiguously; the input gradient of stride-1
//! layers with C ≥ F as a forward convolution with flipped kernels (no
//! col2im); im2col copying shifted runs of rows; batch-norm sums in vector
//! lanes; gemm's x86-v4 kernels; candle-core patched to store a node's first
//! gradient instead of adding it to zeros (`vendor/`); an allocator that
//! keeps freed memory (`crate::alloc`); dropout masks drawn in parallel
//! blocks; the 2×2 max-pool backward on fixed-size lanes (it ran scalar and
//! was 7–8 % of a step, now 2 %); the ReLU's gradient mask of a convolution
//! feeding batch norm applied in batch norm's backward
//! ([`conv2d_relu_batch_norm_train`]) instead of a pass of its own. What is
//! left is overhead around the GEMMs: a direct convolution without im2col,
//! and the scalar `dy` transpose of the weight gradient (3 %; an 8×8-tile
//! version did not vectorise either).
//!
//! On a Zen 5 with 512-bit units the same test gives gemm 415 GF/s on a
//! 2048³ product and the convolutions 215–364 GF/s: they are three
//! quarters of a step, which runs at about half of gemm's rate (README,
//! *Against the machine's peak*). A convolution without im2col as nine
//! shifted products over a padded image (K = C each) measured slower on
//! every layer shape of the model (120–141 against 143–262 GF/s), so the
//! direct convolution is not that.

mod batch_norm;
mod channel_affine;
mod conv;
mod geometry;
mod mask;
mod pool;
pub mod reference;
mod relu;
mod scratch;
mod sgemm;

use crate::plan::Padding;
use candle_core::{CpuStorage, DType, Layout, Result, Tensor, bail};

/// TensorFlow's `same` padding for one axis: (before, after), the extra
/// row/column going after.
pub fn same_padding(input: usize, kernel: usize, stride: usize) -> (usize, usize) {
    let out = input.div_ceil(stride);
    let total = ((out - 1) * stride + kernel).saturating_sub(input);
    (total / 2, total - total / 2)
}

/// Whether the custom CPU kernels handle this tensor.
fn fast(t: &Tensor) -> bool {
    t.device().is_cpu() && t.dtype() == DType::F32
}

/// 2-D convolution. `x`: (N, C, H, W); `w`: (F, C, KH, KW); `b`: (F).
pub fn conv2d(
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    stride: usize,
    padding: Padding,
) -> Result<Tensor> {
    if fast(x) && fast(w) && b.is_none_or(fast) {
        conv::conv2d(x, w, b, stride, padding, conv::Relu::Off)
    } else {
        reference::conv2d(x, w, b, stride, padding)
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
    if fast(x) && fast(w) && b.is_none_or(fast) {
        conv::conv2d(x, w, b, stride, padding, conv::Relu::On)
    } else {
        reference::conv2d(x, w, b, stride, padding)?.relu()
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
    if fast(x) && fast(w) && b.is_none_or(fast) && fast(gamma) && fast(beta) {
        let h = conv::conv2d(x, w, b, stride, padding, conv::Relu::MaskedByConsumer)?;
        batch_norm::batch_norm_train(&h, gamma, beta, eps, true)
    } else {
        batch_norm_train(&conv2d_relu(x, w, b, stride, padding)?, gamma, beta, eps)
    }
}

/// Max pooling with `valid` padding (Keras' default), any size and stride.
/// Its gradient goes to the window's first maximum (candle's own
/// `max_pool2d` backward scales it by 1/K² and refuses size ≠ stride).
pub fn max_pool2d(x: &Tensor, size: usize, stride: usize) -> Result<Tensor> {
    if fast(x) {
        pool::max_pool2d(x, size, stride)
    } else {
        reference::max_pool2d(x, size, stride)
    }
}

/// Average pooling with `valid` padding, any size and stride.
pub fn avg_pool2d(x: &Tensor, size: usize, stride: usize) -> Result<Tensor> {
    if fast(x) {
        pool::avg_pool2d(x, size, stride)
    } else {
        reference::avg_pool2d(x, size, stride)
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
    if fast(x) && fast(gamma) && fast(beta) {
        batch_norm::batch_norm_train(x, gamma, beta, eps, false)
    } else {
        reference::batch_norm_train(x, gamma, beta, eps)
    }
}

pub use channel_affine::channel_affine;

/// `x · mask` for a constant `mask` of x's shape (dropout): on CPU f32
/// one node whose backward skips the mask's unused gradient.
pub fn mask_mul(x: &Tensor, mask: &Tensor) -> Result<Tensor> {
    if fast(x) && fast(mask) && x.dims() == mask.dims() {
        mask::mask_mul(x, mask)
    } else {
        x.mul(mask)
    }
}

/// ReLU with a one-pass backward; gradient 0 at 0 (PyTorch, TensorFlow).
pub fn relu(x: &Tensor) -> Result<Tensor> {
    if fast(x) { relu::relu(x) } else { x.relu() }
}

/// The f32 data of a contiguous CPU operand.
fn storage<'a>(s: &'a CpuStorage, l: &Layout) -> Result<&'a [f32]> {
    let CpuStorage::F32(v) = s else {
        bail!("dlp op: expected an f32 tensor");
    };
    let Some((start, end)) = l.contiguous_offsets() else {
        bail!("dlp op: expected a contiguous tensor");
    };
    Ok(&v[start..end])
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
