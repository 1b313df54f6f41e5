//! One training step: forward in training mode, the loss with the L2
//! penalty (as Keras reports it), backward, the optimizer update. `dlp run`
//! and `dlp bench` both call [`train_step`], so the bench times exactly the
//! step a run takes.

use crate::error::Result;
use crate::nn::{ForwardMode, Model, smoothed_loss};
use crate::optim::Optimizer;
use crate::plan::Loss;
use candle_core::{DType, Tensor};

/// The outcome of one step.
pub(crate) enum Step {
    /// The weights were updated; `loss` is the batch's mean loss before the
    /// update and `output` the forward output (logits when the final
    /// activation is fused into the loss), detached.
    Taken { loss: f64, output: Tensor },
    /// The loss was NaN or infinite: nothing was updated.
    NonFinite(f64),
}

/// What a step trains with.
pub(crate) struct StepInputs<'a> {
    pub model: &'a Model,
    pub loss: Loss,
    /// Cross-entropy's label smoothing ε (0 = none).
    pub label_smoothing: f64,
    /// Per-class loss weights (`class_weight`), if any.
    pub class_weights: Option<&'a Tensor>,
}

/// Takes one optimizer step on the batch `(x, y)` at learning rate `lr`.
/// `step` is the 0-based count of steps taken before this one (dropout
/// masks derive from it).
pub(crate) fn train_step(
    inputs: &StepInputs<'_>,
    optimizer: &mut dyn Optimizer,
    x: &Tensor,
    y: &Tensor,
    lr: f64,
    step: u64,
) -> Result<Step> {
    let model = inputs.model;
    let out = model.forward(x, ForwardMode::Train { step })?;
    let mut total = smoothed_loss(
        inputs.loss,
        &out,
        y,
        inputs.class_weights,
        inputs.label_smoothing,
    )?;
    if let Some(penalty) = model.l2_penalty()? {
        total = (total + penalty)?;
    }
    let value = f64::from(total.to_dtype(DType::F32)?.to_scalar::<f32>()?);
    if !value.is_finite() {
        return Ok(Step::NonFinite(value));
    }
    let grads = total.backward()?;
    optimizer.step(&grads, lr)?;
    Ok(Step::Taken {
        loss: value,
        output: out.detach(),
    })
}
