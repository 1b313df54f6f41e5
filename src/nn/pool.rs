//! Pooling layers: max and average with `valid` padding (Keras' default)
//! through [`crate::ops`], whose max-pool gradient goes to the window's
//! maximum (candle's own scales it by 1/K²), and global average pooling.

use candle_core::{Result, Tensor};

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Pool {
    Max {
        size: usize,
        stride: usize,
    },
    Avg {
        size: usize,
        stride: usize,
    },
    /// Mean over height and width: (N, C, H, W) → (N, C).
    GlobalAvg,
}

impl Pool {
    pub(crate) fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match *self {
            Pool::Max { size, stride } => crate::ops::max_pool2d(x, size, stride),
            Pool::Avg { size, stride } => crate::ops::avg_pool2d(x, size, stride),
            Pool::GlobalAvg => x.mean((2, 3)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    // Hand values on the 4×4 map 0..15 (row-major):
    // max 2×2/2 → [[5, 7], [13, 15]]; avg 2×2/2 → [[2.5, 4.5], [10.5, 12.5]];
    // max 3×3/1 → [[10, 11], [14, 15]]; global average → 7.5.
    #[test]
    fn pools_match_hand_values() -> Result<()> {
        let x = Tensor::arange(0f32, 16., &Device::Cpu)?.reshape((1, 1, 4, 4))?;
        let table: &[(Pool, Vec<f32>)] = &[
            (Pool::Max { size: 2, stride: 2 }, vec![5., 7., 13., 15.]),
            (Pool::Avg { size: 2, stride: 2 }, vec![2.5, 4.5, 10.5, 12.5]),
            (Pool::Max { size: 3, stride: 1 }, vec![10., 11., 14., 15.]),
            (Pool::GlobalAvg, vec![7.5]),
        ];
        for (pool, want) in table {
            let got = pool.forward(&x)?.flatten_all()?.to_vec1::<f32>()?;
            assert_eq!(&got, want, "{pool:?}");
        }
        Ok(())
    }

    // Gradient of Σ globalavg(x) over a 2×2 map is 1/4 per element; of Σ maxpool it is
    // 1 at each window maximum (0 elsewhere).
    #[test]
    fn pool_gradients_match_hand_values() -> Result<()> {
        let x = Var::new(&[[[[1f32, 2.], [4., 3.]]]], &Device::Cpu)?;
        let g = Pool::GlobalAvg
            .forward(x.as_tensor())?
            .sum_all()?
            .backward()?;
        let gx = g.get(x.as_tensor()).map(|t| t.flatten_all());
        let gx = gx.transpose()?.map(|t| t.to_vec1::<f32>()).transpose()?;
        assert_eq!(gx, Some(vec![0.25; 4]));
        let g = Pool::Max { size: 2, stride: 2 }
            .forward(x.as_tensor())?
            .sum_all()?
            .backward()?;
        let gx = g.get(x.as_tensor()).map(|t| t.flatten_all());
        let gx = gx.transpose()?.map(|t| t.to_vec1::<f32>()).transpose()?;
        assert_eq!(gx, Some(vec![0., 0., 1., 0.]));
        Ok(())
    }
}
