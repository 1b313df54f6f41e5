//! The shape arithmetic of one 2-D convolution and the im2col/col2im
//! packing that turns it into matrix products.

use super::same_padding;
use crate::plan::Padding;
use candle_core::{Result, Tensor, bail};
use std::ops::Range;

/// Sizes of a convolution of one (C, H, W) image by (F, C, KH, KW)
/// filters, with explicit (top, left) zero padding already resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ConvGeometry {
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub f: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: usize,
    pub pad_top: usize,
    pub pad_left: usize,
    pub oh: usize,
    pub ow: usize,
}

impl ConvGeometry {
    /// Rows of the column matrix: one per (channel, kernel row, kernel column).
    pub(crate) fn k(&self) -> usize {
        self.c * self.kh * self.kw
    }

    /// Output pixels per image (columns of the column matrix).
    pub(crate) fn p(&self) -> usize {
        self.oh * self.ow
    }

    pub(crate) fn image_len(&self) -> usize {
        self.c * self.h * self.w
    }

    /// A 1×1, stride-1, unpadded convolution: the image is its own column matrix.
    pub(crate) fn is_pointwise(&self) -> bool {
        self.kh == 1
            && self.kw == 1
            && self.stride == 1
            && self.pad_top == 0
            && self.pad_left == 0
            && self.oh == self.h
            && self.ow == self.w
    }

    /// The output columns `lo..hi` whose input column `ow·s + j − pad_left`
    /// lies inside the image, for kernel column `j`.
    fn col_range(&self, j: usize) -> (usize, usize) {
        let s = self.stride;
        let lo = self.pad_left.saturating_sub(j).div_ceil(s).min(self.ow);
        let hi = if self.w + self.pad_left > j {
            (self.w + self.pad_left - j).div_ceil(s).min(self.ow)
        } else {
            0
        };
        (lo, hi.max(lo))
    }

    /// The input row read by output row `oh` for kernel row `i`, if inside.
    fn in_row(&self, oh: usize, i: usize) -> Option<usize> {
        (oh * self.stride + i)
            .checked_sub(self.pad_top)
            .filter(|&r| r < self.h)
    }

    /// Output rows per tile so that a column-matrix tile of `k` rows stays
    /// within about half of a 1 MiB L2 cache (the whole matrix of the
    /// 32→32 convolution at 32×32 is 1.2 MB per image).
    pub(crate) fn tile_rows(&self, k: usize) -> usize {
        const TILE_FLOATS: usize = 96 * 1024;
        (TILE_FLOATS / (k * self.ow).max(1)).clamp(1, self.oh.max(1))
    }

    /// Writes the column matrix of `img` (C·H·W) for output rows `rows`
    /// into `col`: row r = (c, i, j) starts at `col[r * ld]` and holds the
    /// inputs of those rows' output pixels.
    pub(crate) fn im2col(&self, img: &[f32], col: &mut [f32], ld: usize, rows: Range<usize>) {
        let (ow, s) = (self.ow, self.stride);
        let p = rows.len() * ow;
        for c in 0..self.c {
            let plane = &img[c * self.h * self.w..(c + 1) * self.h * self.w];
            for i in 0..self.kh {
                for j in 0..self.kw {
                    let r = (c * self.kh + i) * self.kw + j;
                    let dst = &mut col[r * ld..r * ld + p];
                    let (lo, hi) = self.col_range(j);
                    if s == 1 && ow == self.w {
                        self.shifted_rows(plane, dst, rows.clone(), i, j, (lo, hi));
                        continue;
                    }
                    for (t, oh) in rows.clone().enumerate() {
                        let drow = &mut dst[t * ow..(t + 1) * ow];
                        let Some(ih) = self.in_row(oh, i) else {
                            drow.fill(0.0);
                            continue;
                        };
                        let src = &plane[ih * self.w..(ih + 1) * self.w];
                        drow[..lo].fill(0.0);
                        drow[hi..].fill(0.0);
                        if s == 1 {
                            let start = lo + j - self.pad_left;
                            drow[lo..hi].copy_from_slice(&src[start..start + hi - lo]);
                        } else {
                            for (o, d) in drow[lo..hi].iter_mut().enumerate() {
                                *d = src[(lo + o) * s + j - self.pad_left];
                            }
                        }
                    }
                }
            }
        }
    }

    /// One column-matrix row of `im2col` for kernel offset (i, j) when the
    /// stride is 1 and output rows are as wide as input rows: the entries
    /// of consecutive output rows are then consecutive input pixels shifted
    /// by `(i − pad_top)·w + j − pad_left`, so each run of rows inside the
    /// image is one copy, after which the `lo`/`hi` edge columns (read
    /// across a row boundary, or outside the image) are zeroed. Rows of
    /// 8–32 pixels made the row-by-row copy mostly call overhead.
    fn shifted_rows(
        &self,
        plane: &[f32],
        dst: &mut [f32],
        rows: Range<usize>,
        i: usize,
        j: usize,
        (lo, hi): (usize, usize),
    ) {
        let ow = self.ow;
        // Output rows whose input row oh + i − pad_top lies in the image.
        let first = rows.start.max(self.pad_top.saturating_sub(i));
        let end = rows.end.min((self.h + self.pad_top).saturating_sub(i));
        let (ta, tb) = if first < end {
            (first - rows.start, end - rows.start)
        } else {
            (0, 0)
        };
        dst[..ta * ow].fill(0.0);
        dst[tb * ow..rows.len() * ow].fill(0.0);
        if ta == tb {
            return;
        }
        let run = &mut dst[ta * ow..tb * ow];
        let ih0 = (rows.start + ta + i - self.pad_top) as isize;
        let start = ih0 * self.w as isize + j as isize - self.pad_left as isize;
        // Entries before q0 or from q1 on fall outside the plane; they lie
        // in edge columns and are zeroed below.
        let len = run.len() as isize;
        let q0 = (-start).clamp(0, len);
        let q1 = (plane.len() as isize - start).clamp(q0, len);
        let (q0, q1, src0) = (q0 as usize, q1 as usize, (start + q0) as usize);
        run[q0..q1].copy_from_slice(&plane[src0..src0 + (q1 - q0)]);
        for row in run.chunks_exact_mut(ow) {
            row[..lo].fill(0.0);
            row[hi..].fill(0.0);
        }
    }

    /// The adjoint of `im2col`: adds every column-matrix entry of output
    /// rows `rows` back onto the input pixel it was read from.
    pub(crate) fn col2im(&self, col: &[f32], ld: usize, rows: Range<usize>, img: &mut [f32]) {
        let (ow, s) = (self.ow, self.stride);
        let p = rows.len() * ow;
        for c in 0..self.c {
            let plane = &mut img[c * self.h * self.w..(c + 1) * self.h * self.w];
            for i in 0..self.kh {
                for j in 0..self.kw {
                    let r = (c * self.kh + i) * self.kw + j;
                    let src = &col[r * ld..r * ld + p];
                    let (lo, hi) = self.col_range(j);
                    for (t, oh) in rows.clone().enumerate() {
                        let Some(ih) = self.in_row(oh, i) else {
                            continue;
                        };
                        let srow = &src[t * ow + lo..t * ow + hi];
                        let drow = &mut plane[ih * self.w..(ih + 1) * self.w];
                        if s == 1 {
                            let start = lo + j - self.pad_left;
                            for (d, v) in drow[start..start + hi - lo].iter_mut().zip(srow) {
                                *d += v;
                            }
                        } else {
                            for (o, v) in srow.iter().enumerate() {
                                drow[(lo + o) * s + j - self.pad_left] += v;
                            }
                        }
                    }
                }
            }
        }
    }
}
/// Resolves shapes and padding; errors on inconsistent operands.
pub(crate) fn geometry(
    x: &Tensor,
    w: &Tensor,
    stride: usize,
    padding: Padding,
) -> Result<ConvGeometry> {
    let (_, c, h, wd) = x.dims4()?;
    let (f, wc, kh, kw) = w.dims4()?;
    if wc != c {
        bail!("conv2d: input has {c} channels but the kernel expects {wc}");
    }
    if stride == 0 {
        bail!("conv2d: stride must be at least 1");
    }
    let ((pt, pb), (pl, pr)) = match padding {
        Padding::Valid => ((0, 0), (0, 0)),
        Padding::Same => (same_padding(h, kh, stride), same_padding(wd, kw, stride)),
    };
    if h + pt + pb < kh || wd + pl + pr < kw {
        bail!("conv2d: kernel {kh}x{kw} is larger than the padded input {h}x{wd}");
    }
    Ok(ConvGeometry {
        c,
        h,
        w: wd,
        f,
        kh,
        kw,
        stride,
        pad_top: pt,
        pad_left: pl,
        oh: (h + pt + pb - kh) / stride + 1,
        ow: (wd + pl + pr - kw) / stride + 1,
    })
}
/// (N, C, H·W) of a 4-D batch-norm operand's layout.
pub(crate) fn batch_norm_dims(l: &candle_core::Layout) -> Result<(usize, usize, usize)> {
    match l.dims() {
        &[n, c, h, w] => Ok((n, c, h * w)),
        d => bail!("batch_norm: expected (N, C, H, W), got {d:?}"),
    }
}

/// The output size (OH, OW) of a valid pooling of an H×W plane by
/// `size`×`size` windows every `stride`; errors on a zero size or stride
/// or a window larger than the plane.
pub(crate) fn pool_output(
    h: usize,
    w: usize,
    size: usize,
    stride: usize,
) -> Result<(usize, usize)> {
    if size == 0 || stride == 0 {
        bail!("pooling: size and stride must be at least 1");
    }
    if size > h || size > w {
        bail!("pooling: window {size} is larger than the input {h}x{w}");
    }
    Ok(((h - size) / stride + 1, (w - size) / stride + 1))
}
