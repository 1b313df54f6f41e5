//! The forward convolution of stride-1 layers as a direct, register-tiled
//! kernel: no column matrix.
//!
//! im2col copies every input pixel `KH·KW` times (nine for 3×3) before
//! the product reads it again; with 16–64 filters there are few
//! multiply-adds per copied float, and im2col with its copies and fills
//! took a quarter of a ResNet-20 training step. Here each image is copied
//! once, zero-padded to `Hp × Wp = (OH + KH − 1) × (OW + KW − 1)`; with
//! stride 1 the input of output pixel `(r, col)` for tap `(c, i, j)` is
//! `xpad[c·Hp·Wp + (r + i)·Wp + col + j]`, so the inputs of 8 (or 16)
//! consecutive pixels of one output row are one unaligned vector load at
//! the pixel's base plus the tap's offset from a table: the column matrix,
//! never written. A tile is 2 vectors × up to [`NR`] filters in 12 of
//! AVX2's 16 registers (4 × 6 of AVX-512's 32): for every tap it loads
//! the pixels' inputs once and broadcasts the filters' weights, as
//! `gemm`'s own micro-kernel does with packed panels, then adds the bias,
//! applies the ReLU and stores straight into `(F, OH, OW)`. Output rows must be a
//! multiple of 8 wide (16 for AVX-512's tiles), which the book's and
//! ResNet's 32, 16 and 8 are; other shapes keep im2col.
//!
//! Every output element sums its taps in the order `(c, i, j)` in one
//! accumulator, whatever the tile or thread: results do not depend on the
//! thread count (they differ from im2col's in the last bits, as `gemm`'s
//! blocked sums do). The kernel is chosen once per process from what the
//! CPU has ([`isa`]).
//!
//! The weight gradient has its own direct kernel (`wgrad`), on the same
//! padded copy ([`Padded`]). Tried for it first and not kept: tiles of
//! filters × taps summing in vector lanes over an image's pixels (0.45–1.0×
//! the im2col + `gemm` path at the CIFAR shapes, slowest at 8×8), and tiles
//! of 16 channels × 6 filters over a channels-last padded copy, one output
//! per lane (0.6–1.04×; each tile re-reads the chunk's `dy` rows and a
//! strided quarter of the copy's cache lines).

use crate::ops::geometry::ConvGeometry;
use std::mem::MaybeUninit;

/// The vector instructions the kernel runs with, detected once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Isa {
    /// AVX2 with FMA: tiles of 2 vectors of 8 pixels.
    Avx2,
    /// AVX-512F: tiles of 4 vectors of 16 pixels where output rows are a
    /// multiple of 16 wide; AVX2's tiles elsewhere.
    Avx512,
}

/// Filters per tile (one broadcast weight each).
const NR: usize = 6;
const _: () = assert!(NR == 6, "per_rows! picks kernels for 1 to 6 rows");

/// The kernel `$kernel::<R>` for a tile of `$rows` rows (1 to 6, more
/// taken as 6): one instance per row count, so that a tile's accumulators
/// are a fixed-size array in registers.
macro_rules! per_rows {
    ($rows:expr, $($kernel:ident)::+) => {
        match $rows {
            1 => $($kernel)::+::<1>,
            2 => $($kernel)::+::<2>,
            3 => $($kernel)::+::<3>,
            4 => $($kernel)::+::<4>,
            5 => $($kernel)::+::<5>,
            _ => $($kernel)::+::<6>,
        }
    };
}
pub(super) use per_rows;

/// The kernel this process uses, or `None` for im2col (no AVX2 with FMA,
/// or not x86-64). `DLP_CONV_ISA` chooses: `avx2` (the default where the
/// CPU has it), `avx512` (opt-in: not yet timed on an AVX-512 machine,
/// though the tests run it wherever the CPU has it) or `im2col`.
pub(crate) fn isa() -> Option<Isa> {
    static ISA: std::sync::OnceLock<Option<Isa>> = std::sync::OnceLock::new();
    *ISA.get_or_init(|| {
        let wanted = std::env::var("DLP_CONV_ISA").ok();
        let has = supported();
        let pick = |isa| has.contains(&isa).then_some(isa);
        match wanted.as_deref() {
            Some("im2col") => None,
            Some("avx512") => pick(Isa::Avx512).or(pick(Isa::Avx2)),
            _ => pick(Isa::Avx2),
        }
    })
}

/// The kernels this CPU can run, detected once.
pub(crate) fn supported() -> &'static [Isa] {
    static HAS: std::sync::OnceLock<Vec<Isa>> = std::sync::OnceLock::new();
    HAS.get_or_init(detect)
}

#[cfg(target_arch = "x86_64")]
fn detect() -> Vec<Isa> {
    let avx2 = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
    let avx512 = avx2 && is_x86_feature_detected!("avx512f");
    [(avx2, Isa::Avx2), (avx512, Isa::Avx512)]
        .into_iter()
        .filter_map(|(has, isa)| has.then_some(isa))
        .collect()
}

#[cfg(not(target_arch = "x86_64"))]
fn detect() -> Vec<Isa> {
    Vec::new()
}

/// A stride-1 convolution's zero-padded image layout: planes of `Hp × Wp
/// = (OH + KH − 1) × (OW + KW − 1)`, where the input of output pixel `(r,
/// col)` for tap `(c, i, j)` is at `r·Wp + col + offsets[tap]`.
pub(crate) struct Padded {
    pub g: ConvGeometry,
    /// Padded row length and plane size.
    pub wp: usize,
    pub plane: usize,
    /// Offset of tap `(c, i, j)` in the padded image, in tap order.
    pub offsets: Vec<usize>,
}

impl Padded {
    pub(crate) fn new(g: &ConvGeometry) -> Padded {
        let (wp, hp) = (g.ow + g.kw - 1, g.oh + g.kh - 1);
        let plane = hp * wp;
        let mut offsets = Vec::with_capacity(g.k());
        for c in 0..g.c {
            for i in 0..g.kh {
                for j in 0..g.kw {
                    offsets.push(c * plane + i * wp + j);
                }
            }
        }
        Padded {
            g: *g,
            wp,
            plane,
            offsets,
        }
    }

    /// Floats of one padded image.
    pub(crate) fn len(&self) -> usize {
        self.g.c * self.plane
    }

    /// The zero-padded copy of image `x` (C, H, W) in `out` (at least
    /// [`Padded::len`] floats, contents unspecified).
    pub(crate) fn pad<'s>(&self, x: &[f32], out: &'s mut [f32]) -> &'s [f32] {
        let g = &self.g;
        let xpad = &mut out[..self.len()];
        let (pt, pl, wp) = (g.pad_top, g.pad_left, self.wp);
        // Input rows/columns that land inside the padded frame.
        let rows = g.h.min((g.oh + g.kh - 1).saturating_sub(pt));
        let width = g.w.min(wp.saturating_sub(pl));
        for c in 0..g.c {
            let src = &x[c * g.h * g.w..(c + 1) * g.h * g.w];
            let dst = &mut xpad[c * self.plane..(c + 1) * self.plane];
            // Only the frame is zeroed: the rows above and below the
            // image, and each image row's columns left and right of it.
            dst[..pt * wp].fill(0.0);
            dst[(pt + rows) * wp..].fill(0.0);
            for r in 0..rows {
                let d = &mut dst[(r + pt) * wp..(r + pt + 1) * wp];
                d[..pl].fill(0.0);
                d[pl..pl + width].copy_from_slice(&src[r * g.w..r * g.w + width]);
                d[pl + width..].fill(0.0);
            }
        }
        xpad
    }
}

/// `n > 0` items in tiles of at most `max`, as even as can be (16 filters
/// in tiles of 6 are 6 + 5 + 5, not 6 + 6 + 4 padded to 18): each tile's
/// first item, then `n`.
pub(crate) fn even_tiles(n: usize, max: usize) -> Vec<usize> {
    let tiles = n.div_ceil(max);
    (0..=tiles)
        .map(|t| t * (n / tiles) + t.min(n % tiles))
        .collect()
}

/// One convolution's weights in tile order and its padded layout,
/// prepared once per call and shared by the images.
pub(crate) struct Direct {
    pad: Padded,
    /// Lanes per vector: 16 (AVX-512 tiles) or 8 (AVX2 tiles).
    lanes: usize,
    /// `packed[t][k][r]` = weight of filter `starts[t] + r` for tap `k`,
    /// zero past the tile's last filter.
    packed: Vec<f32>,
    /// The first filter of each tile, then `F` ([`even_tiles`] of at most
    /// [`NR`]), so no tile computes a filter that is not there.
    starts: Vec<usize>,
}

impl Direct {
    /// Prepares `w` (F, C, KH, KW) for geometry `g`; `None` when this
    /// kernel does not compute the convolution: stride other than 1, a 1×1
    /// kernel (a plain product already), output rows not a multiple of 8
    /// wide, or a CPU without a kernel.
    pub(crate) fn new(g: &ConvGeometry, w: &[f32]) -> Option<Direct> {
        Direct::with(isa()?, g, w)
    }

    /// Whether [`Direct::new`] takes convolutions of geometry `g`.
    pub(crate) fn takes(g: &ConvGeometry) -> bool {
        isa().is_some() && Direct::fits(g)
    }

    /// The shapes the kernel computes, on any CPU.
    fn fits(g: &ConvGeometry) -> bool {
        g.stride == 1 && !g.is_pointwise() && g.ow.is_multiple_of(8) && g.f > 0
    }

    /// [`Direct::new`] with a given kernel, which the CPU must support.
    fn with(isa: Isa, g: &ConvGeometry, w: &[f32]) -> Option<Direct> {
        assert!(supported().contains(&isa), "{isa:?} is not supported here");
        if !Direct::fits(g) {
            return None;
        }
        let lanes = if isa == Isa::Avx512 && g.ow.is_multiple_of(16) {
            16
        } else {
            8
        };
        let pad = Padded::new(g);
        let k = g.k();
        let starts = even_tiles(g.f, NR);
        let tiles = starts.len() - 1;
        assert_eq!(w.len(), g.f * k, "conv weights for {g:?}");
        let mut packed = vec![0f32; tiles * k * NR];
        for (t, fs) in starts.windows(2).enumerate() {
            for (r, f) in (fs[0]..fs[1]).enumerate() {
                for (kk, &v) in w[f * k..(f + 1) * k].iter().enumerate() {
                    packed[(t * k + kk) * NR + r] = v;
                }
            }
        }
        // What `image`'s unsafe tiles rely on, fixed here for good.
        assert!(pad.offsets.len() == k && packed.len() == tiles * k * NR);
        assert!(starts.windows(2).all(|s| s[0] < s[1] && s[1] - s[0] <= NR));
        Some(Direct {
            pad,
            lanes,
            packed,
            starts,
        })
    }

    /// The convolution's shapes.
    pub(crate) fn geometry(&self) -> &ConvGeometry {
        &self.pad.g
    }

    /// Floats of scratch one image needs: its zero-padded copy.
    pub(crate) fn scratch_len(&self) -> usize {
        self.pad.len()
    }

    /// `y (F, OH, OW) = conv(x (C, H, W))`, plus `b` per filter, then the
    /// ReLU if `relu`, storing every one of the `F·OH·OW` outputs (so `y`
    /// may start uninitialised); `scratch` holds at least
    /// [`Direct::scratch_len`] floats (contents unspecified).
    pub(crate) fn image(
        &self,
        x: &[f32],
        y: &mut [MaybeUninit<f32>],
        b: Option<&[f32]>,
        relu: bool,
        scratch: &mut [f32],
    ) {
        let g = &self.pad.g;
        let xpad = self.pad.pad(x, scratch);
        let (k, p, lanes) = (g.k(), g.oh * g.ow, self.lanes);
        let vectors = p / lanes;
        let per = if lanes == 16 { 4 } else { 2 };
        let last = self.pad.offsets.last().copied().unwrap_or(0);
        assert!(y.len() >= g.f * p && b.is_none_or(|b| b.len() >= g.f));
        // Vector q covers output pixels q·lanes.. of one output row
        // (rows are a multiple of `lanes` wide): its input for tap offset
        // `off` starts at `row·wp + col + off` of the padded image.
        let base = |q: usize| {
            let px = q * lanes;
            (px / g.ow) * self.pad.wp + px % g.ow
        };
        // The largest base, plus the last tap, plus a vector, fits the copy.
        assert!(vectors == 0 || base(vectors - 1) + last + lanes <= xpad.len());
        for q0 in (0..vectors).step_by(per) {
            // A short last tile repeats its last vector (same stores twice).
            let qs: [usize; 4] = std::array::from_fn(|v| (q0 + v).min(vectors - 1));
            let ins = qs.map(&base);
            for (t, fs) in self.starts.windows(2).enumerate() {
                let (f0, rows) = (fs[0], fs[1] - fs[0]);
                let w = &self.packed[t * k * NR..(t + 1) * k * NR];
                let outs = qs.map(|q| f0 * p + q * lanes);
                let bias = b.map(|b| &b[f0..f0 + rows]);
                // SAFETY: each load reads `xpad[ins[v] + off + 0..lanes]`,
                // `off ≤ last`, inside the copy (asserted above for the
                // largest base); the weights read are `w[0..k·NR]` (the
                // packed length and the tile bounds are asserted at
                // construction); each store writes `y[outs[v] + r·p +
                // 0..lanes]` for r < rows, a row of filter f0 + r < F,
                // inside `y` (asserted); the kernel's instruction set was
                // detected.
                unsafe {
                    tile(
                        lanes,
                        xpad,
                        ins,
                        &self.pad.offsets,
                        w,
                        y,
                        outs,
                        p,
                        rows,
                        bias,
                        relu,
                    );
                }
            }
        }
    }
}

/// One tile: `per` vectors of `lanes` pixels × `rows` ≤ NR filters.
///
/// # Safety
/// The kernel for `lanes` was detected on this CPU, and the bounds of
/// [`Direct::image`]'s comment hold.
#[allow(clippy::too_many_arguments)]
unsafe fn tile(
    lanes: usize,
    x: &[f32],
    ins: [usize; 4],
    offsets: &[usize],
    w: &[f32],
    y: &mut [MaybeUninit<f32>],
    outs: [usize; 4],
    ld: usize,
    rows: usize,
    bias: Option<&[f32]>,
    relu: bool,
) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: forwarded from the caller.
    unsafe {
        let (xp, yp) = (x.as_ptr(), y.as_mut_ptr().cast::<f32>());
        let bias = bias.map(<[f32]>::as_ptr);
        let wp = w.as_ptr();
        if lanes == 16 {
            let f = per_rows!(rows, x86::tile_avx512);
            f(xp, ins, offsets, wp, yp, outs, ld, bias, relu);
        } else {
            let f = per_rows!(rows, x86::tile_avx2);
            f(
                xp,
                [ins[0], ins[1]],
                offsets,
                wp,
                yp,
                [outs[0], outs[1]],
                ld,
                bias,
                relu,
            );
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (lanes, x, ins, offsets, w, y, outs, ld, rows, bias, relu);
}

#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
mod x86 {
    use super::NR;
    use std::arch::x86_64::*;

    /// 2 vectors of 8 pixels × `R` ≤ 6 filters: up to 12 accumulators,
    /// 2 input vectors and a broadcast weight, 15 of the 16 registers.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn tile_avx2<const R: usize>(
        x: *const f32,
        ins: [usize; 2],
        offsets: &[usize],
        w: *const f32,
        y: *mut f32,
        outs: [usize; 2],
        ld: usize,
        bias: Option<*const f32>,
        relu: bool,
    ) {
        // SAFETY: bounds as `super::tile` requires.
        unsafe {
            let (x0, x1) = (x.add(ins[0]), x.add(ins[1]));
            let mut acc = [[_mm256_setzero_ps(); 2]; R];
            for (k, &off) in offsets.iter().enumerate() {
                let v0 = _mm256_loadu_ps(x0.add(off));
                let v1 = _mm256_loadu_ps(x1.add(off));
                let wk = w.add(k * NR);
                for (r, a) in acc.iter_mut().enumerate() {
                    let b = _mm256_broadcast_ss(&*wk.add(r));
                    a[0] = _mm256_fmadd_ps(v0, b, a[0]);
                    a[1] = _mm256_fmadd_ps(v1, b, a[1]);
                }
            }
            let zero = _mm256_setzero_ps();
            for (r, a) in acc.iter().enumerate() {
                for (v, &o) in a.iter().zip(&outs) {
                    let mut v = *v;
                    if let Some(b) = bias {
                        v = _mm256_add_ps(v, _mm256_broadcast_ss(&*b.add(r)));
                    }
                    if relu {
                        v = _mm256_max_ps(v, zero);
                    }
                    _mm256_storeu_ps(y.add(o + r * ld), v);
                }
            }
        }
    }

    /// 4 vectors of 16 pixels × `R` ≤ 6 filters: up to 24 accumulators of
    /// the 32 registers.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn tile_avx512<const R: usize>(
        x: *const f32,
        ins: [usize; 4],
        offsets: &[usize],
        w: *const f32,
        y: *mut f32,
        outs: [usize; 4],
        ld: usize,
        bias: Option<*const f32>,
        relu: bool,
    ) {
        // SAFETY: bounds as `super::tile` requires.
        unsafe {
            let xs = ins.map(|i| x.add(i));
            let mut acc = [[_mm512_setzero_ps(); 4]; R];
            for (k, &off) in offsets.iter().enumerate() {
                let v = xs.map(|p| _mm512_loadu_ps(p.add(off)));
                let wk = w.add(k * NR);
                for (r, a) in acc.iter_mut().enumerate() {
                    let b = _mm512_set1_ps(*wk.add(r));
                    for (a, v) in a.iter_mut().zip(&v) {
                        *a = _mm512_fmadd_ps(*v, b, *a);
                    }
                }
            }
            let zero = _mm512_setzero_ps();
            for (r, a) in acc.iter().enumerate() {
                for (v, &o) in a.iter().zip(&outs) {
                    let mut v = *v;
                    if let Some(b) = bias {
                        v = _mm512_add_ps(v, _mm512_set1_ps(*b.add(r)));
                    }
                    if relu {
                        v = _mm512_max_ps(v, zero);
                    }
                    _mm512_storeu_ps(y.add(o + r * ld), v);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Padding;
    use candle_core::{Device, Tensor};

    /// The convolution of one image by its definition, in f64.
    fn naive(g: &ConvGeometry, x: &[f32], w: &[f32], b: &[f32], relu: bool) -> Vec<f32> {
        let mut y = vec![0f32; g.f * g.p()];
        for f in 0..g.f {
            for (oh, ow) in (0..g.oh).flat_map(|r| (0..g.ow).map(move |c| (r, c))) {
                let mut s = f64::from(b[f]);
                for (c, i, j) in (0..g.c)
                    .flat_map(|c| (0..g.kh).flat_map(move |i| (0..g.kw).map(move |j| (c, i, j))))
                {
                    let (r, col) = (oh + i, ow + j);
                    if r < g.pad_top || col < g.pad_left {
                        continue;
                    }
                    let (r, col) = (r - g.pad_top, col - g.pad_left);
                    if r < g.h && col < g.w {
                        let xv = x[(c * g.h + r) * g.w + col];
                        let wv = w[((f * g.c + c) * g.kh + i) * g.kw + j];
                        s += f64::from(xv) * f64::from(wv);
                    }
                }
                let v = s as f32;
                y[(f * g.oh + oh) * g.ow + ow] = if relu { v.max(0.0) } else { v };
            }
        }
        y
    }

    #[test]
    fn every_kernel_matches_the_definition() -> candle_core::Result<()> {
        // (c, h, w, f, k, padding): partial filter tiles (F not a multiple
        // of 6), odd and even kernels, valid and same padding, rows 8, 16,
        // 24 and 32 wide, a tile count that is not a multiple of the
        // vectors per tile.
        let shapes = [
            (3, 8, 8, 4, 3, Padding::Same),
            (2, 10, 10, 7, 3, Padding::Valid),
            (4, 16, 16, 13, 5, Padding::Same),
            (3, 8, 16, 6, 2, Padding::Same),
            (5, 5, 24, 12, 3, Padding::Same),
            (16, 32, 32, 16, 3, Padding::Same),
            (1, 3, 48, 1, 3, Padding::Same),
        ];
        // Every kernel this CPU has; on one with none, the check is that
        // the convolution goes to im2col.
        let isas = supported();
        for (si, &(c, h, wd, f, k, padding)) in shapes.iter().enumerate() {
            let dev = Device::Cpu;
            let x = Tensor::randn(0f32, 1., (1, c, h, wd), &dev)?;
            let w = Tensor::randn(0f32, 1., (f, c, k, k), &dev)?;
            let g = crate::ops::geometry::geometry(&x, &w, 1, padding)?;
            let (x, w) = (
                x.flatten_all()?.to_vec1::<f32>()?,
                w.flatten_all()?.to_vec1::<f32>()?,
            );
            let b: Vec<f32> = (0..f).map(|i| i as f32 * 0.25 - 1.0).collect();
            if isas.is_empty() {
                assert!(Direct::new(&g, &w).is_none(), "shape {si}");
            }
            for &isa in isas {
                for relu in [false, true] {
                    let d = Direct::with(isa, &g, &w).expect("a stride-1 shape");
                    let mut y = vec![MaybeUninit::new(f32::NAN); g.f * g.p()];
                    let mut scratch = vec![f32::NAN; d.scratch_len()];
                    d.image(&x, &mut y, Some(&b), relu, &mut scratch);
                    // SAFETY: every element was initialised (NaN, or stored).
                    let y: Vec<f32> = y.iter().map(|v| unsafe { v.assume_init() }).collect();
                    let want = naive(&g, &x, &w, &b, relu);
                    for (i, (a, e)) in y.iter().zip(&want).enumerate() {
                        let tol = 1e-5 * (g.k() as f32).sqrt() * (1.0 + e.abs());
                        assert!(
                            (a - e).abs() <= tol,
                            "shape {si} {isa:?} relu {relu}: y[{i}] = {a}, want {e}"
                        );
                    }
                }
            }
        }
        Ok(())
    }

    #[test]
    fn random_shapes_match_the_definition() -> candle_core::Result<()> {
        // 300 geometries from one seed: any channel and filter count, any
        // kernel up to 6×6 (larger than the image too), either padding,
        // heights from 1, output rows mostly a multiple of 8 wide. Where
        // the kernel applies it must match the definition on every
        // kernel the CPU has (its bounds asserts and the edges).
        use rand::RngExt;
        let mut rng = crate::rng::generator(7);
        let dev = Device::Cpu;
        let mut computed = 0;
        for case in 0..300 {
            let (c, f) = (rng.random_range(1..=9), rng.random_range(1..=14));
            let (kh, h) = (rng.random_range(1..=6), rng.random_range(1..=12));
            let kw = if rng.random_bool(0.5) {
                kh
            } else {
                rng.random_range(1..=6)
            };
            let padding = if rng.random_bool(0.5) {
                Padding::Same
            } else {
                Padding::Valid
            };
            // Output rows a multiple of 8 wide four times in five.
            let ow = [8, 16, 24, 32][rng.random_range(0..4)]
                + if rng.random_bool(0.8) {
                    0
                } else {
                    rng.random_range(1..=7)
                };
            let wd = if padding == Padding::Same {
                ow
            } else {
                ow + kw - 1
            };
            let x = Tensor::randn(0f32, 1., (1, c, h, wd), &dev)?;
            let w = Tensor::randn(0f32, 1., (f, c, kh, kw), &dev)?;
            let Ok(g) = crate::ops::geometry::geometry(&x, &w, 1, padding) else {
                continue; // a kernel larger than the valid-padded image
            };
            let (x, w) = (
                x.flatten_all()?.to_vec1::<f32>()?,
                w.flatten_all()?.to_vec1::<f32>()?,
            );
            let b: Vec<f32> = (0..f).map(|i| i as f32 - 2.0).collect();
            let want = naive(&g, &x, &w, &b, true);
            for &isa in supported() {
                let Some(d) = Direct::with(isa, &g, &w) else {
                    assert!(
                        g.is_pointwise() || !g.ow.is_multiple_of(8),
                        "case {case}: {g:?} refused"
                    );
                    continue;
                };
                computed += 1;
                let mut y = vec![MaybeUninit::new(f32::NAN); g.f * g.p()];
                let mut scratch = vec![f32::NAN; d.scratch_len()];
                d.image(&x, &mut y, Some(&b), true, &mut scratch);
                // SAFETY: every element was initialised (NaN, or stored).
                let y: Vec<f32> = y.iter().map(|v| unsafe { v.assume_init() }).collect();
                for (i, (a, e)) in y.iter().zip(&want).enumerate() {
                    let tol = 1e-5 * (g.k() as f32).sqrt() * (1.0 + e.abs());
                    assert!(
                        (a - e).abs() <= tol,
                        "case {case} {isa:?} {g:?}: y[{i}] = {a}, want {e}"
                    );
                }
            }
        }
        // The seed gives shapes the kernel takes, on a CPU that has one.
        assert!(
            supported().is_empty() || computed >= 50,
            "only {computed} shapes computed"
        );
        Ok(())
    }

    #[test]
    fn shapes_it_does_not_compute_go_to_im2col() -> candle_core::Result<()> {
        let dev = Device::Cpu;
        let cases = [
            ((4, 8, 8), (6, 4, 3), 2), // stride 2
            ((4, 8, 8), (6, 4, 1), 1), // pointwise
            ((4, 7, 7), (6, 4, 3), 1), // rows 7 wide
        ];
        for (i, ((c, h, wd), (f, fc, k), stride)) in cases.into_iter().enumerate() {
            let x = Tensor::zeros((1, c, h, wd), candle_core::DType::F32, &dev)?;
            let w = Tensor::zeros((f, fc, k, k), candle_core::DType::F32, &dev)?;
            let g = crate::ops::geometry::geometry(&x, &w, stride, Padding::Same)?;
            for &isa in supported() {
                assert!(
                    Direct::with(isa, &g, &[0.0; 6 * 4 * 9]).is_none(),
                    "case {i}"
                );
            }
        }
        Ok(())
    }
}
