//! Value transforms (`scale`, `normalize`) with statistics from the train
//! split only, recorded for the run manifest and applied identically to
//! every split. Both are affine per group (a channel of an image, a feature
//! of a vector), so they compose into one `a·x + b` per group, applied
//! when a batch is assembled (after augmentation, which works on raw pixels).

use super::table::{Table, Values};
use crate::plan::{Preprocess, Shape};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// The ε of `(x − μ)/(σ + ε)`.
pub(crate) const EPSILON: f64 = 1e-7;

/// One preprocessing step as applied, with its statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Grayscale,
    Rgb,
    Resize {
        height: usize,
        width: usize,
    },
    Scale {
        factor: f64,
    },
    /// One μ/σ for all pixels (`global`), one per channel, or one per
    /// feature, computed on the train split's values entering this step.
    Normalize {
        scope: Scope,
        mean: Vec<f64>,
        std: Vec<f64>,
    },
    OneHot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Global,
    PerChannel,
    PerFeature,
}

/// Every step of `preprocess`, in order, with the statistics it used.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PreprocessStats {
    /// How many training samples the statistics come from.
    pub train_samples: usize,
    pub steps: Vec<Step>,
    /// A CSV source's feature columns in the order the model reads them,
    /// so `dlp predict` can find them by name in another file (absent for
    /// other sources).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
}

/// Per-group `a·x + b`, with the group length (elements per group).
#[derive(Debug, Clone, PartialEq)]
pub struct Affine {
    pub a: Vec<f32>,
    pub b: Vec<f32>,
    pub group_len: usize,
}

/// Groups of a shape: channels of an image, features of a vector.
pub(crate) fn groups(shape: Shape) -> (usize, usize) {
    match shape {
        Shape::Flat(d) => (d, 1),
        Shape::Image {
            channels,
            height,
            width,
        } => (channels, height * width),
    }
}

/// Rows per parallel piece of [`raw_moments`]: fixed, so the pieces (and
/// the order their float sums are added in) never depend on the thread
/// count.
const MOMENT_ROWS: usize = 256;

/// Population mean and variance per group over `rows` of `table`, the
/// same bits whatever the thread count. Bytes are summed exactly in
/// integers (Σx and Σx², one rounding each for mean and variance); floats
/// in f64 in two passes, over fixed pieces of rows added in order.
pub(crate) fn raw_moments(table: &Table, rows: &[usize], shape: Shape) -> (Vec<f64>, Vec<f64>) {
    let (ng, glen) = groups(shape);
    let numel = table.numel;
    let group = |r: usize, g: usize| r * numel + g * glen..r * numel + (g + 1) * glen;
    let n = (rows.len() * glen).max(1);
    match &table.values {
        Values::U8(v) => {
            let pieces: Vec<Vec<(u64, u64)>> = rows
                .par_chunks(MOMENT_ROWS)
                .map(|piece| {
                    let mut acc = vec![(0u64, 0u64); ng];
                    for &r in piece {
                        for (g, (s, q)) in acc.iter_mut().enumerate() {
                            for &x in &v[group(r, g)] {
                                let x = u64::from(x);
                                *s += x;
                                *q += x * x;
                            }
                        }
                    }
                    acc
                })
                .collect();
            let (mut sum, mut sq) = (vec![0u64; ng], vec![0u128; ng]);
            for piece in pieces {
                for (g, (s, q)) in piece.into_iter().enumerate() {
                    sum[g] += s;
                    sq[g] += u128::from(q);
                }
            }
            let nf = n as f64;
            let mean = sum.iter().map(|&s| s as f64 / nf).collect();
            // n²·var = n·Σx² − (Σx)², exact in integers.
            let var = sum
                .iter()
                .zip(&sq)
                .map(|(&s, &q)| (n as u128 * q - u128::from(s) * u128::from(s)) as f64 / (nf * nf))
                .collect();
            (mean, var)
        }
        Values::F32(v) => {
            let sum_over = |f: &(dyn Fn(usize, f64) -> f64 + Sync)| -> Vec<f64> {
                let pieces: Vec<Vec<f64>> = rows
                    .par_chunks(MOMENT_ROWS)
                    .map(|piece| {
                        let mut acc = vec![0.0f64; ng];
                        for &r in piece {
                            for (g, a) in acc.iter_mut().enumerate() {
                                *a += v[group(r, g)]
                                    .iter()
                                    .map(|&x| f(g, f64::from(x)))
                                    .sum::<f64>();
                            }
                        }
                        acc
                    })
                    .collect();
                let mut total = vec![0.0f64; ng];
                for piece in pieces {
                    total.iter_mut().zip(piece).for_each(|(t, p)| *t += p);
                }
                total
            };
            let nf = n as f64;
            let mean: Vec<f64> = sum_over(&|_, x| x).into_iter().map(|s| s / nf).collect();
            let var = sum_over(&|g, x| (x - mean[g]) * (x - mean[g]))
                .into_iter()
                .map(|s| s / nf)
                .collect();
            (mean, var)
        }
    }
}

/// Computes the statistics on the training rows and the composed affine.
pub fn fit(
    steps: &[Preprocess],
    table: &Table,
    train_rows: &[usize],
    shape: Shape,
) -> (PreprocessStats, Affine) {
    let (ng, _) = groups(shape);
    let mut a = vec![1.0f64; ng];
    let mut b = vec![0.0f64; ng];
    let mut moments: Option<(Vec<f64>, Vec<f64>)> = None;
    let mut out = Vec::new();
    for s in steps {
        let step = match s {
            Preprocess::Grayscale => Step::Grayscale,
            Preprocess::Rgb => Step::Rgb,
            Preprocess::Resize { height, width } => Step::Resize {
                height: *height,
                width: *width,
            },
            Preprocess::OneHot => Step::OneHot,
            Preprocess::Scale { factor } => Step::Scale { factor: *factor },
            Preprocess::Normalize { per_channel } => {
                let (m, v) = moments
                    .get_or_insert_with(|| raw_moments(table, train_rows, shape))
                    .clone();
                // Moments of the values entering this step: y = a·x + b.
                let mg: Vec<f64> = (0..ng).map(|g| a[g] * m[g] + b[g]).collect();
                let vg: Vec<f64> = (0..ng).map(|g| a[g] * a[g] * v[g]).collect();
                let (scope, mean, std) = match (shape, per_channel) {
                    (Shape::Flat(_), _) => {
                        (Scope::PerFeature, mg, vg.iter().map(|x| x.sqrt()).collect())
                    }
                    (_, true) => (Scope::PerChannel, mg, vg.iter().map(|x| x.sqrt()).collect()),
                    (_, false) => {
                        // Equal-sized channels: the mixture's mean and variance.
                        let mu = mg.iter().sum::<f64>() / ng as f64;
                        let var = (0..ng)
                            .map(|g| vg[g] + (mg[g] - mu) * (mg[g] - mu))
                            .sum::<f64>()
                            / ng as f64;
                        (Scope::Global, vec![mu], vec![var.sqrt()])
                    }
                };
                Step::Normalize { scope, mean, std }
            }
        };
        compose(&step, &mut a, &mut b);
        out.push(step);
    }
    let stats = PreprocessStats {
        train_samples: train_rows.len(),
        steps: out,
        columns: Vec::new(),
    };
    (stats, affine(&a, &b, shape))
}

/// Folds one step into the per-group `a·x + b` (the load-time steps and
/// `one_hot` change no value).
fn compose(step: &Step, a: &mut [f64], b: &mut [f64]) {
    match step {
        Step::Scale { factor } => {
            a.iter_mut().for_each(|x| *x *= factor);
            b.iter_mut().for_each(|x| *x *= factor);
        }
        Step::Normalize { mean, std, .. } => {
            for g in 0..a.len() {
                let (mu, sd) = if mean.len() == 1 {
                    (mean[0], std[0])
                } else {
                    (mean[g], std[g])
                };
                let k = 1.0 / (sd + EPSILON);
                a[g] *= k;
                b[g] = (b[g] - mu) * k;
            }
        }
        Step::Grayscale | Step::Rgb | Step::Resize { .. } | Step::OneHot => {}
    }
}

fn affine(a: &[f64], b: &[f64], shape: Shape) -> Affine {
    Affine {
        a: a.iter().map(|&x| x as f32).collect(),
        b: b.iter().map(|&x| x as f32).collect(),
        group_len: groups(shape).1,
    }
}

impl PreprocessStats {
    /// The transform these statistics describe for samples of `shape`
    /// (after the load-time steps): what a run applied, rebuilt from its
    /// `run.yaml` (`dlp predict`). Bit for bit the transform [`fit`]
    /// returned, since it is composed by the same steps from the same
    /// numbers. An error when a normalisation has the wrong number of
    /// statistics for the shape.
    pub fn affine(&self, shape: Shape) -> Result<Affine, String> {
        let (ng, _) = groups(shape);
        for step in &self.steps {
            if let Step::Normalize { mean, std, .. } = step
                && ((mean.len() != 1 && mean.len() != ng) || std.len() != mean.len())
            {
                return Err(format!(
                    "normalize has {} means and {} standard deviations for {ng} {}",
                    mean.len(),
                    std.len(),
                    if matches!(shape, Shape::Flat(_)) {
                        "features"
                    } else {
                        "channels"
                    }
                ));
            }
        }
        let mut a = vec![1.0f64; ng];
        let mut b = vec![0.0f64; ng];
        for step in &self.steps {
            compose(step, &mut a, &mut b);
        }
        Ok(affine(&a, &b, shape))
    }
}

impl Affine {
    /// Applies the transform to one sample in place.
    pub fn apply(&self, x: &mut [f32]) {
        for (g, chunk) in x.chunks_mut(self.group_len.max(1)).enumerate() {
            let (a, b) = (self.a[g], self.b[g]);
            if a != 1.0 || b != 0.0 {
                chunk.iter_mut().for_each(|v| *v = a * *v + b);
            }
        }
    }
}
