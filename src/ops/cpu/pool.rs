//! Max and average pooling (valid padding, any size and stride) as candle
//! custom ops on CPU, with their own backward passes: the max-pool gradient
//! goes whole to the first maximum of each window (PyTorch/TensorFlow),
//! where candle's scales it by 1/K² and refuses size ≠ stride.
//!
//! Every (image, channel) plane is independent; planes run in parallel and
//! each is computed sequentially, so results do not depend on threads.

use super::storage;
use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

/// Planes handed to one rayon task at least (tiny planes are cheap).
const MIN_PLANES: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Max,
    Avg,
}

/// One pooling: window `size`, step `stride`, input plane h×w.
#[derive(Debug, Clone, Copy)]
struct Pool {
    kind: Kind,
    size: usize,
    stride: usize,
    h: usize,
    w: usize,
    oh: usize,
    ow: usize,
}

impl Pool {
    fn new(kind: Kind, x: &Tensor, size: usize, stride: usize) -> Result<Self> {
        let (_, _, h, w) = x.dims4()?;
        let (oh, ow) = crate::ops::geometry::pool_output(h, w, size, stride)?;
        Ok(Self {
            kind,
            size,
            stride,
            h,
            w,
            oh,
            ow,
        })
    }

    fn shape(&self, l: &Layout, out: bool) -> (usize, Shape) {
        let d = l.dims();
        let (n, c) = (d[0], d[1]);
        let shape = if out {
            (n, c, self.oh, self.ow).into()
        } else {
            (n, c, self.h, self.w).into()
        };
        (n * c, shape)
    }

    /// Index in the plane of the window's first maximum.
    fn argmax(&self, plane: &[f32], i: usize, j: usize) -> usize {
        let mut best = (i * self.stride) * self.w + j * self.stride;
        for a in 0..self.size {
            let row = (i * self.stride + a) * self.w + j * self.stride;
            for idx in row..row + self.size {
                if plane[idx] > plane[best] {
                    best = idx;
                }
            }
        }
        best
    }

    /// The two input rows under output row `i` of a 2×2, stride-2 pooling.
    fn rows2(&self, i: usize) -> (usize, usize) {
        (2 * i * self.w, (2 * i + 1) * self.w)
    }

    fn is_2x2(&self) -> bool {
        self.kind == Kind::Max && self.size == 2 && self.stride == 2
    }

    fn forward_plane(&self, x: &[f32], y: &mut [f32]) {
        if self.is_2x2() {
            // Slices and pairs instead of index arithmetic: this vectorises.
            for (i, out) in y.chunks_exact_mut(self.ow).enumerate() {
                let (r0, r1) = self.rows2(i);
                let top = x[r0..r0 + 2 * self.ow].chunks_exact(2);
                let bottom = x[r1..r1 + 2 * self.ow].chunks_exact(2);
                for (o, (t, b)) in out.iter_mut().zip(top.zip(bottom)) {
                    *o = t[0].max(t[1]).max(b[0].max(b[1]));
                }
            }
            return;
        }
        let scale = 1.0 / (self.size * self.size) as f32;
        for i in 0..self.oh {
            for j in 0..self.ow {
                y[i * self.ow + j] = match self.kind {
                    Kind::Max => x[self.argmax(x, i, j)],
                    Kind::Avg => {
                        let mut s = 0f32;
                        for a in 0..self.size {
                            let row = (i * self.stride + a) * self.w + j * self.stride;
                            s += x[row..row + self.size].iter().sum::<f32>();
                        }
                        s * scale
                    }
                };
            }
        }
    }

    /// `x` is only read for max pooling. `dx` must start zeroed.
    fn backward_plane(&self, x: &[f32], dy: &[f32], dx: &mut [f32]) {
        if self.is_2x2() {
            // Windows do not overlap: write all four entries of each, the
            // gradient at the first maximum in (0,0), (0,1), (1,0), (1,1).
            for (i, g) in dy.chunks_exact(self.ow).enumerate() {
                let (r0, r1) = self.rows2(i);
                let n = 2 * self.ow;
                let (dtop, dbottom) = dx[r0..r1 + n].split_at_mut(self.w);
                max2x2_backward_row(
                    (&x[r0..r0 + n], &x[r1..r1 + n]),
                    g,
                    (&mut dtop[..n], &mut dbottom[..n]),
                );
            }
            return;
        }
        let scale = 1.0 / (self.size * self.size) as f32;
        for i in 0..self.oh {
            for j in 0..self.ow {
                let g = dy[i * self.ow + j];
                match self.kind {
                    Kind::Max => dx[self.argmax(x, i, j)] += g,
                    Kind::Avg => {
                        for a in 0..self.size {
                            let row = (i * self.stride + a) * self.w + j * self.stride;
                            for d in &mut dx[row..row + self.size] {
                                *d += g * scale;
                            }
                        }
                    }
                }
            }
        }
    }

    fn plane_lens(&self) -> (usize, usize) {
        (self.h * self.w, self.oh * self.ow)
    }
}

/// Windows handed to [`max2x2_backward_lanes`] at a time: fixed-size
/// arrays the compiler turns into vector shuffles and masks.
const LANES: usize = 8;

/// The gradient of one row of 2×2, stride-2 max-pool windows: `top` and
/// `bottom` are the two input rows (2·n entries), `g` the n output
/// gradients; every entry of `dtop`/`dbottom` is written. The gradient goes
/// to the window's first entry, in the order (0,0), (0,1), (1,0), (1,1),
/// that equals its maximum (NaN ignored, as in the forward pass), or to
/// (0,0) when that entry is NaN: the choice of [`Pool::argmax`]'s scan,
/// which keeps the first entry while none compares greater.
fn max2x2_backward_row(
    (top, bottom): (&[f32], &[f32]),
    g: &[f32],
    (dtop, dbottom): (&mut [f32], &mut [f32]),
) {
    let full = g.len() / LANES * LANES;
    let pairs = 2 * full;
    for (k, g) in g[..full].chunks_exact(LANES).enumerate() {
        let span = 2 * LANES * k..2 * LANES * (k + 1);
        max2x2_backward_lanes(
            (&top[span.clone()], &bottom[span.clone()]),
            g,
            (&mut dtop[span.clone()], &mut dbottom[span]),
        );
    }
    for (j, &g) in g.iter().enumerate().skip(full) {
        let p = pairs + 2 * (j - full);
        let w = [top[p], top[p + 1], bottom[p], bottom[p + 1]];
        let d = max2x2_window(w, g);
        dtop[p] = d[0];
        dtop[p + 1] = d[1];
        dbottom[p] = d[2];
        dbottom[p + 1] = d[3];
    }
}

/// The four gradients of one window `w` = (0,0), (0,1), (1,0), (1,1).
#[inline(always)]
fn max2x2_window(w: [f32; 4], g: f32) -> [f32; 4] {
    let m = w[0].max(w[1]).max(w[2].max(w[3]));
    let (e1, e2, e3) = (w[1] == m, w[2] == m, w[3] == m);
    let c0 = w[0] == m || w[0].is_nan();
    let c = [c0, !c0 & e1, !c0 & !e1 & e2, !c0 & !e1 & !e2 & e3];
    c.map(|c| if c { g } else { 0.0 })
}

/// [`max2x2_backward_row`] for `LANES` windows, branch-free on arrays.
#[inline(always)]
fn max2x2_backward_lanes(
    (top, bottom): (&[f32], &[f32]),
    g: &[f32],
    (dtop, dbottom): (&mut [f32], &mut [f32]),
) {
    let (top, bottom): (&[f32; 2 * LANES], &[f32; 2 * LANES]) =
        (top.try_into().unwrap(), bottom.try_into().unwrap());
    let g: &[f32; LANES] = g.try_into().unwrap();
    let mut out = [[0f32; LANES]; 4];
    for l in 0..LANES {
        let w = [top[2 * l], top[2 * l + 1], bottom[2 * l], bottom[2 * l + 1]];
        let d = max2x2_window(w, g[l]);
        for (o, d) in out.iter_mut().zip(d) {
            o[l] = d;
        }
    }
    for l in 0..LANES {
        dtop[2 * l] = out[0][l];
        dtop[2 * l + 1] = out[1][l];
        dbottom[2 * l] = out[2][l];
        dbottom[2 * l + 1] = out[3][l];
    }
}

/// Differentiable pooling of a CPU f32 tensor (N, C, H, W).
pub(crate) fn max_pool2d(x: &Tensor, size: usize, stride: usize) -> Result<Tensor> {
    let p = Pool::new(Kind::Max, x, size, stride)?;
    x.contiguous()?.apply_op1(PoolOp(p))
}

pub(crate) fn avg_pool2d(x: &Tensor, size: usize, stride: usize) -> Result<Tensor> {
    let p = Pool::new(Kind::Avg, x, size, stride)?;
    x.contiguous()?.apply_op1(PoolOp(p))
}

struct PoolOp(Pool);

impl CustomOp1 for PoolOp {
    fn name(&self) -> &'static str {
        match self.0.kind {
            Kind::Max => "dlp-max-pool2d",
            Kind::Avg => "dlp-avg-pool2d",
        }
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let p = &self.0;
        let x = storage(s, l)?;
        let (planes, shape) = p.shape(l, true);
        let (inp, out) = p.plane_lens();
        let mut y = vec![0f32; planes * out];
        if out > 0 {
            y.par_chunks_mut(out)
                .with_min_len(MIN_PLANES)
                .enumerate()
                .for_each(|(i, yp)| p.forward_plane(&x[i * inp..(i + 1) * inp], yp));
        }
        Ok((CpuStorage::F32(y), shape))
    }

    fn bwd(&self, x: &Tensor, _y: &Tensor, dy: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(
            x.apply_op2_no_bwd(&dy.contiguous()?, &PoolGrad(self.0))?,
        ))
    }
}

/// Gradient of a pooling: operands (x, dy) → dx.
struct PoolGrad(Pool);

impl CustomOp2 for PoolGrad {
    fn name(&self) -> &'static str {
        "dlp-pool2d-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let p = &self.0;
        let (x, dy) = (storage(s1, l1)?, storage(s2, l2)?);
        let (planes, shape) = p.shape(l1, false);
        let (inp, out) = p.plane_lens();
        let mut dx = vec![0f32; planes * inp];
        if inp > 0 {
            dx.par_chunks_mut(inp)
                .with_min_len(MIN_PLANES)
                .enumerate()
                .for_each(|(i, dxp)| {
                    let xp = &x[i * inp..(i + 1) * inp];
                    p.backward_plane(xp, &dy[i * out..(i + 1) * out], dxp)
                });
        }
        Ok((CpuStorage::F32(dx), shape))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The branch-free row kernel sends each window's gradient where the
    /// generic scan (`argmax`) does, over widths that use the lanes, the
    /// scalar tail and both, with ties everywhere (values from {0, 1, 2})
    /// and NaNs in every position of a window.
    #[test]
    fn the_2x2_row_kernel_picks_what_the_scan_picks() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for n in 1..=2 * LANES + 3 {
            for _ in 0..50 {
                let x: Vec<f32> = (0..4 * n)
                    .map(|_| match next() % 9 {
                        0 => f32::NAN,
                        v => (v % 3) as f32,
                    })
                    .collect();
                let g: Vec<f32> = (0..n).map(|j| j as f32 + 1.0).collect();
                let pool = Pool {
                    kind: Kind::Max,
                    size: 2,
                    stride: 2,
                    h: 2,
                    w: 2 * n,
                    oh: 1,
                    ow: n,
                };
                let mut expected = vec![0f32; 4 * n];
                for (j, &gj) in g.iter().enumerate() {
                    expected[pool.argmax(&x, 0, j)] += gj;
                }
                let mut got = vec![f32::NAN; 4 * n];
                let (top, bottom) = x.split_at(2 * n);
                let (dtop, dbottom) = got.split_at_mut(2 * n);
                max2x2_backward_row((top, bottom), &g, (dtop, dbottom));
                assert_eq!(got, expected, "width {n}, x {x:?}");
            }
        }
    }
}
