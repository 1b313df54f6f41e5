//! Batch normalisation in training mode (batch statistics) as one candle
//! custom op with a fused backward pass, on CPU f32 NCHW tensors.
//!
//! Written with candle primitives, the normalisation is a dozen broadcast
//! and strided-reduction nodes in the graph, each allocating a full-size
//! tensor forward and more in backward; here it is two passes over the
//! data forward (statistics, then the affine map) and two backward.
//!
//! Statistics are summed per channel in f64 in a fixed order (channels in
//! parallel, each sequential), so results do not depend on threads.

use super::storage;
use crate::ops::geometry::batch_norm_dims;
use candle_core::{CpuStorage, CustomOp3, Device, Layout, Result, Shape, Tensor, bail};
use rayon::prelude::*;
use std::sync::{Arc, OnceLock};

/// Per-channel batch statistics: mean, biased variance and 1/√(var + ε);
/// and the forward's affine map `y = x·scale + shift`, whose sign the
/// backward of a fused ReLU recomputes bit for bit.
#[derive(Debug)]
struct Stats {
    mean: Vec<f32>,
    var: Vec<f32>,
    inv_std: Vec<f32>,
    scale: Vec<f32>,
    shift: Vec<f32>,
}

/// `y = γ·(x − mean)/√(var + ε) + β` over the batch statistics of `x`
/// (N, C, H, W), differentiable in x, γ and β.
///
/// Returns `(y, mean, var)`; `mean` and `var` (biased, as Keras'
/// `moments`) are detached, for the caller's running averages. With
/// `relu_output`, `y` is `max(0, ·)` of that, the ReLU after batch norm in
/// the same passes (its gradient mask applied in batch norm's backward).
pub(crate) fn batch_norm_train(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    eps: f64,
    relu_input: bool,
    relu_output: bool,
) -> Result<(Tensor, Tensor, Tensor)> {
    let (_, c, _, _) = x.dims4()?;
    if gamma.dims1()? != c || beta.dims1()? != c {
        bail!("batch_norm: γ and β need {c} entries (one per channel)");
    }
    let stats = Arc::new(OnceLock::new());
    let op = BatchNormTrain {
        eps: eps as f32,
        stats: stats.clone(),
        relu_input,
        relu_output,
    };
    let y = x
        .contiguous()?
        .apply_op3(&gamma.contiguous()?, &beta.contiguous()?, op)?;
    let Some(s) = stats.get() else {
        bail!("batch_norm: statistics were not computed");
    };
    let mean = Tensor::new(s.mean.as_slice(), &Device::Cpu)?;
    let var = Tensor::new(s.var.as_slice(), &Device::Cpu)?;
    Ok((y, mean, var))
}

struct BatchNormTrain {
    eps: f32,
    stats: Arc<OnceLock<Stats>>,
    /// The input is a ReLU's output whose own backward skips its mask
    /// ([`crate::ops::Relu::MaskedByConsumer`]): the input gradient is
    /// written as 0 where the input is not positive, as the ReLU's
    /// backward would have made it (same bits, one pass fewer).
    relu_input: bool,
    /// A ReLU follows and is applied here: `y = max(0, γ·x̂ + β)`, and the
    /// backward takes `dy` as 0 where `γ·x̂ + β` is not positive, as the
    /// ReLU's backward would have made it (same bits, two passes fewer).
    relu_output: bool,
}

/// The values of channel `ch`, plane by plane.
fn planes(x: &[f32], ch: usize, c: usize, hw: usize) -> impl Iterator<Item = &[f32]> {
    x.chunks(hw).skip(ch).step_by(c)
}

/// Accumulator lanes of [`lane_sums`].
const LANES: usize = 16;

/// `(Σ f(a, b).0, Σ f(a, b).1)` over the pairs of `a` and `b`, summed in
/// 16 independent lanes that the compiler turns into vector adds (a plain
/// running sum is one dependent scalar add per element: it held batch norm
/// at a third of memory speed), then the lanes and the tail in order. The
/// order depends on the length only, so results do not depend on threads.
fn lane_sums(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> (f32, f32)) -> (f32, f32) {
    let (mut s0, mut s1) = ([0f32; LANES], [0f32; LANES]);
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (xa, xb) in ca.zip(cb) {
        for l in 0..LANES {
            let (u, v) = f(xa[l], xb[l]);
            s0[l] += u;
            s1[l] += v;
        }
    }
    let (mut t0, mut t1) = (0f32, 0f32);
    for l in 0..LANES {
        t0 += s0[l];
        t1 += s1[l];
    }
    for (&u, &v) in ra.iter().zip(rb) {
        let (p, q) = f(u, v);
        t0 += p;
        t1 += q;
    }
    (t0, t1)
}

impl CustomOp3 for BatchNormTrain {
    fn name(&self) -> &'static str {
        "dlp-batch-norm-train"
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
        let (x, gamma, beta) = (storage(s1, l1)?, storage(s2, l2)?, storage(s3, l3)?);
        let (n, c, hw) = batch_norm_dims(l1)?;
        let m = (n * hw) as f64;
        if x.is_empty() {
            bail!("batch_norm: empty batch");
        }
        let moments: Vec<(f32, f32)> = (0..c)
            .into_par_iter()
            .map(|ch| {
                // f32 lanes within a plane, f64 across planes.
                let sum: f64 = planes(x, ch, c, hw)
                    .map(|p| lane_sums(p, p, |v, _| (v, 0.0)).0 as f64)
                    .sum();
                let mean = sum / m;
                let mf = mean as f32;
                let sq: f64 = planes(x, ch, c, hw)
                    .map(|p| lane_sums(p, p, |v, _| ((v - mf) * (v - mf), 0.0)).0 as f64)
                    .sum();
                (mean as f32, (sq / m) as f32)
            })
            .collect();
        let inv_std: Vec<f32> = moments
            .iter()
            .map(|m| 1.0 / (m.1 + self.eps).sqrt())
            .collect();
        let scale: Vec<f32> = (0..c).map(|ch| gamma[ch] * inv_std[ch]).collect();
        let shift = (0..c)
            .map(|ch| beta[ch] - moments[ch].0 * scale[ch])
            .collect();
        let stats = Stats {
            mean: moments.iter().map(|m| m.0).collect(),
            var: moments.iter().map(|m| m.1).collect(),
            inv_std,
            scale,
            shift,
        };
        let mut y = vec![0f32; x.len()];
        let relu = self.relu_output;
        y.par_chunks_mut(hw)
            .zip(x.par_chunks(hw))
            .enumerate()
            .for_each(|(i, (yp, xp))| {
                let ch = i % c;
                let (scale, shift) = (stats.scale[ch], stats.shift[ch]);
                for (o, &v) in yp.iter_mut().zip(xp) {
                    let y = v * scale + shift;
                    *o = if relu { y.max(0.0) } else { y };
                }
            });
        // A second forward of the same op value would find the cell set;
        // the statistics it holds are then this call's (same input).
        let _ = self.stats.set(stats);
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        _beta: &Tensor,
        _y: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let Some(stats) = self.stats.get() else {
            bail!("batch_norm: backward before forward");
        };
        let out = x.apply_op3_no_bwd(
            gamma,
            &dy.contiguous()?,
            &BatchNormGrad {
                stats,
                relu_input: self.relu_input,
                relu_output: self.relu_output,
            },
        )?;
        crate::ops::batch_norm_grads(&out, x.dims4()?)
    }
}

/// Backward of `BatchNormTrain`: operands (x, γ, dy) → [dx | dγ | dβ] flat.
///
/// With x̂ = (x − mean)·inv_std and M = N·H·W per channel:
/// dβ = Σ dy, dγ = Σ dy·x̂, dx = γ·inv_std/M · (M·dy − dβ − x̂·dγ).
struct BatchNormGrad<'a> {
    stats: &'a Stats,
    relu_input: bool,
    relu_output: bool,
}

impl BatchNormGrad<'_> {
    /// `(x, dy) ↦` the gradient reaching batch norm's output in channel
    /// `ch`: `dy`, or with a fused ReLU 0 where the forward's `x·scale +
    /// shift` (the same operations, so the same bits) was not positive,
    /// `relu_grad`'s rule.
    fn relu_mask(&self, ch: usize) -> impl Fn(f32, f32) -> f32 + use<> {
        let (scale, shift) = (self.stats.scale[ch], self.stats.shift[ch]);
        let on = self.relu_output;
        move |v, d| {
            if !on || v * scale + shift > 0.0 {
                d
            } else {
                0.0
            }
        }
    }
}

impl CustomOp3 for BatchNormGrad<'_> {
    fn name(&self) -> &'static str {
        "dlp-batch-norm-grad"
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
        let (x, gamma, dy) = (storage(s1, l1)?, storage(s2, l2)?, storage(s3, l3)?);
        let (n, c, hw) = batch_norm_dims(l1)?;
        let st = self.stats;
        let sums: Vec<(f32, f32)> = (0..c)
            .into_par_iter()
            .map(|ch| {
                let (mean, inv) = (st.mean[ch], st.inv_std[ch]);
                let mask = self.relu_mask(ch);
                let (mut sd, mut sdx) = (0f64, 0f64);
                for (xp, dp) in planes(x, ch, c, hw).zip(planes(dy, ch, c, hw)) {
                    let (a, b) = lane_sums(xp, dp, |v, d| {
                        let d = mask(v, d);
                        (d, d * (v - mean) * inv)
                    });
                    sd += a as f64;
                    sdx += b as f64;
                }
                (sdx as f32, sd as f32)
            })
            .collect();
        let len = x.len();
        let mut out = vec![0f32; len + 2 * c];
        let m = (n * hw) as f32;
        let (dx, dparams) = out.split_at_mut(len);
        dx.par_chunks_mut(hw)
            .zip(x.par_chunks(hw).zip(dy.par_chunks(hw)))
            .enumerate()
            .for_each(|(i, (dxp, (xp, dp)))| {
                let ch = i % c;
                let (mean, inv) = (st.mean[ch], st.inv_std[ch]);
                let (dgamma, dbeta) = sums[ch];
                let k = gamma[ch] * inv / m;
                let relu = self.relu_input;
                let mask = self.relu_mask(ch);
                for (o, (&v, &d)) in dxp.iter_mut().zip(xp.iter().zip(dp)) {
                    let d = mask(v, d);
                    let xhat = (v - mean) * inv;
                    let dx = k * (m * d - dbeta - xhat * dgamma);
                    // `relu_grad`'s rule: kept where the ReLU's output is > 0.
                    *o = if !relu || v > 0.0 { dx } else { 0.0 };
                }
            });
        for (ch, (dg, db)) in sums.iter().enumerate() {
            dparams[ch] = *dg;
            dparams[c + ch] = *db;
        }
        Ok((CpuStorage::F32(out), Shape::from(len + 2 * c)))
    }
}
