//! Keras' Adam update in one pass over memory, instead of the chain of
//! candle ops of [`crate::ops::reference::adam_update`] (each of which
//! allocates and fills a whole tensor).

use super::contiguous::with_f32;
use crate::ops::AdamStep;
use candle_core::{Result, Tensor, bail};

/// `(w, m, v)` after one step, bit for bit the reference: every constant
/// is rounded to f32 as candle's `affine` rounds it, and the `+ 0.0` of
/// each `affine(a, 0.0)` is kept (it turns −0 into +0).
pub(crate) fn update(
    w: &Tensor,
    g: &Tensor,
    m: &Tensor,
    v: &Tensor,
    s: &AdamStep,
) -> Result<(Tensor, Tensor, Tensor)> {
    let k = s.f32();
    let n = w.elem_count();
    let (g, m, v) = (g.contiguous()?, m.contiguous()?, v.contiguous()?);
    let w = w.contiguous()?;
    let Some((new_w, new_m, new_v)) = with_f32([&w, &g, &m, &v], |[w, g, m, v]| {
        let (mut nw, mut nm, mut nv) = (vec![0f32; n], vec![0f32; n], vec![0f32; n]);
        for i in 0..n {
            let gi = g[i];
            let mi = (m[i] * k.b1 + 0.0) + (gi * k.c1 + 0.0);
            let vi = (v[i] * k.b2 + 0.0) + ((gi * gi) * k.c2 + 0.0);
            let step = (mi / (vi.sqrt() + k.eps)) * k.alpha + 0.0;
            nm[i] = mi;
            nv[i] = vi;
            nw[i] = w[i] - step;
        }
        (nw, nm, nv)
    }) else {
        bail!("adam: expected contiguous f32 CPU tensors");
    };
    let (shape, device) = (w.shape(), w.device());
    Ok((
        Tensor::from_vec(new_w, shape, device)?,
        Tensor::from_vec(new_m, shape, device)?,
        Tensor::from_vec(new_v, shape, device)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};

    #[test]
    fn fused_adam_matches_candle_ops_bit_for_bit() -> Result<()> {
        // Values include ±0, tiny and large gradients, so that the sign of
        // zero and the rounding of every constant are exercised.
        let dev = Device::Cpu;
        let mut vals = vec![0f32, -0.0, 1e-30, -1e-30, 3.5, -2.25, 1e6, -7e-4];
        for i in 0..56 {
            vals.push(((i * 37 % 101) as f32 - 50.0) * 0.013);
        }
        let w = Tensor::from_vec(vals.clone(), (8, 8), &dev)?;
        let g0: Vec<f32> = vals.iter().rev().copied().collect();
        // Slots as a checkpoint might hold them: −0 in both, nonzero m.
        let m0 = Tensor::from_vec(
            vals.iter().map(|v| -v * 0.1).collect::<Vec<_>>(),
            (8, 8),
            &dev,
        )?;
        let v0 = vals.iter().map(|v| if *v == 0.0 { -0.0 } else { v * v });
        let v0 = Tensor::from_vec(v0.collect::<Vec<_>>(), (8, 8), &dev)?;
        let (mut fast, mut slow) = ((w.clone(), m0.copy()?, v0.copy()?), (w, m0, v0));
        let bits = |x: &Tensor| -> Result<Vec<u32>> {
            Ok(x.flatten_all()?
                .to_vec1::<f32>()?
                .iter()
                .map(|v| v.to_bits())
                .collect())
        };
        for t in 1..=4u64 {
            let s = AdamStep::keras(1e-3, 0.9, 0.999, 1e-7, t);
            // Step 1 has a gradient of ±0 (Rust keeps the sign of x·0).
            let k = t as f32 - 1.0;
            let g = Tensor::from_vec(g0.iter().map(|v| v * k).collect::<Vec<_>>(), (8, 8), &dev)?;
            fast = update(&fast.0, &g, &fast.1, &fast.2, &s)?;
            slow = crate::ops::reference::adam_update(&slow.0, &g, &slow.1, &slow.2, &s)?;
            assert_eq!(bits(&fast.0)?, bits(&slow.0)?, "w at step {t}");
            assert_eq!(bits(&fast.1)?, bits(&slow.1)?, "m at step {t}");
            assert_eq!(bits(&fast.2)?, bits(&slow.2)?, "v at step {t}");
        }
        assert_eq!(fast.0.dtype(), DType::F32);
        Ok(())
    }
}
