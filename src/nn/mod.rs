//! Layers, one file per layer family, and the [`Model`] built from a
//! [`crate::plan::ModelPlan`].
//!
//! Parameters follow Keras: Glorot-uniform kernels, zero biases, batch norm
//! with Keras' momentum convention, Keras-style names (`conv2d/kernel`).
//! Convolution and pooling go through [`crate::ops`], randomness through
//! [`crate::rng`] (candle's CPU generator cannot be seeded).
//!
//! One training step, as the run loop drives it:
//!
//! ```text
//! let out  = model.forward(&x, ForwardMode::Train { step: opt.iterations() })?;
//! let mut l = nn::loss(plan.train.loss, &out, &labels, class_weights.as_ref())?;
//! if let Some(r) = model.l2_penalty()? { l = (l + r)?; }   // Keras reports it in `loss`
//! opt.step(&l.backward()?, scheduler.lr(epoch))?;
//! // metrics: model.probabilities(&out) → metrics::predicted_classes → Confusion
//! ```

pub(crate) mod activation;
pub(crate) mod batchnorm;
pub(crate) mod conv;
pub(crate) mod dense;
pub mod dropout;
pub(crate) mod flatten;
pub(crate) mod init;
pub(crate) mod loss;
pub(crate) mod model;
pub(crate) mod pool;

pub use loss::loss;
pub(crate) use loss::smoothed_loss;
pub use model::{ForwardMode, Model};

use candle_core::{Tensor, Var};

/// A parameter as the forward pass sees it: tracked by autograd when
/// training, detached otherwise (inference through tracked `Var`s keeps the
/// whole graph alive: 3.2 GB against 0.8 GB at batch 1,000).
pub(crate) fn param(v: &Var, train: bool) -> Tensor {
    if train {
        v.as_tensor().clone()
    } else {
        v.as_detached_tensor()
    }
}
