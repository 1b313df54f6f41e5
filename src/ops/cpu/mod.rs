//! The CPU kernels of the ops: f32, NCHW, contiguous, each a candle custom
//! op with its own backward pass where it is differentiable. Only
//! [`crate::ops`] calls them, after deciding that the operands are CPU f32
//! tensors.
//!
//! What made them fast (each measured before and after; figures in
//! `benches/README.md` and the commit messages): the weight gradient of
//! stride-1 layers as a direct kernel over the padded image and `dy`
//! transposed to pixel-major rows (`wgrad`), and elsewhere as `[col;
//! 1]·dyᵀ`, so `gemm` packs both operands contiguously; the input
//! gradient of stride-1 layers with C ≥ F as a forward convolution with
//! flipped kernels (no col2im); the forward of stride-1 layers as a direct
//! register-tiled kernel with no column matrix (`direct`, AVX2/AVX-512
//! chosen at run time); im2col copying shifted runs of rows;
//! batch-norm sums in vector lanes; a ReLU after batch norm applied in its
//! output pass and masked in its backward; gemm's x86-v4 kernels; the 2×2 max-pool
//! backward on fixed-size lanes of 8 windows; the ReLU's gradient mask of a
//! convolution feeding batch norm applied in batch norm's backward; dropout
//! masks drawn in parallel blocks. Outside `ops`: candle-core patched to
//! store a node's first gradient instead of adding it to zeros (`vendor/`)
//! and an allocator that keeps freed memory (`crate::alloc`). Tried and not
//! kept: a convolution as nine shifted `gemm` products over a padded image
//! (slower on every layer shape), an 8×8-tile `dy` transpose (it did not
//! vectorise) and two other weight-gradient kernels (see `direct`).

pub(super) mod adam;
pub(super) mod batch_norm;
pub(super) mod channel_affine;
mod contiguous;
pub(super) mod conv;
pub(super) mod direct;
pub(super) mod dropout;
pub(super) mod mask;
pub(super) mod pool;
pub(super) mod relu;
mod scratch;
mod sgemm;
mod transpose;
mod wgrad;

use candle_core::{CpuStorage, Layout, Result, bail};

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
