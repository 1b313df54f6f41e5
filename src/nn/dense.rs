//! A fully connected layer, Keras' `Dense`: y = act(x·K + b) with the
//! kernel stored as Keras stores it, (inputs, units).

use super::{activation, init, param};
use crate::plan::Activation;
use candle_core::{DType, Device, Result, Tensor, Var};
use rand_chacha::ChaCha8Rng;

pub(crate) struct Dense {
    pub name: String,
    pub kernel: Var,
    pub bias: Var,
    pub activation: Activation,
    /// Keras `kernel_regularizer=l2(λ)`: adds λ·Σ K² to the loss.
    pub l2: f64,
}

impl Dense {
    /// Glorot-uniform kernel (fan in = inputs, fan out = units), zero bias.
    pub(crate) fn new(
        name: &str,
        inputs: usize,
        units: usize,
        activation: Activation,
        l2: f64,
        rng: &mut ChaCha8Rng,
        device: &Device,
    ) -> Result<Dense> {
        let kernel = init::glorot_uniform(rng, (inputs, units), inputs, units, device)?;
        Ok(Dense {
            name: name.to_string(),
            kernel: Var::from_tensor(&kernel)?,
            bias: Var::zeros(units, DType::F32, device)?,
            activation,
            l2,
        })
    }

    /// The affine part, then the activation unless `activate` is false
    /// (a final softmax/sigmoid fused into the loss).
    pub(crate) fn forward(&self, x: &Tensor, train: bool, activate: bool) -> Result<Tensor> {
        let y = x
            .matmul(&param(&self.kernel, train))?
            .broadcast_add(&param(&self.bias, train))?;
        if activate {
            activation::apply(self.activation, &y)
        } else {
            Ok(y)
        }
    }

    pub(crate) fn variables(&self) -> Vec<(String, Var)> {
        vec![
            (format!("{}/kernel", self.name), self.kernel.clone()),
            (format!("{}/bias", self.name), self.bias.clone()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Hand computation: x = [[1, 2]], K = [[1, -1, 0], [0.5, 1, 2]], b = [0.1, 0.2, -5]
    // → x·K + b = [2.1, 1.2, -1]; relu → [2.1, 1.2, 0].
    // Gradient of Σ relu(y): dK[i][j] = x_i · 1[y_j > 0] = [[1,1,0],[2,2,0]], db = [1,1,0],
    // dx = Σ_j K[i][j]·1[y_j>0] = [0, 1.5].
    #[test]
    fn forward_and_gradient_match_hand_values() -> Result<()> {
        let dev = Device::Cpu;
        let mut rng = crate::rng::generator(0);
        let d = Dense::new("dense", 2, 3, Activation::Relu, 0.0, &mut rng, &dev)?;
        d.kernel
            .set(&Tensor::new(&[[1f32, -1., 0.], [0.5, 1., 2.]], &dev)?)?;
        d.bias.set(&Tensor::new(&[0.1f32, 0.2, -5.], &dev)?)?;
        let x = Var::new(&[[1f32, 2.]], &dev)?;
        let y = d.forward(x.as_tensor(), true, true)?;
        let yv = y.flatten_all()?.to_vec1::<f32>()?;
        for (g, w) in yv.iter().zip([2.1, 1.2, 0.]) {
            assert!((g - w).abs() < 1e-6);
        }
        let grads = y.sum_all()?.backward()?;
        let get = |v: &Var| -> Result<Vec<f32>> {
            grads
                .get(v.as_tensor())
                .ok_or_else(|| candle_core::Error::Msg("no gradient".into()))?
                .flatten_all()?
                .to_vec1::<f32>()
        };
        assert_eq!(get(&d.kernel)?, vec![1., 1., 0., 2., 2., 0.]);
        assert_eq!(get(&d.bias)?, vec![1., 1., 0.]);
        assert_eq!(get(&x)?, vec![0., 1.5]);
        Ok(())
    }
}
