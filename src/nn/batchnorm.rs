//! Batch normalisation, Keras' `BatchNormalization`.
//!
//! Training normalises with the batch statistics over every axis but the
//! feature axis (N for flat inputs; N, H, W for NCHW maps) and updates the
//! moving statistics Keras' way: moving ← momentum·moving + (1 − momentum)·batch
//! (Keras' momentum 0.99 is PyTorch/candle's 0.01). Keras feeds the *biased*
//! batch variance (mean of squared deviations, `ops.moments`) into the moving
//! variance — unlike PyTorch, which uses the unbiased one — and so does this
//! layer. Inference normalises with the moving statistics.
//!
//! γ and β are trainable; the moving statistics are state, kept out of the
//! optimizer and the trainable list, but saved with the weights.

use super::param;
use candle_core::{DType, Device, Result, Tensor, Var};

pub(crate) struct BatchNorm {
    pub name: String,
    pub gamma: Var,
    pub beta: Var,
    pub moving_mean: Var,
    pub moving_variance: Var,
    pub momentum: f64,
    pub epsilon: f64,
}

impl BatchNorm {
    /// γ = 1, β = 0, moving mean 0, moving variance 1 (Keras' initialisers).
    pub(crate) fn new(
        name: &str,
        features: usize,
        momentum: f64,
        epsilon: f64,
        device: &Device,
    ) -> Result<BatchNorm> {
        Ok(BatchNorm {
            name: name.to_string(),
            gamma: Var::ones(features, DType::F32, device)?,
            beta: Var::zeros(features, DType::F32, device)?,
            moving_mean: Var::zeros(features, DType::F32, device)?,
            moving_variance: Var::ones(features, DType::F32, device)?,
            momentum,
            epsilon,
        })
    }

    /// The shape that broadcasts a per-feature vector against `x`.
    #[cfg(test)]
    fn feature_shape(x: &Tensor, features: usize) -> Vec<usize> {
        let mut dims = vec![1; x.rank()];
        dims[1] = features;
        dims
    }

    pub(crate) fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        if train {
            self.forward_train(x)
        } else {
            crate::ops::batch_norm_eval(
                x,
                &self.moving_mean.as_detached_tensor(),
                &self.moving_variance.as_detached_tensor(),
                &self.gamma.as_detached_tensor(),
                &self.beta.as_detached_tensor(),
                self.epsilon,
            )
        }
    }

    /// Training through [`crate::ops::batch_norm_train`] (a fused CPU
    /// kernel, about 8× faster than the composite graph on this machine;
    /// candle's ops elsewhere). Flat (N, C) batches go through as
    /// (N, C, 1, 1).
    fn forward_train(&self, x: &Tensor) -> Result<Tensor> {
        let dims = x.dims().to_vec();
        let x4 = match *dims.as_slice() {
            [n, c] => x.reshape((n, c, 1, 1))?,
            _ => x.clone(),
        };
        self.forward_train_with(|gamma, beta, eps| {
            crate::ops::batch_norm_train(&x4, gamma, beta, eps)
        })?
        .reshape(dims)
    }

    /// Training of this layer followed by a ReLU, in one call
    /// ([`crate::ops::batch_norm_relu_train`]); (N, C, H, W) batches.
    pub(crate) fn forward_relu_train(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_train_with(|gamma, beta, eps| {
            crate::ops::batch_norm_relu_train(x, gamma, beta, eps)
        })
    }

    /// Training through `train(γ, β, ε)`, which returns the normalised
    /// output with the batch mean and variance (a batch-norm op, or one
    /// fused with the layer before); records the moving statistics.
    pub(crate) fn forward_train_with(
        &self,
        train: impl FnOnce(&Tensor, &Tensor, f64) -> Result<(Tensor, Tensor, Tensor)>,
    ) -> Result<Tensor> {
        let (y, mean, var) = train(
            &param(&self.gamma, true),
            &param(&self.beta, true),
            self.epsilon,
        )?;
        let dev = self.moving_mean.device();
        self.update_moving(&mean.to_device(dev)?, &var.to_device(dev)?)?;
        Ok(y)
    }

    /// The same computation from candle's differentiable ops (any device);
    /// also the reference the fused kernel is tested against.
    #[cfg(test)]
    pub(crate) fn forward_composite(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let features = self.gamma.dim(0)?;
        let shape = Self::feature_shape(x, features);
        let reduce: Vec<usize> = (0..x.rank()).filter(|&a| a != 1).collect();
        let (mean, var) = if train {
            let mean = x.mean_keepdim(reduce.as_slice())?;
            let centred = x.broadcast_sub(&mean)?;
            let var = centred.sqr()?.mean_keepdim(reduce.as_slice())?;
            self.update_moving(&mean, &var)?;
            (mean, var)
        } else {
            (
                self.moving_mean
                    .as_detached_tensor()
                    .reshape(shape.as_slice())?,
                self.moving_variance
                    .as_detached_tensor()
                    .reshape(shape.as_slice())?,
            )
        };
        let inv_std = (var + self.epsilon)?.sqrt()?.recip()?;
        let gamma = param(&self.gamma, train).reshape(shape.as_slice())?;
        let beta = param(&self.beta, train).reshape(shape.as_slice())?;
        x.broadcast_sub(&mean)?
            .broadcast_mul(&inv_std.broadcast_mul(&gamma)?)?
            .broadcast_add(&beta)
    }

    /// moving ← momentum·moving + (1 − momentum)·batch, outside autograd.
    fn update_moving(&self, mean: &Tensor, var: &Tensor) -> Result<()> {
        let m = self.momentum;
        for (moving, batch) in [(&self.moving_mean, mean), (&self.moving_variance, var)] {
            let batch = batch.detach().flatten_all()?;
            let new =
                (moving.as_detached_tensor().affine(m, 0.0)? + batch.affine(1.0 - m, 0.0)?)?;
            moving.set(&new)?;
        }
        Ok(())
    }

    /// The trainable pair, γ then β.
    pub(crate) fn variables(&self) -> Vec<(String, Var)> {
        vec![
            (format!("{}/gamma", self.name), self.gamma.clone()),
            (format!("{}/beta", self.name), self.beta.clone()),
        ]
    }

    /// The non-trainable moving statistics.
    pub(crate) fn moving(&self) -> Vec<(String, Var)> {
        vec![
            (
                format!("{}/moving_mean", self.name),
                self.moving_mean.clone(),
            ),
            (
                format!("{}/moving_variance", self.name),
                self.moving_variance.clone(),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f32], b: &[f32], tol: f32) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < tol, "{a:?} vs {b:?}");
        }
    }

    // Hand computation, one feature, batch [1, 2, 3, 6], ε = 1e-3, momentum 0.99:
    // μ = 3, biased σ² = (4+1+0+9)/4 = 3.5 (the unbiased one would be 14/3);
    // x̂ = (x − 3)/√3.501 = [-1.068892, -0.534446, 0, 1.603338].
    // Keras' update: moving_mean = 0.99·0 + 0.01·3 = 0.03,
    // moving_var = 0.99·1 + 0.01·3.5 = 1.025.
    // Eval afterwards uses them: (x − 0.03)/√1.026 for x = 1 → 0.957630.
    #[test]
    fn training_uses_batch_stats_and_updates_moving_stats_keras_style() -> Result<()> {
        let dev = Device::Cpu;
        let bn = BatchNorm::new("batch_normalization", 1, 0.99, 1e-3, &dev)?;
        let x = Tensor::new(&[[1f32], [2.], [3.], [6.]], &dev)?;
        let y = bn.forward(&x, true)?.flatten_all()?.to_vec1::<f32>()?;
        close(&y, &[-1.068_892, -0.534_446, 0.0, 1.603_338], 1e-5);
        close(&bn.moving_mean.as_tensor().to_vec1::<f32>()?, &[0.03], 1e-7);
        close(
            &bn.moving_variance.as_tensor().to_vec1::<f32>()?,
            &[1.025],
            1e-6,
        );
        let y = bn.forward(&x, false)?.flatten_all()?.to_vec1::<f32>()?;
        close(&y[..1], &[0.957_630], 1e-5);
        Ok(())
    }

    // Feature maps: statistics per channel over N, H, W. Channel 0 holds 0..4, channel 1
    // holds 10 everywhere: channel 1 normalises to 0 and channel 0's mean is 1.5,
    // biased variance 1.25.
    #[test]
    fn image_statistics_are_per_channel() -> Result<()> {
        let dev = Device::Cpu;
        let bn = BatchNorm::new("bn", 2, 0.9, 1e-3, &dev)?;
        let c0 = Tensor::arange(0f32, 4., &dev)?.reshape((1, 1, 2, 2))?;
        let c1 = Tensor::full(10f32, (1, 1, 2, 2), &dev)?;
        let x = Tensor::cat(&[c0, c1], 1)?;
        let y = bn.forward(&x, true)?;
        close(
            &y.get(0)?.get(1)?.flatten_all()?.to_vec1::<f32>()?,
            &[0.0; 4],
            1e-6,
        );
        close(
            &bn.moving_mean.as_tensor().to_vec1::<f32>()?,
            &[0.15, 1.0],
            1e-6,
        );
        close(
            &bn.moving_variance.as_tensor().to_vec1::<f32>()?,
            &[0.9 + 0.125, 0.9],
            1e-6,
        );
        Ok(())
    }

    // Gradient of Σ_i c_i·y_i for a normalised batch (γ = 1): with x̂ as above,
    // dL/dx = (1/σ̂)·(c − mean(c) − x̂·mean(c·x̂)). For x = [1, 2, 3, 6], c = [1, 0, 0, 0]:
    // mean(c) = 0.25, mean(c·x̂) = -0.267223, σ̂ = √3.501 = 1.871096,
    // dL/dx = [(1 − 0.25 − 0.285633)/σ̂, (−0.25 − 0.142817)/σ̂, −0.25/σ̂, (−0.25 + 0.428450)/σ̂]
    //       = [0.248179, -0.209939, -0.133612, 0.095371].
    // dL/dγ = Σ c·x̂ = −1.068892, dL/dβ = Σ c = 1.
    #[test]
    fn gradient_flows_through_the_batch_statistics() -> Result<()> {
        let dev = Device::Cpu;
        let bn = BatchNorm::new("bn", 1, 0.99, 1e-3, &dev)?;
        let x = Var::new(&[[1f32], [2.], [3.], [6.]], &dev)?;
        let c = Tensor::new(&[[1f32], [0.], [0.], [0.]], &dev)?;
        let y = bn.forward(x.as_tensor(), true)?;
        let g = (y * c)?.sum_all()?.backward()?;
        let get = |v: &Var| -> Result<Vec<f32>> {
            g.get(v.as_tensor())
                .ok_or_else(|| candle_core::Error::Msg("no gradient".into()))?
                .flatten_all()?
                .to_vec1::<f32>()
        };
        close(
            &get(&x)?,
            &[0.248_179, -0.209_939, -0.133_612, 0.095_371],
            1e-5,
        );
        close(&get(&bn.gamma)?, &[-1.068_892], 1e-5);
        close(&get(&bn.beta)?, &[1.0], 1e-6);
        assert!(g.get(bn.moving_mean.as_tensor()).is_none());
        Ok(())
    }

    // The training path (ops' fused kernel) against the composite graph: same output,
    // same gradients for x, γ and β, same moving statistics, on a 4-D batch with
    // uneven values and a non-trivial γ, β and upstream gradient.
    #[test]
    fn fused_kernel_matches_the_composite_graph() -> Result<()> {
        let dev = Device::Cpu;
        let n = 3 * 4 * 5 * 2;
        let xs: Vec<f32> = (0..n)
            .map(|i| ((i * 37 % 23) as f32 - 11.0) * 0.3)
            .collect();
        let cs: Vec<f32> = (0..n).map(|i| ((i * 11 % 7) as f32 - 3.0) * 0.5).collect();
        let c = Tensor::from_vec(cs, (3, 4, 5, 2), &dev)?;
        let run = |fused: bool| -> Result<Vec<Vec<f32>>> {
            let bn = BatchNorm::new("bn", 4, 0.9, 1e-3, &dev)?;
            bn.gamma
                .set(&Tensor::new(&[0.5f32, 1.5, -1.0, 2.0], &dev)?)?;
            bn.beta
                .set(&Tensor::new(&[0.1f32, -0.2, 0.3, 0.0], &dev)?)?;
            let x = Var::from_tensor(&Tensor::from_vec(xs.clone(), (3, 4, 5, 2), &dev)?)?;
            let y = if fused {
                bn.forward(x.as_tensor(), true)?
            } else {
                bn.forward_composite(x.as_tensor(), true)?
            };
            let g = (&y * &c)?.sum_all()?.backward()?;
            let grad = |v: &Var| -> Result<Vec<f32>> {
                g.get(v.as_tensor())
                    .ok_or_else(|| candle_core::Error::Msg("no gradient".into()))?
                    .flatten_all()?
                    .to_vec1::<f32>()
            };
            Ok(vec![
                y.flatten_all()?.to_vec1::<f32>()?,
                grad(&x)?,
                grad(&bn.gamma)?,
                grad(&bn.beta)?,
                bn.moving_mean.as_tensor().to_vec1::<f32>()?,
                bn.moving_variance.as_tensor().to_vec1::<f32>()?,
            ])
        };
        let (fused, composite) = (run(true)?, run(false)?);
        for (what, (a, b)) in ["y", "dx", "dgamma", "dbeta", "moving_mean", "moving_var"]
            .iter()
            .zip(fused.iter().zip(&composite))
        {
            for (p, q) in a.iter().zip(b) {
                assert!(
                    (p - q).abs() < 1e-4 * (1.0 + q.abs()),
                    "{what}: {a:?} vs {b:?}"
                );
            }
        }
        Ok(())
    }

    #[test]
    fn fused_inference_is_the_composite_graph_bit_for_bit() -> Result<()> {
        // Same f32 operations in the same order, so equality is exact; a
        // tracked input keeps the differentiable composite path.
        let dev = Device::Cpu;
        let bn = BatchNorm::new("bn", 3, 0.99, 1e-3, &dev)?;
        bn.gamma.set(&Tensor::new(&[0.5f32, -1.5, 2.0], &dev)?)?;
        bn.beta.set(&Tensor::new(&[0.1f32, -0.2, 0.3], &dev)?)?;
        bn.moving_mean
            .set(&Tensor::new(&[0.7f32, -0.1, 3.0], &dev)?)?;
        bn.moving_variance
            .set(&Tensor::new(&[0.3f32, 2.5, 1e-4], &dev)?)?;
        for dims in [vec![2, 3, 4, 5], vec![7, 3]] {
            let n: usize = dims.iter().product();
            let xs: Vec<f32> = (0..n)
                .map(|i| ((i * 29 % 31) as f32 - 15.0) * 0.17)
                .collect();
            let x = Tensor::from_vec(xs, dims.as_slice(), &dev)?;
            let fused = bn.forward(&x, false)?;
            let composite = bn.forward_composite(&x, false)?;
            let reference = crate::ops::reference::batch_norm_eval(
                &x,
                &bn.moving_mean.as_detached_tensor(),
                &bn.moving_variance.as_detached_tensor(),
                &bn.gamma.as_detached_tensor(),
                &bn.beta.as_detached_tensor(),
                bn.epsilon,
            )?;
            let bits = |t: &Tensor| -> Result<Vec<u32>> {
                Ok(t.flatten_all()?
                    .to_vec1::<f32>()?
                    .iter()
                    .map(|v| v.to_bits())
                    .collect())
            };
            assert_eq!(fused.dims(), composite.dims());
            assert_eq!(bits(&fused)?, bits(&composite)?, "dims {dims:?}");
            assert_eq!(bits(&reference)?, bits(&composite)?, "dims {dims:?}");
        }
        let v = Var::new(&[[1f32, 2., 3.]], &dev)?;
        let g = bn.forward(v.as_tensor(), false)?.sum_all()?.backward()?;
        assert!(g.get(v.as_tensor()).is_some());
        Ok(())
    }
}
