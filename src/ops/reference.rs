//! The candle-only implementations of the ops: slow on CPU but obviously
//! right, device-independent, and the yardstick the custom ops are tested
//! against. Non-CPU tensors (and dtypes other than f32) use them.

use super::same_padding;
use crate::plan::Padding;
use candle_core::{Result, Tensor};

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
    // Crop the rows/columns no window reaches: candle's conv2d backward
    // (a conv_transpose2d without output padding) returns a gradient of the
    // wrong shape when (size − kernel) is not a multiple of the stride.
    let (_, _, ph, pw) = x.dims4()?;
    let used_h = (ph.saturating_sub(kh)) / stride * stride + kh;
    let used_w = (pw.saturating_sub(kw)) / stride * stride + kw;
    let x = x
        .narrow(2, 0, used_h.min(ph))?
        .narrow(3, 0, used_w.min(pw))?;
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

/// Batch normalisation with batch statistics from candle primitives:
/// `(y, mean, biased var)`, the statistics detached.
pub fn batch_norm_train(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    eps: f64,
) -> Result<(Tensor, Tensor, Tensor)> {
    let c = x.dim(1)?;
    let moments = |t: &Tensor| t.mean_keepdim(0)?.mean_keepdim(2)?.mean_keepdim(3);
    let mean = moments(x)?;
    let xc = x.broadcast_sub(&mean)?;
    let var = moments(&xc.sqr()?)?;
    let xn = xc.broadcast_div(&(&var + eps)?.sqrt()?)?;
    let y = xn
        .broadcast_mul(&gamma.reshape((1, c, 1, 1))?)?
        .broadcast_add(&beta.reshape((1, c, 1, 1))?)?;
    Ok((y, mean.flatten_all()?.detach(), var.flatten_all()?.detach()))
}

/// Keras' Adam update from candle ops: `(w, m, v)` after one step.
pub(crate) fn adam_update(
    w: &Tensor,
    g: &Tensor,
    m: &Tensor,
    v: &Tensor,
    s: &super::AdamStep,
) -> Result<(Tensor, Tensor, Tensor)> {
    let m = (m.affine(s.beta1, 0.0)? + g.affine(1.0 - s.beta1, 0.0)?)?;
    let v = (v.affine(s.beta2, 0.0)? + g.sqr()?.affine(1.0 - s.beta2, 0.0)?)?;
    let step = m.div(&(v.sqrt()? + s.epsilon)?)?.affine(s.alpha, 0.0)?;
    Ok(((w - step)?, m, v))
}

/// Inference batch normalisation from candle's broadcast ops:
/// `(x − mean)·(γ/√(var + ε)) + β` per channel of `x` (N, C, …).
pub fn batch_norm_eval(
    x: &Tensor,
    mean: &Tensor,
    var: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    eps: f64,
) -> Result<Tensor> {
    let mut shape = vec![1; x.rank()];
    shape[1] = x.dim(1)?;
    let shape = shape.as_slice();
    let inv_std = (var.reshape(shape)? + eps)?.sqrt()?.recip()?;
    x.broadcast_sub(&mean.reshape(shape)?)?
        .broadcast_mul(&inv_std.broadcast_mul(&gamma.reshape(shape)?)?)?
        .broadcast_add(&beta.reshape(shape)?)
}
