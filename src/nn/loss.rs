//! Losses on a batch, reduced as Keras' `sum_over_batch_size`: with class
//! weights w (Keras' `class_weight`, applied as sample weights),
//! loss = Σᵢ w[yᵢ]·lᵢ / N; without, the plain mean.
//!
//! The cross-entropies take logits: [`super::Model::forward`] leaves out a
//! final softmax (sigmoid) when the loss is cross-entropy (binary
//! cross-entropy), and the fused form is the numerically stable one
//! (log-softmax; softplus). Keras' non-fused form clips probabilities to
//! [1e-7, 1 − 1e-7], capping a sample's loss near 16.1; the fused form has
//! no cap, so a confidently wrong sample can weigh more. MSE compares the full output with the one-hot
//! target, as Keras does with one-hot labels.
//!
//! Label smoothing ε (`loss cross_entropy label_smoothing=ε`) replaces the
//! one-hot target y by y·(1 − ε) + ε/K over K classes, the meaning of both
//! Keras' `CategoricalCrossentropy(label_smoothing=ε)` and PyTorch's
//! `CrossEntropyLoss(label_smoothing=ε)`; per sample the loss is
//! (1 − ε)·(−log p_y) + ε·mean_k(−log p_k).

use crate::plan::Loss;
use candle_core::{D, DType, Result, Tensor};

/// The mean loss of a batch. `labels`: u32 class ids, shape (N).
/// `class_weights`: one weight per class, shape (C) (2 for a single
/// sigmoid unit).
pub fn loss(
    kind: Loss,
    forward_output: &Tensor,
    labels: &Tensor,
    class_weights: Option<&Tensor>,
) -> crate::error::Result<Tensor> {
    smoothed_loss(kind, forward_output, labels, class_weights, 0.0)
}

/// [`loss`] with label smoothing `smoothing` (ε) for cross-entropy; the
/// other losses ignore it (the analyzer refuses it for them).
pub(crate) fn smoothed_loss(
    kind: Loss,
    forward_output: &Tensor,
    labels: &Tensor,
    class_weights: Option<&Tensor>,
    smoothing: f64,
) -> crate::error::Result<Tensor> {
    Ok(per_sample_mean(
        kind,
        forward_output,
        labels,
        class_weights,
        smoothing,
    )?)
}

fn per_sample_mean(
    kind: Loss,
    out: &Tensor,
    labels: &Tensor,
    class_weights: Option<&Tensor>,
    smoothing: f64,
) -> Result<Tensor> {
    let labels = labels.to_dtype(DType::U32)?;
    let n = labels.dim(0)?;
    let per_sample = match kind {
        // −log softmax(z)[y]; smoothed: (1 − ε)·that + ε·mean_k(−log p_k).
        Loss::CrossEntropy => {
            let log_p = candle_nn::ops::log_softmax(out, D::Minus1)?;
            let hard = log_p.gather(&labels.unsqueeze(1)?, 1)?.squeeze(1)?.neg()?;
            if smoothing > 0.0 {
                let uniform = log_p.mean(D::Minus1)?.neg()?;
                (hard.affine(1.0 - smoothing, 0.0)? + uniform.affine(smoothing, 0.0)?)?
            } else {
                hard
            }
        }
        // max(z, 0) − z·y + log(1 + e^−|z|), the stable form of
        // −y·log σ(z) − (1 − y)·log(1 − σ(z)).
        Loss::BinaryCrossEntropy => {
            let z = out.flatten_all()?;
            let y = labels.to_dtype(out.dtype())?;
            let softplus = (z.abs()?.neg()?.exp()? + 1.0)?.log()?;
            ((z.relu()? - (&z * &y)?)? + softplus)?
        }
        // mean over the outputs of (o − t)², t the one-hot target (or the
        // 0/1 label itself for a single output unit).
        Loss::Mse => {
            let units = out.dim(D::Minus1)?;
            let target = if units == 1 {
                labels.to_dtype(out.dtype())?.unsqueeze(1)?
            } else {
                let classes = Tensor::arange(0u32, units as u32, out.device())?;
                labels
                    .unsqueeze(1)?
                    .broadcast_eq(&classes.unsqueeze(0)?)?
                    .to_dtype(out.dtype())?
            };
            out.sub(&target)?.sqr()?.mean(D::Minus1)?
        }
    };
    match class_weights {
        None => per_sample.mean_all(),
        Some(w) => {
            let w = w.to_dtype(per_sample.dtype())?.index_select(&labels, 0)?;
            (per_sample * w)?.sum_all()? / n as f64
        }
    }
}

/// `class_weight balanced`: scikit-learn's `compute_class_weight("balanced")`,
/// wᶜ = n / (classes · countᶜ) over the training labels, so every class
/// contributes the same total weight. A class with no sample gets 1 (it
/// never weighs anything in training).
pub(crate) fn balanced_class_weights(labels: &[u32], classes: usize) -> Vec<f64> {
    let mut counts = vec![0usize; classes];
    for &l in labels {
        if let Some(c) = counts.get_mut(l as usize) {
            *c += 1;
        }
    }
    let n = labels.len() as f64;
    counts
        .iter()
        .map(|&c| {
            if c == 0 {
                1.0
            } else {
                n / (classes as f64 * c as f64)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn scalar(t: &Tensor) -> f32 {
        t.to_scalar::<f32>().unwrap_or(f32::NAN)
    }

    // Fused softmax cross-entropy equals −log p: logits [1, 2, 3] give
    // p = [0.090031, 0.244728, 0.665241]; label 2 → −ln 0.665241 = 0.407606,
    // label 0 → 2.407606. Batch of both: mean 1.407606.
    // Class weights [2, 1, 0.5]: (2·2.407606 + 0.5·0.407606)/2 = 2.509507.
    #[test]
    fn cross_entropy_is_minus_log_probability() -> crate::error::Result<()> {
        let dev = Device::Cpu;
        let z = Tensor::new(&[[1f32, 2., 3.], [1., 2., 3.]], &dev)?;
        let y = Tensor::new(&[2u32, 0], &dev)?;
        let l = loss(Loss::CrossEntropy, &z, &y, None)?;
        assert!((scalar(&l) - 1.407_606).abs() < 1e-5);
        let w = Tensor::new(&[2f32, 1., 0.5], &dev)?;
        let l = loss(Loss::CrossEntropy, &z, &y, Some(&w))?;
        assert!((scalar(&l) - 2.509_507).abs() < 1e-5);
        Ok(())
    }

    // Gradient of mean CE w.r.t. the logits is (softmax − onehot)/N:
    // one sample, logits [1, 2, 3], label 2 → [0.090031, 0.244728, −0.334759].
    #[test]
    fn cross_entropy_gradient_is_softmax_minus_target() -> crate::error::Result<()> {
        let dev = Device::Cpu;
        let z = Var::new(&[[1f32, 2., 3.]], &dev)?;
        let y = Tensor::new(&[2u32], &dev)?;
        let g = loss(Loss::CrossEntropy, z.as_tensor(), &y, None)?.backward()?;
        let gz = g
            .get(z.as_tensor())
            .ok_or_else(|| candle_core::Error::Msg("no gradient".into()))?
            .flatten_all()?
            .to_vec1::<f32>()?;
        for (a, b) in gz.iter().zip([0.090_031, 0.244_728, -0.334_759]) {
            assert!((a - b).abs() < 1e-5, "{gz:?}");
        }
        Ok(())
    }

    // Keras 3.15.1 (jax), `CategoricalCrossentropy(from_logits=True, label_smoothing=ε)`:
    //   z = [[1, 2, 3], [1, 2, 3], [0.5, -1, 2]], y = [2, 0, 1]
    //   l = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=eps)
    //   float(l(keras.ops.one_hot(y, 3), z))  # ε = 0.1 → 1.9688412, ε = 0.25 → 1.8938409
    // PyTorch 2.15's `F.cross_entropy(z, y, label_smoothing=ε)` on the same batch:
    // 1.9688410, 1.8938411 (the same formula, float32 rounding).
    #[test]
    fn label_smoothing_matches_keras() -> crate::error::Result<()> {
        let dev = Device::Cpu;
        let z = Tensor::new(&[[1f32, 2., 3.], [1., 2., 3.], [0.5, -1., 2.]], &dev)?;
        let y = Tensor::new(&[2u32, 0, 1], &dev)?;
        for (eps, want) in [(0.1, 1.968_841_2), (0.25, 1.893_840_9)] {
            let l = smoothed_loss(Loss::CrossEntropy, &z, &y, None, eps)?;
            assert!((scalar(&l) - want).abs() < 1e-5, "ε {eps}: {}", scalar(&l));
        }
        Ok(())
    }

    // BCE from logits: z = 0 → ln 2 = 0.693147 for either label;
    // z = 2, y = 1 → −ln σ(2) = ln(1 + e^−2) = 0.126928; z = 2, y = 0 → 2.126928;
    // z = −30, y = 1 → 30.000000 (stable: no log(0)).
    // Mean of the four: (0.693147 + 0.126928 + 2.126928 + 30)/4 = 8.236751.
    // Class weights [1, 3] (labels 0, 1, 0, 1 → weights 1, 3, 1, 3):
    // (0.693147 + 3·0.126928 + 2.126928 + 3·30)/4 = 23.300215.
    #[test]
    fn binary_cross_entropy_from_logits() -> crate::error::Result<()> {
        let dev = Device::Cpu;
        let z = Tensor::new(&[[0f32], [2.], [2.], [-30.]], &dev)?;
        let y = Tensor::new(&[0u32, 1, 0, 1], &dev)?;
        let l = loss(Loss::BinaryCrossEntropy, &z, &y, None)?;
        assert!((scalar(&l) - 8.236_751).abs() < 1e-4);
        let w = Tensor::new(&[1f32, 3.], &dev)?;
        let l = loss(Loss::BinaryCrossEntropy, &z, &y, Some(&w))?;
        assert!((scalar(&l) - 23.300_215).abs() < 1e-4);
        Ok(())
    }

    // MSE against one-hot: output [0.2, 0.7, 0.1], label 1 → (0.04 + 0.09 + 0.01)/3 = 0.046667;
    // output [1, 0, 0], label 2 → (1 + 0 + 1)/3 = 0.666667. Mean: 0.356667.
    #[test]
    fn mse_compares_with_one_hot() -> crate::error::Result<()> {
        let dev = Device::Cpu;
        let o = Tensor::new(&[[0.2f32, 0.7, 0.1], [1., 0., 0.]], &dev)?;
        let y = Tensor::new(&[1u32, 2], &dev)?;
        let l = loss(Loss::Mse, &o, &y, None)?;
        assert!((scalar(&l) - 0.356_667).abs() < 1e-5);
        Ok(())
    }

    // scikit-learn: compute_class_weight("balanced", classes=[0,1,2], y=[0,0,0,0,0,0,1,1,2])
    // → 9/(3·6), 9/(3·2), 9/(3·1) = [0.5, 1.5, 3.0]; the chapter's 1-in-100 disease:
    // [100/(2·99), 100/(2·1)] = [0.505051, 50].
    #[test]
    fn balanced_weights_match_scikit_learn() {
        assert_eq!(
            balanced_class_weights(&[0, 0, 0, 0, 0, 0, 1, 1, 2], 3),
            vec![0.5, 1.5, 3.0]
        );
        let mut y = vec![0u32; 99];
        y.push(1);
        let w = balanced_class_weights(&y, 2);
        assert!((w[0] - 0.505_051).abs() < 1e-6 && w[1] == 50.0, "{w:?}");
        // Class 1 absent: 2/(2·2) = 0.5 for class 0, the neutral 1 for class 1.
        assert_eq!(balanced_class_weights(&[0, 0], 2), vec![0.5, 1.0]);
    }
}
