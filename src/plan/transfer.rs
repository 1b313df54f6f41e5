//! The `transfer` section, resolved: which layers start from another
//! run's weights, which are frozen, and when they thaw.
//!
//! ```text
//! transfer {
//!     from "runs/digits-0-4" layers=[conv2d, conv2d_1]
//!     freeze loaded
//!     unfreeze after=3 factor=0.1
//! }
//! ```

use super::{Layer, LayerPlan, Loc, Shape};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The weights file of a run folder that `from` reads.
pub(crate) const SOURCE_FILE: &str = "model.safetensors";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransferPlan {
    /// The source run folder, as resolved (relative to the pipeline's
    /// folder when written relative).
    pub from: PathBuf,
    /// The layers (by name, in model order) whose tensors are copied from
    /// the source's `model.safetensors`; every other layer keeps its fresh
    /// initialisation.
    pub layers: Vec<String>,
    /// The source layer each of `layers` takes its tensors from: the same
    /// name (`match=name`), or the source layer at the same position among
    /// the layers with weights (`match=position`).
    pub sources: Vec<String>,
    /// The layers frozen from the first epoch: no gradients, no optimizer
    /// state, batch norm in inference mode (Keras' `trainable = False`).
    pub freeze: Vec<String>,
    /// Two-phase fine-tuning: when the frozen layers thaw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unfreeze: Option<Unfreeze>,
    /// Where `from` is written, for errors found when the run starts.
    pub loc: Loc,
}

/// `unfreeze after=N factor=F`: after N epochs every frozen layer trains,
/// with a fresh optimizer (Keras' guide recompiles) at the scheduled rate
/// times F.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Unfreeze {
    pub after: usize,
    pub factor: f64,
}

impl TransferPlan {
    /// The layers frozen while the 0-based epoch `epoch` trains.
    pub(crate) fn frozen_at(&self, epoch: usize) -> &[String] {
        match self.unfreeze {
            Some(u) if epoch >= u.after => &[],
            _ => &self.freeze,
        }
    }

    /// The learning-rate multiplier of the 0-based epoch `epoch`.
    pub(crate) fn lr_factor(&self, epoch: usize) -> f64 {
        match self.unfreeze {
            Some(u) if epoch >= u.after => u.factor,
            _ => 1.0,
        }
    }
}

/// The tensors a layer holds, by the names `model.safetensors` gives them
/// (`conv2d/kernel`), with their shapes as stored: dense kernels
/// (inputs, units), convolution kernels (filters, channels, k, k), batch
/// norm's γ, β and moving statistics one value per feature.
pub(crate) fn layer_tensors(layer: &LayerPlan) -> Vec<(String, Vec<usize>)> {
    let name = &layer.name;
    let t = |what: &str, shape: Vec<usize>| (format!("{name}/{what}"), shape);
    match &layer.layer {
        Layer::Dense { units, .. } => vec![
            t("kernel", vec![layer.input.numel(), *units]),
            t("bias", vec![*units]),
        ],
        Layer::Conv2d {
            filters, kernel, ..
        } => {
            let channels = match layer.input {
                Shape::Image { channels, .. } => channels,
                Shape::Flat(_) => 0,
            };
            vec![
                t("kernel", vec![*filters, channels, *kernel, *kernel]),
                t("bias", vec![*filters]),
            ]
        }
        Layer::BatchNorm { .. } => {
            let f = match layer.input {
                Shape::Flat(n) => n,
                Shape::Image { channels, .. } => channels,
            };
            ["gamma", "beta", "moving_mean", "moving_variance"]
                .iter()
                .map(|w| t(w, vec![f]))
                .collect()
        }
        _ => Vec::new(),
    }
}
