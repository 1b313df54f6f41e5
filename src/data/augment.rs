//! Random augmentation of one image (CHW, raw pixel values as `f32`), in a
//! fixed order: affine (rotate, shift, zoom), flip, brightness, crop.
//!
//! The affine step reproduces Keras' `ImageDataGenerator`
//! (`apply_affine_transform`): the matrix `R·S·Z` is centred on
//! `(h/2 − ½, w/2 − ½)` and handed to `scipy.ndimage.affine_transform`
//! with `order=1`, which maps each OUTPUT pixel `o` to the input point
//! `M·(o − c) + c` and samples it bilinearly. After Keras' x/y swap, in
//! (row, col) terms: `in = Rᵀ·(Z·d + s) + c` with `Rᵀ = [[cos, sin],
//! [−sin, cos]]`, `Z = diag(zoom_row, zoom_col)`, `s = (shift_row,
//! shift_col)`. Points outside the image follow scipy's modes: `nearest`
//! clamps, `reflect` mirrors about the edge (d c b a | a b c d), `wrap` is
//! scipy's `wrap` (period n − 1, first and last samples overlap), and
//! `constant` gives 0 for any point outside [0, n − 1].
//!
//! Checked against Keras and scipy 1.17 in every fill mode
//! (`tests/it/data/augment.rs`). One deliberate difference: Keras applies `height_shift_range` to the
//! column axis (its `tx` ends up on x after the swap); here `shift W H`
//! shifts columns by W·width and rows by H·height, as the language says.

use crate::plan::{AugmentPlan, FillMode, Flip};
use crate::rng;
use rand::RngExt;

/// The parameters of one affine draw.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AffineParams {
    /// Degrees, counter-clockwise (Keras' `theta`).
    pub theta: f64,
    /// Input offset in pixels: the output at `o` reads the input at `o + shift`.
    pub shift_row: f64,
    pub shift_col: f64,
    pub zoom_row: f64,
    pub zoom_col: f64,
}

impl AffineParams {
    pub const IDENTITY: AffineParams = AffineParams {
        theta: 0.0,
        shift_row: 0.0,
        shift_col: 0.0,
        zoom_row: 1.0,
        zoom_col: 1.0,
    };
}

/// Everything drawn for one sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Draw {
    pub affine: Option<AffineParams>,
    pub flip_h: bool,
    pub flip_v: bool,
    pub brightness: Option<f64>,
    /// (row, col) offset of the crop window in the padded image.
    pub crop: Option<(usize, usize)>,
}

fn sym(g: &mut impl RngExt, r: f64) -> f64 {
    if r > 0.0 { g.random_range(-r..=r) } else { 0.0 }
}

/// Draws one sample's parameters from its own seed.
pub fn draw(plan: &AugmentPlan, seed: u64, h: usize, w: usize) -> Draw {
    let mut g = rng::generator(seed);
    let geometric = plan.rotate.is_some() || plan.shift.is_some() || plan.zoom.is_some();
    let affine = geometric.then(|| {
        let theta = sym(&mut g, plan.rotate.unwrap_or(0.0));
        let (sw, sh) = plan.shift.unwrap_or((0.0, 0.0));
        // Keras: a range below 1 is a fraction of the size, else pixels.
        let px = |r: f64, n: usize, g: &mut rand_chacha::ChaCha8Rng| {
            let v = sym(g, r);
            if r < 1.0 { v * n as f64 } else { v }
        };
        let shift_col = px(sw, w, &mut g);
        let shift_row = px(sh, h, &mut g);
        let (zoom_col, zoom_row) = match plan.zoom {
            Some(z) if z > 0.0 => (
                g.random_range(1.0 - z..=1.0 + z),
                g.random_range(1.0 - z..=1.0 + z),
            ),
            _ => (1.0, 1.0),
        };
        AffineParams {
            theta,
            shift_row,
            shift_col,
            zoom_row,
            zoom_col,
        }
    });
    let (fh, fv) = match plan.flip {
        Some(Flip::Horizontal) => (g.random_bool(0.5), false),
        Some(Flip::Vertical) => (false, g.random_bool(0.5)),
        Some(Flip::Both) => (g.random_bool(0.5), g.random_bool(0.5)),
        None => (false, false),
    };
    let brightness = plan
        .brightness
        .map(|(lo, hi)| if hi > lo { g.random_range(lo..=hi) } else { lo });
    let crop = plan.crop.map(|(size, pad)| {
        let span_r = (h + 2 * pad).saturating_sub(size);
        let span_c = (w + 2 * pad).saturating_sub(size);
        (g.random_range(0..=span_r), g.random_range(0..=span_c))
    });
    Draw {
        affine,
        flip_h: fh,
        flip_v: fv,
        brightness,
        crop,
    }
}

/// One axis' bilinear taps for coordinate `x` in `[0, n)`: two indices and
/// the weight of the second, or `None` when `constant` fill applies.
#[inline]
fn taps(x: f64, n: usize, mode: FillMode) -> Option<(usize, usize, f32)> {
    let last = (n - 1) as f64;
    let reflect = |k: i64| -> usize {
        let n = n as i64;
        let m = k.rem_euclid(2 * n);
        (if m >= n { 2 * n - 1 - m } else { m }) as usize
    };
    match mode {
        FillMode::Constant => {
            if !(0.0..=last).contains(&x) {
                return None;
            }
            let i = x.floor();
            let i0 = i as usize;
            Some((i0, (i0 + 1).min(n - 1), (x - i) as f32))
        }
        FillMode::Nearest => {
            let x = x.clamp(0.0, last);
            let i = x.floor();
            let i0 = i as usize;
            Some((i0, (i0 + 1).min(n - 1), (x - i) as f32))
        }
        FillMode::Reflect => {
            let i = x.floor();
            Some((reflect(i as i64), reflect(i as i64 + 1), (x - i) as f32))
        }
        FillMode::Wrap => {
            // scipy.ndimage's `wrap`: period n − 1.
            let x = if n <= 1 {
                0.0
            } else if x < 0.0 {
                let sz = last;
                x + sz * ((-x / sz).floor() + 1.0)
            } else if x > last {
                x - last * (x / last).floor()
            } else {
                x
            };
            let i = x.floor().min(last);
            let i0 = i as usize;
            Some((i0, (i0 + 1).min(n - 1), (x - i) as f32))
        }
    }
}

/// Applies an affine transform to a CHW image, writing into `out`.
pub fn affine(
    src: &[f32],
    out: &mut [f32],
    c: usize,
    h: usize,
    w: usize,
    p: &AffineParams,
    fill: FillMode,
) {
    let t = p.theta.to_radians();
    let (cos, sin) = (t.cos(), t.sin());
    let (cr, cc) = (h as f64 / 2.0 - 0.5, w as f64 / 2.0 - 0.5);
    let plane = h * w;
    for r in 0..h {
        for col in 0..w {
            let zr = p.zoom_row * (r as f64 - cr) + p.shift_row;
            let zc = p.zoom_col * (col as f64 - cc) + p.shift_col;
            let ir = cos * zr + sin * zc + cr;
            let ic = -sin * zr + cos * zc + cc;
            let o = r * w + col;
            match (taps(ir, h, fill), taps(ic, w, fill)) {
                (Some((r0, r1, fr)), Some((c0, c1, fc))) => {
                    let (w00, w01, w10, w11) = (
                        (1.0 - fr) * (1.0 - fc),
                        (1.0 - fr) * fc,
                        fr * (1.0 - fc),
                        fr * fc,
                    );
                    for k in 0..c {
                        let s = &src[k * plane..(k + 1) * plane];
                        out[k * plane + o] = w00 * s[r0 * w + c0]
                            + w01 * s[r0 * w + c1]
                            + w10 * s[r1 * w + c0]
                            + w11 * s[r1 * w + c1];
                    }
                }
                _ => {
                    for k in 0..c {
                        out[k * plane + o] = 0.0;
                    }
                }
            }
        }
    }
}

/// Flips a CHW image in place.
pub fn flip(x: &mut [f32], c: usize, h: usize, w: usize, horizontal: bool, vertical: bool) {
    for k in 0..c {
        let plane = &mut x[k * h * w..(k + 1) * h * w];
        if horizontal {
            plane.chunks_mut(w).for_each(|row| row.reverse());
        }
        if vertical {
            for r in 0..h / 2 {
                let (top, bottom) = plane.split_at_mut((h - 1 - r) * w);
                top[r * w..(r + 1) * w].swap_with_slice(&mut bottom[..w]);
            }
        }
    }
}

/// Crops a `size`×`size` window at `(r0, c0)` of the image zero-padded by
/// `pad` on every side, into `out` (`c`×`size`×`size`).
#[allow(clippy::too_many_arguments)]
pub fn crop(
    src: &[f32],
    out: &mut [f32],
    c: usize,
    h: usize,
    w: usize,
    size: usize,
    pad: usize,
    at: (usize, usize),
) {
    for k in 0..c {
        for r in 0..size {
            for col in 0..size {
                let (sr, sc) = (
                    (r + at.0) as i64 - pad as i64,
                    (col + at.1) as i64 - pad as i64,
                );
                out[(k * size + r) * size + col] =
                    if sr >= 0 && sc >= 0 && (sr as usize) < h && (sc as usize) < w {
                        src[(k * h + sr as usize) * w + sc as usize]
                    } else {
                        0.0
                    };
            }
        }
    }
}

/// Augments one CHW image in place, with the randomness of sample `index`
/// in `epoch`. `max` bounds brightness (255 for 8-bit pixels).
/// `dims` is (channels, height, width).
pub fn apply(
    plan: &AugmentPlan,
    epoch: u64,
    index: usize,
    x: &mut [f32],
    scratch: &mut Vec<f32>,
    dims: (usize, usize, usize),
    max: f32,
) {
    let (c, h, w) = dims;
    let d = draw(plan, rng::derive(plan.seed, &[epoch, index as u64]), h, w);
    scratch.resize(x.len(), 0.0);
    if let Some(p) = d.affine {
        affine(
            x,
            scratch,
            c,
            h,
            w,
            &p,
            plan.fill.unwrap_or(FillMode::Nearest),
        );
        x.copy_from_slice(scratch);
    }
    if d.flip_h || d.flip_v {
        flip(x, c, h, w, d.flip_h, d.flip_v);
    }
    if let Some(f) = d.brightness {
        let f = f as f32;
        x.iter_mut().for_each(|v| *v = (*v * f).clamp(0.0, max));
    }
    if let (Some((size, pad)), Some(at)) = (plan.crop, d.crop)
        && size == h
        && size == w
    {
        crop(x, scratch, c, h, w, size, pad, at);
        x.copy_from_slice(scratch);
    }
}
