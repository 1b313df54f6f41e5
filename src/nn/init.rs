//! Keras' default initialisers: Glorot-uniform kernels, zero biases, and
//! batch norm's γ = 1, β = 0, moving mean 0, moving variance 1.
//!
//! Kernels draw from one seeded generator (`rng::generator(plan.init_seed)`)
//! in layer order, so the same seed gives the same weights on any device
//! and thread count.

use candle_core::{Device, Result, Shape, Tensor};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

/// Glorot-uniform's bound: √(6 / (fan_in + fan_out)).
pub(crate) fn glorot_limit(fan_in: usize, fan_out: usize) -> f64 {
    (6.0 / (fan_in + fan_out) as f64).sqrt()
}

/// A tensor of `shape` drawn uniformly from [−limit, limit) with
/// limit = √(6 / (fan_in + fan_out)), values in row-major order.
pub(crate) fn glorot_uniform(
    rng: &mut ChaCha8Rng,
    shape: impl Into<Shape>,
    fan_in: usize,
    fan_out: usize,
    device: &Device,
) -> Result<Tensor> {
    let shape = shape.into();
    let limit = glorot_limit(fan_in, fan_out);
    let values: Vec<f32> = (0..shape.elem_count())
        .map(|_| {
            let u: f64 = rng.random();
            ((2.0 * u - 1.0) * limit) as f32
        })
        .collect();
    Tensor::from_vec(values, shape, device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glorot_draws_stay_within_the_limit_and_fill_it() -> Result<()> {
        // Dense 2→25: limit √(6/27) = 0.4714.
        assert!((glorot_limit(2, 25) - 0.471_404_5).abs() < 1e-6);
        let mut rng = crate::rng::generator(7);
        let t = glorot_uniform(&mut rng, (100, 100), 100, 100, &Device::Cpu)?;
        let v = t.flatten_all()?.to_vec1::<f32>()?;
        let limit = glorot_limit(100, 100) as f32;
        assert!(v.iter().all(|x| x.abs() <= limit));
        let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
        assert!(
            max > 0.99 * limit,
            "draws should reach the bound, max {max}"
        );
        let mean = v.iter().sum::<f32>() / v.len() as f32;
        assert!(mean.abs() < 0.01 * limit);
        Ok(())
    }

    #[test]
    fn same_seed_same_draws() -> Result<()> {
        let a = glorot_uniform(&mut crate::rng::generator(3), 10, 5, 5, &Device::Cpu)?;
        let b = glorot_uniform(&mut crate::rng::generator(3), 10, 5, 5, &Device::Cpu)?;
        let c = glorot_uniform(&mut crate::rng::generator(4), 10, 5, 5, &Device::Cpu)?;
        assert_eq!(a.to_vec1::<f32>()?, b.to_vec1::<f32>()?);
        assert_ne!(a.to_vec1::<f32>()?, c.to_vec1::<f32>()?);
        Ok(())
    }
}
