//! Keras' Adam: m ← m + (1 − β1)(g − m), v ← v + (1 − β2)(g² − v),
//! lr_t = lr·√(1 − β2ᵗ)/(1 − β1ᵗ), w ← w − lr_t·m/(√v + ε).
//! (ε is added to √v without bias correction, unlike PyTorch's form.)

use super::cpu::with_f32;
use super::rule::Rule;
use candle_core::{Result, Tensor};

pub struct Adam {
    pub beta1: f64,
    pub beta2: f64,
    pub epsilon: f64,
}

impl Rule for Adam {
    fn slots(&self) -> Vec<&'static str> {
        vec!["m", "v"]
    }

    fn init(&self, w: &Tensor) -> Result<Vec<Tensor>> {
        Ok(vec![w.zeros_like()?, w.zeros_like()?])
    }

    fn update(
        &self,
        w: &Tensor,
        g: &Tensor,
        slots: &mut [Tensor],
        lr: f64,
        t: u64,
    ) -> Result<Tensor> {
        let t = t as f64;
        let alpha = lr * (1.0 - self.beta2.powf(t)).sqrt() / (1.0 - self.beta1.powf(t));
        if let Some(fused) = self.fused(w, g, slots, alpha) {
            return fused;
        }
        let m = (slots[0].affine(self.beta1, 0.0)? + g.affine(1.0 - self.beta1, 0.0)?)?;
        let v = (slots[1].affine(self.beta2, 0.0)? + g.sqr()?.affine(1.0 - self.beta2, 0.0)?)?;
        let step = m.div(&(v.sqrt()? + self.epsilon)?)?.affine(alpha, 0.0)?;
        slots[0] = m;
        slots[1] = v;
        w - step
    }
}

impl Adam {
    /// The same update in one pass over contiguous f32 CPU data, `None`
    /// for other tensors. Bit-for-bit the candle ops of [`Rule::update`]:
    /// every constant is rounded to f32 as candle's `affine` rounds it, and
    /// the `+ 0.0` of each `affine(a, 0.0)` is kept (it turns −0 into +0).
    fn fused(
        &self,
        w: &Tensor,
        g: &Tensor,
        slots: &mut [Tensor],
        alpha: f64,
    ) -> Option<Result<Tensor>> {
        let [m, v] = slots else { return None };
        let (b1, c1) = (self.beta1 as f32, (1.0 - self.beta1) as f32);
        let (b2, c2) = (self.beta2 as f32, (1.0 - self.beta2) as f32);
        let (eps, alpha) = (self.epsilon as f32, alpha as f32);
        let n = w.elem_count();
        let (new_w, new_m, new_v) = with_f32([w, g, &*m, &*v], |[w, g, m, v]| {
            let (mut nw, mut nm, mut nv) = (vec![0f32; n], vec![0f32; n], vec![0f32; n]);
            for i in 0..n {
                let gi = g[i];
                let mi = (m[i] * b1 + 0.0) + (gi * c1 + 0.0);
                let vi = (v[i] * b2 + 0.0) + ((gi * gi) * c2 + 0.0);
                let step = (mi / (vi.sqrt() + eps)) * alpha + 0.0;
                nm[i] = mi;
                nv[i] = vi;
                nw[i] = w[i] - step;
            }
            (nw, nm, nv)
        })?;
        let shape = w.shape().clone();
        let device = w.device().clone();
        let made = (|| {
            *m = Tensor::from_vec(new_m, shape.clone(), &device)?;
            *v = Tensor::from_vec(new_v, shape.clone(), &device)?;
            Tensor::from_vec(new_w, shape, &device)
        })();
        Some(made)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};

    /// The reference: the candle-op path of [`Rule::update`], reached by
    /// handing it the same gradient as a strided (non-contiguous) view,
    /// which the fused path declines.
    fn generic(adam: &Adam, w: &Tensor, g: &Tensor, slots: &mut [Tensor], t: u64) -> Tensor {
        let gt = g.t().expect("t").contiguous().expect("c").t().expect("t");
        assert!(!gt.is_contiguous());
        adam.update(w, &gt, slots, 1e-3, t).expect("update")
    }

    #[test]
    fn fused_adam_matches_candle_ops_bit_for_bit() -> Result<()> {
        // Values include ±0, tiny and large gradients, so that the sign of
        // zero and the rounding of every constant are exercised.
        let adam = Adam {
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-7,
        };
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
        let mut fast = vec![m0.copy()?, v0.copy()?];
        let mut slow = vec![m0, v0];
        let (mut wf, mut ws) = (w.clone(), w.clone());
        for t in 1..=4u64 {
            // Step 1 has a gradient of ±0 (Rust keeps the sign of x·0).
            let k = t as f32 - 1.0;
            let g = Tensor::from_vec(g0.iter().map(|v| v * k).collect::<Vec<_>>(), (8, 8), &dev)?;
            wf = adam.update(&wf, &g, &mut fast, 1e-3, t)?;
            ws = generic(&adam, &ws, &g, &mut slow, t);
            let bits = |x: &Tensor| -> Result<Vec<u32>> {
                Ok(x.flatten_all()?
                    .to_vec1::<f32>()?
                    .iter()
                    .map(|v| v.to_bits())
                    .collect())
            };
            assert_eq!(bits(&wf)?, bits(&ws)?, "w at step {t}");
            assert_eq!(bits(&fast[0])?, bits(&slow[0])?, "m at step {t}");
            assert_eq!(bits(&fast[1])?, bits(&slow[1])?, "v at step {t}");
        }
        assert_eq!(wf.dtype(), DType::F32);
        Ok(())
    }
}
