//! Element-wise activations, as Keras defines them. Softmax runs over the
//! feature axis: the last one for flat inputs, the channel axis (1) for
//! NCHW feature maps (Keras' last axis in NHWC).

use crate::plan::Activation;
use candle_core::{Result, Tensor};

/// Applies `act` to `x`.
pub(crate) fn apply(act: Activation, x: &Tensor) -> Result<Tensor> {
    match act {
        Activation::Linear => Ok(x.clone()),
        Activation::Relu => crate::ops::relu(x),
        // relu(x) − α·relu(−x): x for x > 0, αx otherwise, for any α.
        Activation::LeakyRelu { alpha } => x.relu()? - (x.neg()?.relu()? * alpha)?,
        Activation::Sigmoid => candle_nn::ops::sigmoid(x),
        Activation::Tanh => x.tanh(),
        Activation::Softmax => candle_nn::ops::softmax(x, feature_axis(x)),
    }
}

/// The axis softmax normalises over.
pub(crate) fn feature_axis(x: &Tensor) -> usize {
    if x.rank() == 4 {
        1
    } else {
        x.rank().saturating_sub(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    // Reference values by hand: sigmoid(0) = 0.5, sigmoid(2) = 0.880797,
    // tanh(1) = 0.761594, softmax([1,2,3]) = e^i / Σ = [0.090031, 0.244728, 0.665241].
    #[test]
    fn activations_match_hand_values() -> Result<()> {
        let x = Tensor::new(&[[-2f32, 0., 2.]], &Device::Cpu)?;
        let table: &[(Activation, [f32; 3])] = &[
            (Activation::Linear, [-2., 0., 2.]),
            (Activation::Relu, [0., 0., 2.]),
            (Activation::LeakyRelu { alpha: 0.3 }, [-0.6, 0., 2.]),
            (Activation::Sigmoid, [0.119_203, 0.5, 0.880_797]),
            (Activation::Tanh, [-0.964_028, 0., 0.964_028]),
        ];
        for (act, want) in table {
            let got = apply(*act, &x)?.flatten_all()?.to_vec1::<f32>()?;
            for (g, w) in got.iter().zip(want) {
                assert!((g - w).abs() < 1e-5, "{act:?}: {got:?} vs {want:?}");
            }
        }
        let s = apply(
            Activation::Softmax,
            &Tensor::new(&[[1f32, 2., 3.]], &Device::Cpu)?,
        )?;
        let s = s.flatten_all()?.to_vec1::<f32>()?;
        for (g, w) in s.iter().zip([0.090_031, 0.244_728, 0.665_241]) {
            assert!((g - w).abs() < 1e-5);
        }
        Ok(())
    }

    #[test]
    fn softmax_of_feature_maps_runs_over_channels() -> Result<()> {
        let x = Tensor::zeros((1, 4, 2, 2), candle_core::DType::F32, &Device::Cpu)?;
        let s = apply(Activation::Softmax, &x)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        assert!(s.iter().all(|v| (v - 0.25).abs() < 1e-6));
        Ok(())
    }
}
