//! The weight gradient of stride-1 convolutions as a direct kernel: no
//! column matrix.
//!
//! `dW[k][f] = Σ_pixels x[tap k of the pixel] · dy[f][pixel]`. im2col +
//! `gemm` wrote the column matrix (nine copies of the input for 3×3),
//! then `gemm` packed it again. Here each image is copied once,
//! zero-padded ([`Padded`]), and `dy` transposed to pixel-major rows; a
//! tile of up to 6 taps × 16 filters sits in 12 of AVX2's registers and,
//! for every output pixel, loads the pixel's 16 `dy` values as 2 vectors
//! and broadcasts its 6 inputs straight from the padded copy (each tap's
//! input is at the pixel's base plus the tap's offset). The bias gradient
//! is the plain sum of `dy` over pixels.
//!
//! Every weight's gradient sums the pixels of one image in row order, then
//! the images in order, in one accumulator: the result depends on the
//! shapes only, never on the thread count (threads take whole tiles of
//! taps).

use super::direct::{Padded, even_tiles, isa, per_rows};
use super::scratch::with_scratch;
use super::transpose::transpose;
use crate::ops::geometry::ConvGeometry;
use rayon::prelude::*;

/// Taps per tile (one broadcast input each).
const TR: usize = 6;
const _: () = assert!(TR == 6, "per_rows! picks kernels for 1 to 6 rows");
/// Filters per tile: two AVX2 vectors.
const TF: usize = 16;

/// One stride-1 convolution's weight gradient.
pub(crate) struct WeightGrad {
    pad: Padded,
    /// The first tap of each tile ([`even_tiles`] of at most [`TR`]), then `K`.
    ktiles: Vec<usize>,
}

impl WeightGrad {
    /// `None` where the kernel does not compute the gradient: stride
    /// other than 1, an unpadded 1×1 kernel (no copies to save), filters
    /// not a multiple of 16, or a CPU without AVX2 and FMA
    /// (`DLP_CONV_ISA=im2col` also turns it off).
    pub(crate) fn new(g: &ConvGeometry) -> Option<WeightGrad> {
        isa()?;
        if g.stride != 1
            || g.is_pointwise()
            || g.f == 0
            || !g.f.is_multiple_of(TF)
            || g.p() == 0
            || g.k() == 0
        {
            return None;
        }
        let pad = Padded::new(g);
        let ktiles = even_tiles(g.k(), TR);
        // What the unsafe tiles rely on, fixed here for good: the last
        // pixel's last tap is inside the padded image, the tap tiles cover
        // the taps in order.
        let last = pad.offsets.last().copied().unwrap_or(0);
        assert!((g.oh - 1) * pad.wp + g.ow - 1 + last < pad.len());
        assert!(ktiles.windows(2).all(|t| t[0] < t[1] && t[1] - t[0] <= TR));
        assert_eq!(ktiles.last(), Some(&g.k()));
        Some(WeightGrad { pad, ktiles })
    }

    /// Floats of scratch for `images` images: their padded copies and
    /// transposed `dy`.
    fn scratch_len(&self, images: usize) -> usize {
        images * (self.pad.len() + self.pad.g.p() * self.pad.g.f)
    }

    /// `(K [+ 1], F) = Σ over the images of [col; 1] · dyᵀ`, the last row
    /// (the bias gradient) when `bias`, for `images` images `x (C, H, W)`
    /// and their `dy (F, OH, OW)`; tiles of taps in parallel when
    /// `parallel`.
    pub(crate) fn chunk(
        &self,
        x: &[f32],
        dy: &[f32],
        images: usize,
        bias: bool,
        parallel: bool,
    ) -> Vec<f32> {
        let g = &self.pad.g;
        let (k, p, f, plen) = (g.k(), g.p(), g.f, self.pad.len());
        let k1 = k + usize::from(bias);
        assert!(x.len() >= images * g.image_len() && dy.len() >= images * f * p);
        let mut out = vec![0f32; k1 * f];
        with_scratch(self.scratch_len(images), |buf| {
            let (xpads, dyts) = buf.split_at_mut(images * plen);
            for i in 0..images {
                let xi = &x[i * g.image_len()..(i + 1) * g.image_len()];
                self.pad.pad(xi, &mut xpads[i * plen..(i + 1) * plen]);
                let di = &dy[i * f * p..(i + 1) * f * p];
                transpose(di, f, p, &mut dyts[i * p * f..(i + 1) * p * f]);
            }
            let (xpads, dyts) = (&*xpads, &*dyts);
            let (taps, bias_row) = out.split_at_mut(k * f);
            // Each tile of taps owns its rows of `out`.
            let mut tiles = Vec::with_capacity(self.ktiles.len() - 1);
            let mut rest = taps;
            for t in self.ktiles.windows(2) {
                let (mine, tail) = rest.split_at_mut((t[1] - t[0]) * f);
                tiles.push((t[0], t[1] - t[0], mine));
                rest = tail;
            }
            // Image by image, so one image's copy and `dy` stay in cache
            // while every tile reads them.
            for i in 0..images {
                let xi = &xpads[i * plen..(i + 1) * plen];
                let di = &dyts[i * p * f..(i + 1) * p * f];
                let run = |(k0, rows, o): &mut (usize, usize, &mut [f32])| {
                    let offs = &self.pad.offsets[*k0..*k0 + *rows];
                    for f0 in (0..f).step_by(TF) {
                        // SAFETY: the tile reads `xi[r·wp + c + off]` for
                        // every output pixel (r, c) and `off` in `offs`,
                        // inside the padded image (asserted at
                        // construction), `di[q·f + f0 .. + 16]` for q < P
                        // (f0 + 16 ≤ F), and writes `o[j·f + f0 .. + 16]`
                        // for j < rows ≤ 6, rows of this tile; AVX2 and FMA
                        // were detected (`isa`).
                        unsafe { tile(xi, offs, self.pad.wp, g, &di[f0..], f, &mut o[f0..]) };
                    }
                };
                if parallel {
                    tiles.par_iter_mut().for_each(run);
                } else {
                    tiles.iter_mut().for_each(run);
                }
            }
            if bias {
                for d in dyts.chunks_exact(f) {
                    bias_row.iter_mut().zip(d).for_each(|(b, v)| *b += v);
                }
            }
        });
        out
    }
}

/// One tile: `offs.len()` ≤ 6 taps × 16 filters over one image.
///
/// # Safety
/// As [`WeightGrad::chunk`]'s comment says.
unsafe fn tile(
    x: &[f32],
    offs: &[usize],
    wp: usize,
    g: &ConvGeometry,
    dy: &[f32],
    ld: usize,
    out: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: forwarded from the caller.
    unsafe {
        let f = per_rows!(offs.len(), x86::tile_avx2);
        f(
            x.as_ptr(),
            offs,
            wp,
            g.oh,
            g.ow,
            dy.as_ptr(),
            ld,
            out.as_mut_ptr(),
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (x, offs, wp, g, dy, ld, out);
}

#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
mod x86 {
    use std::arch::x86_64::*;

    /// `R` taps × 2 vectors of 8 filters: 12 accumulators, 2 `dy`
    /// vectors and a broadcast input, 15 of the 16 registers. `out` rows
    /// are `ld` apart, as `dy`'s pixel rows are.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn tile_avx2<const R: usize>(
        x: *const f32,
        offs: &[usize],
        wp: usize,
        oh: usize,
        ow: usize,
        dy: *const f32,
        ld: usize,
        out: *mut f32,
    ) {
        // SAFETY: bounds as `super::tile` requires.
        unsafe {
            let xs: [*const f32; R] = std::array::from_fn(|j| x.add(offs[j]));
            let mut acc: [[__m256; 2]; R] = std::array::from_fn(|j| {
                let o = out.add(j * ld);
                [_mm256_loadu_ps(o), _mm256_loadu_ps(o.add(8))]
            });
            let mut d = dy;
            for r in 0..oh {
                let row = r * wp;
                for c in row..row + ow {
                    let d0 = _mm256_loadu_ps(d);
                    let d1 = _mm256_loadu_ps(d.add(8));
                    for (a, xj) in acc.iter_mut().zip(&xs) {
                        let b = _mm256_broadcast_ss(&*xj.add(c));
                        a[0] = _mm256_fmadd_ps(b, d0, a[0]);
                        a[1] = _mm256_fmadd_ps(b, d1, a[1]);
                    }
                    d = d.add(ld);
                }
            }
            for (j, a) in acc.iter().enumerate() {
                let o = out.add(j * ld);
                _mm256_storeu_ps(o, a[0]);
                _mm256_storeu_ps(o.add(8), a[1]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Padding;
    use candle_core::{Device, Tensor};

    /// `[dW; db]` (K + 1, F) of `n` images by the definition, in f64.
    fn naive(g: &ConvGeometry, n: usize, x: &[f32], dy: &[f32]) -> Vec<f64> {
        let (k, f, p) = (g.k(), g.f, g.p());
        let mut out = vec![0f64; (k + 1) * f];
        for im in 0..n {
            for (fi, (r, col)) in (0..f)
                .flat_map(|fi| (0..g.oh).flat_map(move |r| (0..g.ow).map(move |c| (fi, (r, c)))))
            {
                let d = f64::from(dy[(im * f + fi) * p + r * g.ow + col]);
                out[k * f + fi] += d;
                for (t, (c, i, j)) in (0..g.c)
                    .flat_map(|c| (0..g.kh).flat_map(move |i| (0..g.kw).map(move |j| (c, i, j))))
                    .enumerate()
                {
                    let (yy, xx) = (r + i, col + j);
                    if yy < g.pad_top || xx < g.pad_left {
                        continue;
                    }
                    let (yy, xx) = (yy - g.pad_top, xx - g.pad_left);
                    if yy < g.h && xx < g.w {
                        let v = f64::from(x[((im * g.c + c) * g.h + yy) * g.w + xx]);
                        out[t * f + fi] += v * d;
                    }
                }
            }
        }
        out
    }

    #[test]
    fn matches_the_definition_in_parallel_or_not() -> candle_core::Result<()> {
        // (images, c, h, w, f, kernel, padding): 1, 2 and 3 filter tiles,
        // tap counts that are not a multiple of 6, odd and even kernels,
        // a kernel larger than the image, rows of any width.
        let shapes = [
            (2, 3, 8, 8, 16, 3, Padding::Same),
            (3, 2, 10, 10, 32, 3, Padding::Valid),
            (1, 4, 7, 9, 16, 5, Padding::Same),
            (2, 5, 6, 6, 16, 2, Padding::Same),
            (1, 1, 3, 5, 16, 5, Padding::Same),
            (2, 16, 8, 8, 48, 3, Padding::Same),
        ];
        let dev = Device::Cpu;
        for (si, &(n, c, h, w, f, k, padding)) in shapes.iter().enumerate() {
            let x = Tensor::randn(0f32, 1., (n, c, h, w), &dev)?;
            let wt = Tensor::zeros((f, c, k, k), candle_core::DType::F32, &dev)?;
            let g = crate::ops::geometry::geometry(&x, &wt, 1, padding)?;
            let dy = Tensor::randn(0f32, 1., (n, f, g.oh, g.ow), &dev)?;
            let (x, dy) = (
                x.flatten_all()?.to_vec1::<f32>()?,
                dy.flatten_all()?.to_vec1::<f32>()?,
            );
            let Some(wg) = WeightGrad::new(&g) else {
                assert!(isa().is_none(), "shape {si}: {g:?} refused");
                continue;
            };
            let want = naive(&g, n, &x, &dy);
            let tol = 1e-5 * ((n * g.p()) as f64).sqrt();
            for bias in [false, true] {
                let k1 = g.k() + usize::from(bias);
                let mut outs = Vec::new();
                for parallel in [false, true] {
                    let out = wg.chunk(&x, &dy, n, bias, parallel);
                    assert_eq!(out.len(), k1 * f);
                    for (i, (a, e)) in out.iter().zip(&want).enumerate() {
                        let a = f64::from(*a);
                        assert!(
                            (a - e).abs() <= tol * (1.0 + e.abs()),
                            "shape {si} bias {bias}: out[{i}] = {a}, want {e}"
                        );
                    }
                    outs.push(out.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
                }
                assert_eq!(outs[0], outs[1], "shape {si}: bits differ in parallel");
            }
        }
        Ok(())
    }

    #[test]
    fn shapes_it_does_not_compute_go_to_im2col() -> candle_core::Result<()> {
        let dev = Device::Cpu;
        let cases = [
            ((4, 8, 8), (16, 3), 2), // stride 2
            ((4, 8, 8), (16, 1), 1), // pointwise
            ((4, 8, 8), (8, 3), 1),  // 8 filters: not a multiple of 16
        ];
        for (i, ((c, h, w), (f, k), stride)) in cases.into_iter().enumerate() {
            let x = Tensor::zeros((1, c, h, w), candle_core::DType::F32, &dev)?;
            let wt = Tensor::zeros((f, c, k, k), candle_core::DType::F32, &dev)?;
            let g = crate::ops::geometry::geometry(&x, &wt, stride, Padding::Same)?;
            assert!(WeightGrad::new(&g).is_none(), "case {i}");
        }
        Ok(())
    }
}
