//! Convolution forward and backward as candle custom ops on CPU, built on
//! the direct kernels (`direct`, `wgrad`) where they apply, and on
//! im2col/col2im and the `gemm` crate elsewhere.
//!
//! Forward: per image, the direct kernel, or `y[F, P] = W[F, K] · col[K,
//! P]` with the bias pre-filled into `y`. Backward: the input gradient is
//! a forward convolution of `dy` with flipped kernels where that runs on
//! the direct kernel or C ≥ F, else `col2im(Wᵀ · dy)` per image (candle's
//! own goes through a GEMM-less `conv_transpose2d` loop); the weight and
//! bias gradients are, per fixed-size chunk of images, `[col; 1][K + 1,
//! G·P] · dyᵀ[G·P, F]` (the direct kernel of `wgrad` at stride 1, one GEMM
//! elsewhere), transposed once at the end, the partial sums added in chunk
//! order. Chunk sizes depend on the shapes only, so results are the same
//! bits whatever the thread count.

use super::direct::Direct;
use super::scratch::with_scratch;
use super::sgemm::{MatRef, parallelism, sgemm};
use super::storage;
use super::transpose::transpose;
use super::wgrad::WeightGrad;
use crate::ops::Relu;
use crate::ops::geometry::{ConvGeometry, geometry};
use crate::plan::Padding;
use candle_core::{CpuStorage, CustomOp2, CustomOp3, Layout, Result, Shape, Tensor, bail};
use rayon::prelude::*;

/// Target number of columns (G·P) of one weight-gradient chunk.
/// Planes of 32×32 and more go one image per chunk (no copy of `dy`).
const CHUNK_COLUMNS: usize = 1024;

/// The differentiable fast convolution (CPU, f32), followed by a ReLU
/// unless `relu` is [`Relu::Off`] (fused: applied per image while the
/// output is in cache; its gradient mask as `relu` says).
pub(crate) fn conv2d(
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    stride: usize,
    padding: Padding,
    relu: Relu,
) -> Result<Tensor> {
    let g = geometry(x, w, stride, padding)?;
    let x = x.contiguous()?;
    let w = w.contiguous()?;
    match b {
        Some(b) => {
            if b.dims1()? != g.f {
                bail!(
                    "conv2d: bias has {} entries for {} filters",
                    b.dims1()?,
                    g.f
                );
            }
            x.apply_op3(&w, &b.contiguous()?, Conv2dBias(g, relu))
        }
        None => x.apply_op2(&w, Conv2dNoBias(g, relu)),
    }
}

fn forward(
    g: &ConvGeometry,
    n: usize,
    x: &[f32],
    w: &[f32],
    b: Option<&[f32]>,
    relu: bool,
) -> Vec<f32> {
    match Direct::new(g, w) {
        Some(d) => forward_direct(&d, n, x, b, relu),
        None => forward_im2col(g, n, x, w, b, relu),
    }
}

/// [`forward`] by the direct kernel, images in parallel.
fn forward_direct(d: &Direct, n: usize, x: &[f32], b: Option<&[f32]>, relu: bool) -> Vec<f32> {
    let g = d.geometry();
    let len = g.f * g.p();
    // Not zeroed first: the kernel stores every output.
    let mut y = Vec::with_capacity(n * len);
    if len > 0 {
        let out = &mut y.spare_capacity_mut()[..n * len];
        out.par_chunks_mut(len).enumerate().for_each(|(i, yn)| {
            let xn = &x[i * g.image_len()..(i + 1) * g.image_len()];
            with_scratch(d.scratch_len(), |s| d.image(xn, yn, b, relu, s));
        });
    }
    // SAFETY: `Direct::image` stored all `len` outputs of each of the `n`
    // images (a panic would have unwound before this line).
    unsafe { y.set_len(n * len) };
    y
}

/// [`forward`] by im2col and `gemm`.
fn forward_im2col(
    g: &ConvGeometry,
    n: usize,
    x: &[f32],
    w: &[f32],
    b: Option<&[f32]>,
    relu: bool,
) -> Vec<f32> {
    let (k, p, f) = (g.k(), g.p(), g.f);
    let mut y = vec![0f32; n * f * p];
    if f * p == 0 {
        return y;
    }
    let threads = rayon::current_num_threads();
    let inner = if n >= threads { 1 } else { threads };
    let run = |(i, yn): (usize, &mut [f32])| {
        let xn = &x[i * g.image_len()..(i + 1) * g.image_len()];
        if let Some(b) = b {
            for (row, &bias) in yn.chunks_mut(p).zip(b) {
                row.fill(bias);
            }
        }
        let (a, par) = (MatRef::rows(w, k), parallelism(inner));
        if g.is_pointwise() {
            sgemm(f, p, k, yn, p, b.is_some(), a, MatRef::rows(xn, p), par);
        } else {
            // Tiles of output rows keep the column matrix in L2.
            let tile = g.tile_rows(k);
            with_scratch(k * tile * g.ow, |col| {
                for r0 in (0..g.oh).step_by(tile) {
                    let r1 = (r0 + tile).min(g.oh);
                    let cols = (r1 - r0) * g.ow;
                    g.im2col(xn, col, cols, r0..r1);
                    let c = MatRef::rows(col, cols);
                    sgemm(f, cols, k, &mut yn[r0 * g.ow..], p, b.is_some(), a, c, par);
                }
            });
        }
        if relu {
            for v in yn.iter_mut() {
                *v = v.max(0.0);
            }
        }
    };
    if inner == 1 {
        y.par_chunks_mut(f * p).enumerate().for_each(run);
    } else {
        y.chunks_mut(f * p).enumerate().for_each(run);
    }
    y
}

fn out_shape(g: &ConvGeometry, l: &Layout) -> Result<(usize, Shape)> {
    let n = l.dims()[0];
    Ok((n, Shape::from((n, g.f, g.oh, g.ow))))
}

/// The gradient of the convolution's own output: `dy`, masked by the
/// fused ReLU (`y > 0`) when there is one.
fn output_grad(y: &Tensor, dy: &Tensor, relu: bool) -> Result<Tensor> {
    if relu {
        super::relu::relu_grad(y, dy)
    } else {
        dy.contiguous()
    }
}

/// The input gradient, skipped when the input needs none (the first
/// layer's input is data, not a variable or the result of one).
fn input_grad(x: &Tensor, w: &Tensor, dy: &Tensor, g: ConvGeometry) -> Result<Option<Tensor>> {
    if !x.track_op() {
        return Ok(None);
    }
    Ok(Some(dy.apply_op2_no_bwd(w, &ConvInputGrad(g))?))
}

/// Convolution with a bias: operands (x, w, b).
struct Conv2dBias(ConvGeometry, Relu);

impl CustomOp3 for Conv2dBias {
    fn name(&self) -> &'static str {
        "dlp-conv2d"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (x, w, b) = (storage(s1, l1)?, storage(s2, l2)?, storage(s3, l3)?);
        let (n, shape) = out_shape(&self.0, l1)?;
        Ok((
            CpuStorage::F32(forward(&self.0, n, x, w, Some(b), self.1 != Relu::Off)),
            shape,
        ))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _b: &Tensor,
        y: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let g = self.0;
        let dy = output_grad(y, dy, self.1 == Relu::On)?;
        let dx = input_grad(x, w, &dy, g)?;
        let dwb = x.apply_op2_no_bwd(&dy, &ConvWeightGrad { g, bias: true })?;
        let dw = dwb.narrow(1, 0, g.k())?.reshape(w.shape())?;
        let db = dwb.narrow(1, g.k(), 1)?.reshape(g.f)?;
        Ok((dx, Some(dw), Some(db)))
    }
}

/// Convolution without a bias: operands (x, w).
struct Conv2dNoBias(ConvGeometry, Relu);

impl CustomOp2 for Conv2dNoBias {
    fn name(&self) -> &'static str {
        "dlp-conv2d-nobias"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (x, w) = (storage(s1, l1)?, storage(s2, l2)?);
        let (n, shape) = out_shape(&self.0, l1)?;
        Ok((
            CpuStorage::F32(forward(&self.0, n, x, w, None, self.1 != Relu::Off)),
            shape,
        ))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        y: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let g = self.0;
        let dy = output_grad(y, dy, self.1 == Relu::On)?;
        let dx = input_grad(x, w, &dy, g)?;
        let dw = x
            .apply_op2_no_bwd(&dy, &ConvWeightGrad { g, bias: false })?
            .reshape(w.shape())?;
        Ok((dx, Some(dw)))
    }
}

/// For a stride-1 convolution, its input gradient as a forward
/// convolution: `dy` (F channels) correlated with the kernels flipped in
/// both axes and with input and output channels swapped, padded by
/// `k − 1 − pad` before (and whatever reaches the input size after).
/// That runs as one forward (the direct kernel, or im2col + a GEMM K = 9F
/// deep) instead of a GEMM only F deep followed by col2im's scattered
/// adds: with im2col the 32→32 layer at 32×32 went from 75–87 to about
/// 130 GFLOP/s.
fn as_forward(g: &ConvGeometry, w: &[f32]) -> Option<(ConvGeometry, Vec<f32>)> {
    if g.stride != 1 || g.pad_top >= g.kh || g.pad_left >= g.kw {
        return None;
    }
    let t = ConvGeometry {
        c: g.f,
        h: g.oh,
        w: g.ow,
        f: g.c,
        kh: g.kh,
        kw: g.kw,
        stride: 1,
        pad_top: g.kh - 1 - g.pad_top,
        pad_left: g.kw - 1 - g.pad_left,
        oh: g.h,
        ow: g.w,
    };
    // With fewer input than output channels the flipped product is only C
    // rows tall, and for im2col col2im's (K × F)·(F × P) shape does better
    // (measured at 3→32, 32→64, 64→128); the direct kernel does not care
    // (its input gradient of 32→64 at 16×16 and 64→128 at 8×8 took
    // 0.61–0.99× col2im's time, three alternations in one process).
    if g.c < g.f && !Direct::takes(&t) {
        return None;
    }
    // flipped[c][f][i][j] = w[f][c][kh − 1 − i][kw − 1 − j]
    let (kh, kw) = (g.kh, g.kw);
    let mut flipped = vec![0f32; w.len()];
    for (fi, wf) in w.chunks_exact(g.c * kh * kw).enumerate() {
        for (ci, wc) in wf.chunks_exact(kh * kw).enumerate() {
            let dst = &mut flipped[(ci * g.f + fi) * kh * kw..][..kh * kw];
            for (d, v) in dst.iter_mut().zip(wc.iter().rev()) {
                *d = *v;
            }
        }
    }
    Some((t, flipped))
}

/// Gradient of the input: operands (dy, w) → dx (N, C, H, W).
struct ConvInputGrad(ConvGeometry);

impl CustomOp2 for ConvInputGrad {
    fn name(&self) -> &'static str {
        "dlp-conv2d-input-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let g = &self.0;
        let (dy, w) = (storage(s1, l1)?, storage(s2, l2)?);
        let (k, p, f, img) = (g.k(), g.p(), g.f, g.image_len());
        let n = l1.dims()[0];
        let out_shape = Shape::from((n, g.c, g.h, g.w));
        if let Some((gt, flipped)) = as_forward(g, w) {
            let dx = forward(&gt, n, dy, &flipped, None, false);
            return Ok((CpuStorage::F32(dx), out_shape));
        }
        let mut dx = vec![0f32; n * img];
        let threads = rayon::current_num_threads();
        let inner = if n >= threads { 1 } else { threads };
        let run = |(i, dxn): (usize, &mut [f32])| {
            let dyn_ = &dy[i * f * p..(i + 1) * f * p];
            // dcol[K, P] = Wᵀ[K, F] · dy[F, P], by tiles of output rows.
            let (a, par) = (MatRef::transposed(w, k), parallelism(inner));
            if g.is_pointwise() {
                sgemm(k, p, f, dxn, p, false, a, MatRef::rows(dyn_, p), par);
            } else {
                let tile = g.tile_rows(k);
                with_scratch(k * tile * g.ow, |dcol| {
                    for r0 in (0..g.oh).step_by(tile) {
                        let r1 = (r0 + tile).min(g.oh);
                        let cols = (r1 - r0) * g.ow;
                        let b = MatRef {
                            data: &dyn_[r0 * g.ow..],
                            rs: p,
                            cs: 1,
                        };
                        sgemm(k, cols, f, dcol, cols, false, a, b, par);
                        g.col2im(dcol, cols, r0..r1, dxn);
                    }
                });
            }
        };
        if img > 0 {
            if inner == 1 {
                dx.par_chunks_mut(img).enumerate().for_each(run);
            } else {
                dx.chunks_mut(img).enumerate().for_each(run);
            }
        }
        Ok((CpuStorage::F32(dx), out_shape))
    }
}

/// Gradient of the weights (and bias): operands (x, dy) → (F, K [+ 1]),
/// the last column being the bias gradient when `bias`.
struct ConvWeightGrad {
    g: ConvGeometry,
    bias: bool,
}

impl CustomOp2 for ConvWeightGrad {
    fn name(&self) -> &'static str {
        "dlp-conv2d-weight-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let g = &self.g;
        let (x, dy) = (storage(s1, l1)?, storage(s2, l2)?);
        let n = l1.dims()[0];
        let dw = weight_grad(g, self.bias, n, x, dy, WeightGrad::new(g).as_ref());
        let shape = Shape::from((g.f, g.k() + usize::from(self.bias)));
        Ok((CpuStorage::F32(dw), shape))
    }
}

/// The weight (and bias) gradient `(F, K [+ 1])` of `n` images, through
/// the direct kernel when `direct` is given, else im2col and `gemm`.
fn weight_grad(
    g: &ConvGeometry,
    bias: bool,
    n: usize,
    x: &[f32],
    dy: &[f32],
    direct: Option<&WeightGrad>,
) -> Vec<f32> {
    let (k, p, f, img) = (g.k(), g.p(), g.f, g.image_len());
    let k1 = k + usize::from(bias);
    if n == 0 || p == 0 {
        return vec![0f32; f * k1];
    }
    // Images per chunk: from the shapes alone, never the thread count.
    let per = (CHUNK_COLUMNS / p).clamp(1, n);
    let chunks = n.div_ceil(per);
    let threads = rayon::current_num_threads();
    let inner = if chunks >= threads { 1 } else { threads };
    // One chunk's (K [+ 1], F) partial: by the direct kernel, or
    // `[col; 1] · dyᵀ` with the column matrix as the row-major left
    // operand and `dy` transposed to pixel-major rows, the layouts `gemm`
    // packs without strided gathers (the (F, P)·(P, K) form reads the
    // column matrix across rows and ran at a third of the speed).
    let partial = |ci: usize| -> Vec<f32> {
        let (n0, n1) = (ci * per, ((ci + 1) * per).min(n));
        if let Some(d) = direct {
            let (xs, dys) = (&x[n0 * img..n1 * img], &dy[n0 * f * p..n1 * f * p]);
            return d.chunk(xs, dys, n1 - n0, bias, inner > 1);
        }
        let cols = (n1 - n0) * p;
        let mut out = vec![0f32; k1 * f];
        with_scratch((k1 + f) * cols, |buf| {
            let (col, dyt) = buf.split_at_mut(k1 * cols);
            for (gi, im) in (n0..n1).enumerate() {
                let xn = &x[im * img..(im + 1) * img];
                g.im2col(xn, &mut col[gi * p..], cols, 0..g.oh);
                let dyn_ = &dy[im * f * p..(im + 1) * f * p];
                transpose(dyn_, f, p, &mut dyt[gi * p * f..(gi + 1) * p * f]);
            }
            if bias {
                col[k * cols..].fill(1.0);
            }
            let (a, b) = (MatRef::rows(col, cols), MatRef::rows(dyt, f));
            sgemm(k1, f, cols, &mut out, f, false, a, b, parallelism(inner));
        });
        out
    };
    let partials: Vec<Vec<f32>> = if inner == 1 {
        (0..chunks).into_par_iter().map(partial).collect()
    } else {
        (0..chunks).map(partial).collect()
    };
    let mut parts = partials.into_iter();
    let mut sum = parts.next().unwrap_or_else(|| vec![0f32; f * k1]);
    for part in parts {
        for (s, v) in sum.iter_mut().zip(&part) {
            *s += v;
        }
    }
    let mut dw = vec![0f32; f * k1];
    transpose(&sum, k1, f, &mut dw);
    dw
}

#[cfg(test)]
mod timing {
    use super::*;
    use candle_core::Device;
    use std::time::Instant;

    /// Throughput of each kernel at the CIFAR model's shapes (batch 128),
    /// after the rate of one large square product through the same `gemm`
    /// (the most these kernels can reach on the machine):
    /// `cargo test --release --lib conv_kernel_timings -- --ignored --nocapture`.
    #[test]
    #[ignore = "timing, not a check"]
    fn conv_kernel_timings() -> Result<()> {
        let threads = rayon::current_num_threads();
        let m = 2048;
        let a: Vec<f32> = (0..m * m).map(|i| (i % 7) as f32 * 0.1).collect();
        let mut c = vec![0f32; m * m];
        let mut best = 0f64;
        for _ in 0..4 {
            let t = Instant::now();
            let (ra, par) = (MatRef::rows(&a, m), parallelism(threads));
            sgemm(m, m, m, &mut c, m, false, ra, ra, par);
            best = best.max(2.0 * (m * m * m) as f64 / t.elapsed().as_secs_f64() / 1e9);
        }
        println!("gemm {m}x{m}x{m}, {threads} threads: {best:.1} GF/s (best of 4)");
        let shapes = [
            (3, 32, 32),
            (32, 32, 32),
            (32, 16, 64),
            (64, 16, 64),
            (64, 8, 128),
            (128, 8, 128),
            // ResNet-20's stages
            (16, 32, 16),
            (32, 16, 32),
            (64, 8, 64),
        ];
        let n = 128;
        for (c, side, f) in shapes {
            let x = Tensor::randn(0f32, 1., (n, c, side, side), &Device::Cpu)?;
            let w = Tensor::randn(0f32, 1., (f, c, 3, 3), &Device::Cpu)?;
            let b = Tensor::zeros(f, candle_core::DType::F32, &Device::Cpu)?;
            let g = geometry(&x, &w, 1, Padding::Same)?;
            let flops = 2.0 * (n * g.f * g.p() * g.k()) as f64;
            let time = |f: &dyn Fn() -> Result<Tensor>| -> Result<f64> {
                f()?;
                let t = Instant::now();
                for _ in 0..3 {
                    f()?;
                }
                Ok(t.elapsed().as_secs_f64() / 3.0)
            };
            // The forward both ways, alternated, best of 5 each.
            let (xs, ws, bs) = (
                x.flatten_all()?.to_vec1::<f32>()?,
                w.flatten_all()?.to_vec1::<f32>()?,
                vec![0f32; f],
            );
            let (mut td, mut tc) = (f64::MAX, f64::MAX);
            for _ in 0..5 {
                if let Some(d) = super::super::direct::Direct::new(&g, &ws) {
                    let t = Instant::now();
                    forward_direct(&d, n, &xs, Some(&bs), false);
                    td = td.min(t.elapsed().as_secs_f64());
                }
                let t = Instant::now();
                forward_im2col(&g, n, &xs, &ws, Some(&bs), false);
                tc = tc.min(t.elapsed().as_secs_f64());
            }
            println!(
                "{c:>3}->{f:<3} {side}x{side}: direct {:5.1} GF/s, im2col {:5.1} GF/s",
                flops / td / 1e9,
                flops / tc / 1e9
            );
            let y = x.apply_op3_no_bwd(&w, &b, &Conv2dBias(g, Relu::Off))?;
            // The weight gradient both ways, alternated, best of 5 each.
            let ys = y.flatten_all()?.to_vec1::<f32>()?;
            let (mut td, mut tc) = (f64::MAX, f64::MAX);
            for _ in 0..5 {
                if let Some(d) = WeightGrad::new(&g) {
                    let t = Instant::now();
                    weight_grad(&g, true, n, &xs, &ys, Some(&d));
                    td = td.min(t.elapsed().as_secs_f64());
                }
                let t = Instant::now();
                weight_grad(&g, true, n, &xs, &ys, None);
                tc = tc.min(t.elapsed().as_secs_f64());
            }
            println!(
                "{c:>3}->{f:<3} {side}x{side}: dw direct {:5.1} GF/s, im2col {:5.1} GF/s",
                flops / td / 1e9,
                flops / tc / 1e9
            );
            let tf = time(&|| x.apply_op3_no_bwd(&w, &b, &Conv2dBias(g, Relu::Off)))?;
            let ti = time(&|| y.apply_op2_no_bwd(&w, &ConvInputGrad(g)))?;
            let tw = time(&|| x.apply_op2_no_bwd(&y, &ConvWeightGrad { g, bias: true }))?;
            println!(
                "{c:>3}->{f:<3} {side}x{side}: fwd {:6.1} ms {:5.1} GF/s | dx {:6.1} ms {:5.1} GF/s | dw {:6.1} ms {:5.1} GF/s",
                tf * 1e3,
                flops / tf / 1e9,
                ti * 1e3,
                flops / ti / 1e9,
                tw * 1e3,
                flops / tw / 1e9
            );
        }
        Ok(())
    }
}
