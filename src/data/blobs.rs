//! `source blobs`: scikit-learn's `make_blobs` with its defaults
//! (`center_box=(-10, 10)`, `shuffle=True`).
//!
//! sklearn's steps, replicated in order: centers uniform in the box
//! (row-major, `centers × features`); `samples // centers` samples per
//! center, the first `samples % centers` centers one more; the rows of
//! center 0, then center 1, …, each `N(center, std²)` per feature
//! (row-major); then a shuffle of the rows.
//!
//! Two generators draw them ([`BlobsGenerator`]): `chacha`, the seeded
//! ChaCha8 stream every other random choice of `dlp` uses (equal to
//! scikit-learn's in distribution only), and `numpy`, NumPy's legacy
//! `RandomState(seed)` called exactly as `make_blobs(…, random_state=seed)`
//! calls it, so the points are scikit-learn's to the last bit (then
//! rounded to float32, as every feature `dlp` trains on).

use super::numpy_random::RandomState;
use super::table::{Loaded, Names, Table, Values};
use crate::error::{Error, Result};
use crate::plan::{BlobsGenerator, Shape};
use crate::rng;
use rand::RngExt;
use rand::seq::SliceRandom;
use rand_distr::{Distribution, Normal};

/// Generated blobs: features row-major, labels, and the centers drawn.
pub(crate) type Blobs = (Vec<f32>, Vec<u32>, Vec<Vec<f64>>);

/// NumPy-generated blobs: features row-major as float64, labels, centers.
pub(crate) type NumpyBlobs = (Vec<f64>, Vec<u32>, Vec<Vec<f64>>);

/// Generates the blobs.
pub fn make_blobs(
    samples: usize,
    centers: usize,
    features: usize,
    std: f64,
    seed: u64,
) -> Result<Blobs> {
    if centers == 0 || features == 0 {
        return Err(Error::Runtime(
            "blobs needs at least one center and one feature".into(),
        ));
    }
    let normal =
        Normal::new(0.0, std).map_err(|e| Error::Runtime(format!("blobs std={std}: {e}")))?;
    let mut g = rng::generator(seed);
    let center: Vec<Vec<f64>> = (0..centers)
        .map(|_| (0..features).map(|_| g.random_range(-10.0..10.0)).collect())
        .collect();
    let mut rows: Vec<(Vec<f32>, u32)> = Vec::with_capacity(samples);
    for (k, c) in center.iter().enumerate() {
        let n = samples / centers + usize::from(k < samples % centers);
        for _ in 0..n {
            let x = c
                .iter()
                .map(|&m| (m + normal.sample(&mut g)) as f32)
                .collect();
            rows.push((x, k as u32));
        }
    }
    rows.shuffle(&mut g);
    let mut x = Vec::with_capacity(samples * features);
    let mut y = Vec::with_capacity(samples);
    for (r, l) in rows {
        x.extend(r);
        y.push(l);
    }
    Ok((x, y, center))
}

/// Blobs as scikit-learn's `make_blobs(n_samples=samples,
/// centers=centers, n_features=features, cluster_std=std,
/// random_state=seed)` makes them, bit for bit: features row-major as
/// float64, labels, and the centers. `seed` is NumPy's, below 2³².
pub fn make_blobs_numpy(
    samples: usize,
    centers: usize,
    features: usize,
    std: f64,
    seed: u32,
) -> Result<NumpyBlobs> {
    if centers == 0 || features == 0 {
        return Err(Error::Runtime(
            "blobs needs at least one center and one feature".into(),
        ));
    }
    let mut g = RandomState::new(seed);
    // generator.uniform(-10, 10, size=(centers, features)).
    let center: Vec<Vec<f64>> = (0..centers)
        .map(|_| (0..features).map(|_| g.uniform(-10.0, 10.0)).collect())
        .collect();
    // generator.normal(loc=centers[i], scale=std, size=(n, features)) per
    // center, in order; the cached second Gaussian carries over.
    let mut x = Vec::with_capacity(samples * features);
    let mut y = Vec::with_capacity(samples);
    for (k, c) in center.iter().enumerate() {
        let n = samples / centers + usize::from(k < samples % centers);
        for _ in 0..n {
            x.extend(c.iter().map(|&m| g.normal(m, std)));
            y.push(k as u32);
        }
    }
    // sklearn.utils.shuffle(X, y, random_state=generator): the rows in the
    // order of `indices = arange(n); generator.shuffle(indices)`.
    let mut order: Vec<usize> = (0..samples).collect();
    g.shuffle(&mut order);
    let xs = order
        .iter()
        .flat_map(|&i| x[i * features..(i + 1) * features].iter().copied())
        .collect();
    let ys = order.iter().map(|&i| y[i]).collect();
    Ok((xs, ys, center))
}

pub(crate) fn load(
    samples: usize,
    centers: usize,
    features: usize,
    std: f64,
    seed: u64,
    generator: BlobsGenerator,
) -> Result<Loaded> {
    let (x, y) = match generator {
        BlobsGenerator::Chacha => {
            let (x, y, _) = make_blobs(samples, centers, features, std, seed)?;
            (x, y)
        }
        BlobsGenerator::Numpy => {
            let seed = u32::try_from(seed).map_err(|_| {
                Error::Runtime(format!(
                    "blobs generator=numpy: seed {seed} is not below 2^32 (NumPy's RandomState)"
                ))
            })?;
            let (x, y, _) = make_blobs_numpy(samples, centers, features, std, seed)?;
            (x.into_iter().map(|v| v as f32).collect(), y)
        }
    };
    Ok(Loaded {
        name: "blobs".into(),
        classes: (0..centers).map(|k| k.to_string()).collect(),
        shape: Shape::Flat(features),
        train: Table {
            values: Values::F32(x),
            numel: features,
            labels: y,
            names: Names::Unnamed,
        },
        test: None,
    })
}
