//! A 2-D convolution, Keras' `Conv2D`, on NCHW tensors through
//! [`crate::ops::conv2d`]. The kernel is stored (F, C, K, K) as candle
//! wants it (Keras stores (K, K, C, F)); the values are the same
//! Glorot-uniform draws with fan in = K·K·C and fan out = K·K·F.

use super::batchnorm::BatchNorm;
use super::{activation, init, param};
use crate::plan::{Activation, Padding};
use candle_core::{DType, Device, Result, Tensor, Var};
use rand_chacha::ChaCha8Rng;

pub(crate) struct Conv2d {
    pub name: String,
    pub kernel: Var,
    /// `None` with `use_bias=false`.
    pub bias: Option<Var>,
    pub stride: usize,
    pub padding: Padding,
    pub activation: Activation,
    pub l2: f64,
}

impl Conv2d {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        name: &str,
        channels: usize,
        filters: usize,
        kernel: usize,
        stride: usize,
        padding: Padding,
        activation: Activation,
        l2: f64,
        use_bias: bool,
        rng: &mut ChaCha8Rng,
        device: &Device,
    ) -> Result<Conv2d> {
        let k2 = kernel * kernel;
        let w = init::glorot_uniform(
            rng,
            (filters, channels, kernel, kernel),
            k2 * channels,
            k2 * filters,
            device,
        )?;
        Ok(Conv2d {
            name: name.to_string(),
            kernel: Var::from_tensor(&w)?,
            bias: match use_bias {
                true => Some(Var::zeros(filters, DType::F32, device)?),
                false => None,
            },
            stride,
            padding,
            activation,
            l2,
        })
    }

    pub(crate) fn forward(&self, x: &Tensor, train: bool, activate: bool) -> Result<Tensor> {
        let w = param(&self.kernel, train);
        let b = self.bias.as_ref().map(|b| param(b, train));
        if activate && self.activation == Activation::Relu {
            // One graph node instead of two: the ReLU is applied while the
            // output is still in cache, and its mask in the conv's backward.
            return crate::ops::conv2d_relu(x, &w, b.as_ref(), self.stride, self.padding);
        }
        let y = crate::ops::conv2d(x, &w, b.as_ref(), self.stride, self.padding)?;
        if activate {
            activation::apply(self.activation, &y)
        } else {
            Ok(y)
        }
    }

    pub(crate) fn is_relu(&self) -> bool {
        self.activation == Activation::Relu
    }

    /// Training of this layer, whose activation is a ReLU ([`Self::is_relu`]),
    /// followed by `bn`, in one call
    /// ([`crate::ops::conv2d_relu_batch_norm_train`]: the ReLU's gradient
    /// mask runs inside batch norm's backward).
    pub(crate) fn forward_relu_batch_norm(&self, x: &Tensor, bn: &BatchNorm) -> Result<Tensor> {
        let w = param(&self.kernel, true);
        let b = self.bias.as_ref().map(|b| param(b, true));
        bn.forward_train_with(|gamma, beta, eps| {
            crate::ops::conv2d_relu_batch_norm_train(
                x,
                (&w, b.as_ref()),
                self.stride,
                self.padding,
                (gamma, beta),
                eps,
            )
        })
    }

    pub(crate) fn variables(&self) -> Vec<(String, Var)> {
        let mut v = vec![(format!("{}/kernel", self.name), self.kernel.clone())];
        if let Some(b) = &self.bias {
            v.push((format!("{}/bias", self.name), b.clone()));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Hand computation: 3×3 input 1..9, one 2×2 kernel [[1,0],[0,-1]], bias 0.5, valid,
    // stride 1: y[i][j] = x[i][j] − x[i+1][j+1] + 0.5 = 1 − 5 + 0.5 = −3.5 everywhere.
    // With `same` (TF pads bottom/right by one): the last row/column see zeros:
    // y = [[-3.5, -3.5, 3.5], [-3.5, -3.5, 6.5], [7.5, 8.5, 9.5]].
    // Gradient of Σy w.r.t. the kernel (valid): Σ of the 2×2 windows' elements:
    // k00: 1+2+4+5 = 12, k01: 2+3+5+6 = 16, k10: 4+5+7+8 = 24, k11: 5+6+8+9 = 28; bias: 4.
    #[test]
    fn forward_and_gradient_match_hand_values() -> Result<()> {
        let dev = Device::Cpu;
        let mut rng = crate::rng::generator(0);
        let x = Tensor::arange(1f32, 10., &dev)?.reshape((1, 1, 3, 3))?;
        let mut c = Conv2d::new(
            "conv2d",
            1,
            1,
            2,
            1,
            Padding::Valid,
            Activation::Linear,
            0.0,
            true,
            &mut rng,
            &dev,
        )?;
        c.kernel
            .set(&Tensor::new(&[[[[1f32, 0.], [0., -1.]]]], &dev)?)?;
        if let Some(b) = &c.bias {
            b.set(&Tensor::new(&[0.5f32], &dev)?)?;
        }
        let y = c.forward(&x, true, true)?;
        assert_eq!(y.flatten_all()?.to_vec1::<f32>()?, vec![-3.5; 4]);
        let g = y.sum_all()?.backward()?;
        let gk = g.get(c.kernel.as_tensor()).map(|t| t.flatten_all());
        assert_eq!(
            gk.transpose()?.map(|t| t.to_vec1::<f32>()).transpose()?,
            Some(vec![12., 16., 24., 28.])
        );
        let bias = c.bias.as_ref().map(|b| b.as_tensor().clone());
        let gb = bias.and_then(|b| g.get(&b).map(|t| t.to_vec1::<f32>()));
        assert_eq!(gb.transpose()?, Some(vec![4.]));

        c.padding = Padding::Same;
        let y = c.forward(&x, false, true)?;
        assert_eq!(
            y.flatten_all()?.to_vec1::<f32>()?,
            vec![-3.5, -3.5, 3.5, -3.5, -3.5, 6.5, 7.5, 8.5, 9.5]
        );
        Ok(())
    }
}
