//! A fused CPU kernel for batch norm in training mode, forward and
//! backward, used by [`super::batchnorm::BatchNorm`] for f32 tensors on the
//! CPU (other devices take the composite candle graph).
//!
//! Why: built from candle's broadcast ops, one training batch norm on a
//! 32×32×32×32 batch took about 37 ms forward and 139 ms backward on this
//! 2-core machine; the six of the book's CIFAR model were about a third of
//! a step. The fused kernel reads each element a few times instead of
//! materialising a dozen temporaries.
//!
//! Statistics are per channel over N and the spatial positions, summed in
//! f64 one channel at a time, so the result does not depend on the number
//! of threads. Backward uses the standard closed form, with x̂ = (x − μ)/σ̂,
//! σ̂ = √(σ² + ε), M elements per channel:
//! dβ = Σ dy, dγ = Σ dy·x̂, dx = γ/(σ̂·M)·(M·dy − dβ − x̂·dγ).

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};
use rayon::prelude::*;
use std::sync::{Arc, Mutex};

/// Per-channel batch statistics: mean and biased variance.
#[derive(Debug, Clone)]
pub struct Stats {
    pub mean: Vec<f64>,
    pub var: Vec<f64>,
}

/// The op: `x.apply_op3(γ, β, op.clone())`; after the forward,
/// [`BnTrain::stats`] of any clone holds the batch statistics (for the
/// moving averages).
#[derive(Clone)]
pub struct BnTrain {
    pub epsilon: f64,
    stats: Arc<Mutex<Option<Stats>>>,
}

impl BnTrain {
    pub fn new(epsilon: f64) -> Self {
        BnTrain {
            epsilon,
            stats: Arc::new(Mutex::new(None)),
        }
    }

    /// The statistics of the last forward pass.
    pub fn stats(&self) -> Option<Stats> {
        self.stats.lock().ok().and_then(|s| s.clone())
    }
}

/// (N, C, S) of an (N, C, …) shape.
fn ncs(shape: &Shape) -> (usize, usize, usize) {
    let d = shape.dims();
    let n = d.first().copied().unwrap_or(1);
    let c = d.get(1).copied().unwrap_or(1);
    (n, c, d.iter().skip(2).product())
}

fn contiguous_f32<'a>(s: &'a CpuStorage, l: &Layout) -> Result<&'a [f32]> {
    let data = s.as_slice::<f32>()?;
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&data[a..b]),
        None => Err(candle_core::Error::Msg(
            "batch norm kernel needs contiguous tensors".into(),
        )),
    }
}

/// Per-channel Σ f(n, c, s) over n and s, one channel per task.
fn per_channel(n: usize, c: usize, s: usize, f: impl Fn(usize) -> f64 + Sync) -> Vec<f64> {
    (0..c)
        .into_par_iter()
        .map(|ch| {
            let mut acc = 0f64;
            for i in 0..n {
                let base = (i * c + ch) * s;
                for j in base..base + s {
                    acc += f(j);
                }
            }
            acc
        })
        .collect()
}

impl CustomOp3 for BnTrain {
    fn name(&self) -> &'static str {
        "batch-norm-train"
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
        let x = contiguous_f32(s1, l1)?;
        let gamma = contiguous_f32(s2, l2)?;
        let beta = contiguous_f32(s3, l3)?;
        let (n, c, s) = ncs(l1.shape());
        let m = (n * s).max(1) as f64;
        let mean: Vec<f64> = per_channel(n, c, s, |j| x[j] as f64)
            .into_iter()
            .map(|v| v / m)
            .collect();
        let var: Vec<f64> = per_channel(n, c, s, |j| {
            let d = x[j] as f64 - mean[(j / s) % c];
            d * d
        })
        .into_iter()
        .map(|v| v / m)
        .collect();
        let scale: Vec<f32> = (0..c)
            .map(|ch| (gamma[ch] as f64 / (var[ch] + self.epsilon).sqrt()) as f32)
            .collect();
        let shift: Vec<f32> = (0..c)
            .map(|ch| (beta[ch] as f64 - mean[ch] * scale[ch] as f64) as f32)
            .collect();
        let mut y = vec![0f32; x.len()];
        y.par_chunks_mut((c * s).max(1))
            .zip(x.par_chunks((c * s).max(1)))
            .for_each(|(yo, xi)| {
                let rows = yo.chunks_mut(s.max(1)).zip(xi.chunks(s.max(1)));
                for (ch, (yo, xi)) in rows.enumerate() {
                    for (o, v) in yo.iter_mut().zip(xi) {
                        *o = v * scale[ch] + shift[ch];
                    }
                }
            });
        if let Ok(mut st) = self.stats.lock() {
            *st = Some(Stats { mean, var });
        }
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        _beta: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let Some(Stats { mean, var }) = self.stats() else {
            return Err(candle_core::Error::Msg(
                "batch norm backward before forward".into(),
            ));
        };
        let (n, c, s) = ncs(x.shape());
        let m = (n * s).max(1) as f64;
        let xv = x.detach().flatten_all()?.to_vec1::<f32>()?;
        let dy = grad_res.detach().flatten_all()?.to_vec1::<f32>()?;
        let g = gamma.detach().to_vec1::<f32>()?;
        let inv_std: Vec<f64> = var
            .iter()
            .map(|v| 1.0 / (v + self.epsilon).sqrt())
            .collect();
        let xhat = |j: usize| {
            let ch = (j / s) % c;
            (xv[j] as f64 - mean[ch]) * inv_std[ch]
        };
        let dbeta = per_channel(n, c, s, |j| dy[j] as f64);
        let dgamma = per_channel(n, c, s, |j| dy[j] as f64 * xhat(j));
        let mut dx = vec![0f32; xv.len()];
        dx.par_chunks_mut((c * s).max(1))
            .enumerate()
            .for_each(|(i, out)| {
                for (ch, out) in out.chunks_mut(s.max(1)).enumerate() {
                    let k = g[ch] as f64 * inv_std[ch] / m;
                    let base = (i * c + ch) * s;
                    for (jj, o) in out.iter_mut().enumerate() {
                        let j = base + jj;
                        *o = (k * (m * dy[j] as f64 - dbeta[ch] - xhat(j) * dgamma[ch])) as f32;
                    }
                }
            });
        let dev = x.device();
        let to32 = |v: Vec<f64>| v.into_iter().map(|a| a as f32).collect::<Vec<f32>>();
        Ok((
            Some(Tensor::from_vec(dx, x.shape(), dev)?),
            Some(Tensor::from_vec(to32(dgamma), c, dev)?),
            Some(Tensor::from_vec(to32(dbeta), c, dev)?),
        ))
    }
}
