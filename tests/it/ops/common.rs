//! Shared helpers for the `ops` tests.

use candle_core::{Device, Result, Tensor, Var};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A seeded uniform(-1, 1) tensor.
pub fn random(shape: &[usize], seed: u64) -> Result<Tensor> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect();
    Tensor::from_vec(v, shape, &Device::Cpu)
}

/// Largest |a − b| relative to the largest |b| (at least 1).
pub fn rel_err(a: &Tensor, b: &Tensor) -> Result<f32> {
    assert_eq!(a.dims(), b.dims(), "shapes differ");
    let a = a.flatten_all()?.to_vec1::<f32>()?;
    let b = b.flatten_all()?.to_vec1::<f32>()?;
    let scale = b.iter().fold(1f32, |m, v| m.max(v.abs()));
    let diff = a
        .iter()
        .zip(&b)
        .fold(0f32, |m, (x, y)| m.max((x - y).abs()));
    Ok(diff / scale)
}

/// Output and gradients of `f(vars)` under the loss `sum(f · r)` for a fixed
/// random `r`, so every output element gets a distinct upstream gradient.
pub fn value_and_grads(
    vars: &[Var],
    f: impl Fn(&[Tensor]) -> Result<Tensor>,
    seed: u64,
) -> Result<(Tensor, Vec<Tensor>)> {
    let ts: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
    let y = f(&ts)?;
    let r = random(y.dims(), seed)?;
    let grads = (&y * &r)?.sum_all()?.backward()?;
    let gs = vars
        .iter()
        .map(|v| grads.get(v).cloned().expect("every input gets a gradient"))
        .collect();
    Ok((y, gs))
}
