//! The warning for an output layer whose activation `cross_entropy`
//! cannot use. `cross_entropy` reads the last layer's outputs as logits
//! when it has no activation (or `linear`) and as probabilities after
//! `softmax` (README, *The output layer and the loss*); after `relu`,
//! `leaky_relu`, `sigmoid` or `tanh` it still reads them as logits, which
//! those squash or clip: training runs but learns worse, or not at all.

use super::context::Context;
use crate::plan::{Activation, Layer, Loss, Plan};
use crate::syntax::Span;

/// Warns at `last` when the model ends in an activation other than none,
/// `linear` or `softmax` and the loss is `cross_entropy`.
pub(crate) fn warn(cx: &mut Context, plan: &Plan, last: Span) {
    if plan.train.loss != Loss::CrossEntropy {
        return;
    }
    let activation = match plan.model.layers.last().map(|l| &l.layer) {
        Some(Layer::Dense { activation, .. } | Layer::Conv2d { activation, .. }) => *activation,
        Some(Layer::Activation(a)) => *a,
        _ => return,
    };
    if matches!(activation, Activation::Linear | Activation::Softmax) {
        return;
    }
    let what = match activation {
        Activation::Relu => "relu sets every negative one to 0",
        Activation::LeakyRelu { .. } => "leaky_relu shrinks the negative ones",
        Activation::Sigmoid => "sigmoid squashes them into (0, 1)",
        _ => "tanh squashes them into (-1, 1)",
    };
    cx.warn(
        last,
        format!(
            "the output layer's activation is {}: cross_entropy reads the last layer's outputs as logits, and {what}",
            activation.name()
        ),
        Some("leave the output layer without an activation (logits) or use activation=softmax"),
    );
}
