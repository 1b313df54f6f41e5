//! Tensor operations the layers are built from, behind one stable API so
//! the implementation can be swapped (candle reference, fast CPU custom
//! ops, CUDA) without touching `nn`.
//!
//! The functions here take and return candle tensors in NCHW layout and
//! are differentiable through candle's autograd.

use crate::plan::Padding;
use candle_core::{Result, Tensor};

/// TensorFlow's `same` padding for one axis: (before, after), the extra
/// row/column going after.
pub fn same_padding(input: usize, kernel: usize, stride: usize) -> (usize, usize) {
    let out = input.div_ceil(stride);
    let total = ((out - 1) * stride + kernel).saturating_sub(input);
    (total / 2, total - total / 2)
}

/// 2-D convolution. `x`: (N, C, H, W); `w`: (F, C, K, K); `b`: (F).
pub fn conv2d(
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    stride: usize,
    padding: Padding,
) -> Result<Tensor> {
    let (_, _, h, wd) = x.dims4()?;
    let (_, _, kh, kw) = w.dims4()?;
    let x = match padding {
        Padding::Valid => x.clone(),
        Padding::Same => {
            let (t, bt) = same_padding(h, kh, stride);
            let (l, r) = same_padding(wd, kw, stride);
            x.pad_with_zeros(2, t, bt)?.pad_with_zeros(3, l, r)?
        }
    };
    let y = x.conv2d(w, 0, stride, 1, 1)?;
    match b {
        Some(b) => y.broadcast_add(&b.reshape((1, b.dim(0)?, 1, 1))?),
        None => Ok(y),
    }
}

/// The K×K windows of a valid pooling, each (N, C, OH, OW), stacked on a
/// new leading axis: (K·K, N, C, OH, OW).
fn windows(x: &Tensor, size: usize, stride: usize) -> Result<Tensor> {
    let (_, _, h, w) = x.dims4()?;
    let oh = (h - size) / stride + 1;
    let ow = (w - size) / stride + 1;
    let dev = x.device();
    let mut parts = Vec::with_capacity(size * size);
    for ki in 0..size {
        let rows: Vec<u32> = (0..oh).map(|i| (i * stride + ki) as u32).collect();
        let rows = Tensor::new(rows, dev)?;
        let xr = x.index_select(&rows, 2)?;
        for kj in 0..size {
            let cols: Vec<u32> = (0..ow).map(|j| (j * stride + kj) as u32).collect();
            let cols = Tensor::new(cols, dev)?;
            parts.push(xr.index_select(&cols, 3)?);
        }
    }
    Tensor::stack(&parts, 0)
}

/// Max pooling with `valid` padding (Keras' default), any size and stride.
/// Its gradient goes to the window's maximum (candle's own `max_pool2d`
/// backward scales it by 1/K² and refuses size ≠ stride).
pub fn max_pool2d(x: &Tensor, size: usize, stride: usize) -> Result<Tensor> {
    windows(x, size, stride)?.max(0)
}

/// Average pooling with `valid` padding, any size and stride.
pub fn avg_pool2d(x: &Tensor, size: usize, stride: usize) -> Result<Tensor> {
    windows(x, size, stride)?.mean(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn same_padding_matches_tensorflow() {
        // TF: in 32, k 3, s 1 → pad 1/1; in 5, k 2, s 2 → out 3, total 1 → 0/1.
        assert_eq!(same_padding(32, 3, 1), (1, 1));
        assert_eq!(same_padding(5, 2, 2), (0, 1));
        assert_eq!(same_padding(4, 3, 2), (0, 1));
    }

    #[test]
    fn max_pool_gradient_goes_to_the_maximum() -> Result<()> {
        // The candle bug: [[1,2],[3,4]] must give [0,0,0,1], not 0.25.
        let x = Var::new(&[[[[1f32, 2.], [3., 4.]]]], &Device::Cpu)?;
        let y = max_pool2d(x.as_tensor(), 2, 2)?;
        let g = y.sum_all()?.backward()?;
        let gx = g
            .get(&x)
            .expect("gradient")
            .flatten_all()?
            .to_vec1::<f32>()?;
        assert_eq!(gx, vec![0., 0., 0., 1.]);
        Ok(())
    }
}
