//! `source blobs`: scikit-learn's `make_blobs` with its defaults
//! (`center_box=(-10, 10)`, `shuffle=True`), drawn from our seeded stream.
//!
//! sklearn's steps, replicated in order: centers uniform in the box
//! (row-major, `centers × features`); `samples // centers` samples per
//! center, the first `samples % centers` centers one more; the rows of
//! center 0, then center 1, …, each `N(center, std²)` per feature; then a
//! shuffle of the rows. Equal in distribution to NumPy's, not bit for bit.

use super::table::{Loaded, Table, Values};
use crate::error::{Error, Result};
use crate::plan::Shape;
use crate::rng;
use rand::RngExt;
use rand::seq::SliceRandom;
use rand_distr::{Distribution, Normal};

/// Generated blobs: features row-major, labels, and the centers drawn.
pub type Blobs = (Vec<f32>, Vec<u32>, Vec<Vec<f64>>);

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

pub fn load(
    samples: usize,
    centers: usize,
    features: usize,
    std: f64,
    seed: u64,
) -> Result<Loaded> {
    let (x, y, _) = make_blobs(samples, centers, features, std, seed)?;
    Ok(Loaded {
        name: "blobs".into(),
        classes: (0..centers).map(|k| k.to_string()).collect(),
        shape: Shape::Flat(features),
        train: Table {
            values: Values::F32(x),
            numel: features,
            labels: y,
        },
        test: None,
    })
}
