//! Max and average pooling (valid padding, any size and stride) as candle
//! custom ops on CPU, with their own backward passes: the max-pool gradient
//! goes whole to the first maximum of each window (PyTorch/TensorFlow),
//! where candle's scales it by 1/K² and refuses size ≠ stride.
//!
//! Every (image, channel) plane is independent; planes run in parallel and
//! each is computed sequentially, so results do not depend on threads.

use super::storage;
use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Result, Shape, Tensor, bail};
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
        if size == 0 || stride == 0 {
            bail!("pooling: size and stride must be at least 1");
        }
        if size > h || size > w {
            bail!("pooling: window {size} is larger than the input {h}x{w}");
        }
        let (oh, ow) = ((h - size) / stride + 1, (w - size) / stride + 1);
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
                let top = x[r0..r0 + 2 * self.ow].chunks_exact(2);
                let bottom = x[r1..r1 + 2 * self.ow].chunks_exact(2);
                let (dtop, dbottom) = dx[r0..r1 + 2 * self.ow].split_at_mut(self.w);
                let dtop = dtop[..2 * self.ow].chunks_exact_mut(2);
                let dbottom = dbottom[..2 * self.ow].chunks_exact_mut(2);
                for (((t, b), (dt, db)), &g) in top.zip(bottom).zip(dtop.zip(dbottom)).zip(g) {
                    let mut best = (0, t[0]);
                    for (k, v) in [(1, t[1]), (2, b[0]), (3, b[1])] {
                        if v > best.1 {
                            best = (k, v);
                        }
                    }
                    let pick = |k: usize| if best.0 == k { g } else { 0.0 };
                    dt[0] = pick(0);
                    dt[1] = pick(1);
                    db[0] = pick(2);
                    db[1] = pick(3);
                }
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

/// Differentiable pooling of a CPU f32 tensor (N, C, H, W).
pub fn max_pool2d(x: &Tensor, size: usize, stride: usize) -> Result<Tensor> {
    let p = Pool::new(Kind::Max, x, size, stride)?;
    x.contiguous()?.apply_op1(PoolOp(p))
}

pub fn avg_pool2d(x: &Tensor, size: usize, stride: usize) -> Result<Tensor> {
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
