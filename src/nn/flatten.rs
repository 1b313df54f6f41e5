//! Flatten: (N, C, H, W) → (N, C·H·W).
//!
//! The element order is candle's channels-first one, not Keras' (H, W, C):
//! the following dense kernel's rows are a permutation of Keras', which
//! changes nothing in training (the draws are i.i.d.) but would matter when
//! importing Keras weights.

use candle_core::{Result, Tensor};

pub(crate) fn forward(x: &Tensor) -> Result<Tensor> {
    x.flatten_from(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn flattens_all_but_the_batch_axis() -> Result<()> {
        let x = Tensor::arange(0f32, 24., &Device::Cpu)?.reshape((2, 3, 2, 2))?;
        let y = forward(&x)?;
        assert_eq!(y.dims(), &[2, 12]);
        assert_eq!(y.get(1)?.get(0)?.to_scalar::<f32>()?, 12.);
        Ok(())
    }
}
