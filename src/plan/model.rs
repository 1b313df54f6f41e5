//! The `model` section, resolved: a flat layer stack with inferred shapes.

use super::{Loc, Shape};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelPlan {
    pub input: Shape,
    pub layers: Vec<LayerPlan>,
    /// Seed of the weight-initialisation stream.
    pub init_seed: u64,
    /// Seed of the dropout stream of the dropout layers without a `seed=`
    /// of their own.
    pub dropout_seed: u64,
}

impl ModelPlan {
    pub(crate) fn output(&self) -> Shape {
        self.layers.last().map_or(self.input, |l| l.output)
    }
    pub fn total_params(&self) -> usize {
        self.layers.iter().map(|l| l.params).sum()
    }
    pub fn trainable_params(&self) -> usize {
        self.layers.iter().map(|l| l.trainable).sum()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerPlan {
    /// Keras-style unique name: `conv2d`, `conv2d_1`, `dense`, …
    pub name: String,
    pub layer: Layer,
    pub input: Shape,
    pub output: Shape,
    /// All parameters, including batch norm's moving statistics.
    pub params: usize,
    pub trainable: usize,
    pub loc: Loc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Padding {
    /// TensorFlow's `same`: the extra row/column goes at the bottom/right.
    Same,
    Valid,
}

/// Serialised as text (`relu`, `leaky_relu(alpha=0.3)`), because YAML
/// cannot nest the tag of this enum inside a layer's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Activation {
    Linear,
    Relu,
    LeakyRelu { alpha: f64 },
    Sigmoid,
    Tanh,
    Softmax,
}

impl Activation {
    /// The language's name (`relu`, `leaky_relu`, …).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::LeakyRelu { .. } => "leaky_relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Softmax => "softmax",
        }
    }
}

impl From<Activation> for String {
    fn from(a: Activation) -> String {
        match a {
            Activation::LeakyRelu { alpha } => format!("leaky_relu(alpha={alpha:?})"),
            other => other.name().to_string(),
        }
    }
}

impl TryFrom<String> for Activation {
    type Error = String;

    fn try_from(text: String) -> Result<Activation, String> {
        Ok(match text.as_str() {
            "linear" => Activation::Linear,
            "relu" => Activation::Relu,
            "sigmoid" => Activation::Sigmoid,
            "tanh" => Activation::Tanh,
            "softmax" => Activation::Softmax,
            _ => {
                let alpha = text
                    .strip_prefix("leaky_relu(alpha=")
                    .and_then(|r| r.strip_suffix(')'))
                    .and_then(|a| a.parse().ok())
                    .ok_or_else(|| format!("unknown activation {text:?}"))?;
                Activation::LeakyRelu { alpha }
            }
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    Dense {
        units: usize,
        activation: Activation,
        l2: f64,
    },
    Conv2d {
        filters: usize,
        kernel: usize,
        stride: usize,
        padding: Padding,
        activation: Activation,
        l2: f64,
    },
    #[serde(rename = "maxpool", alias = "max_pool")]
    MaxPool {
        size: usize,
        stride: usize,
    },
    #[serde(rename = "avgpool", alias = "avg_pool")]
    AvgPool {
        size: usize,
        stride: usize,
    },
    #[serde(rename = "global_avgpool", alias = "global_avg_pool")]
    GlobalAvgPool,
    Flatten,
    Dropout {
        rate: f64,
        /// `dropout RATE seed=S`: this layer's masks draw from `S` instead
        /// of the model's dropout stream ([`ModelPlan::dropout_seed`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seed: Option<u64>,
    },
    #[serde(rename = "batchnorm", alias = "batch_norm")]
    BatchNorm {
        momentum: f64,
        epsilon: f64,
    },
    Activation(Activation),
}

impl Layer {
    /// The language's name for the layer (`dense`, `maxpool`, `relu`, …).
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Layer::Dense { .. } => "dense",
            Layer::Conv2d { .. } => "conv2d",
            Layer::MaxPool { .. } => "maxpool",
            Layer::AvgPool { .. } => "avgpool",
            Layer::GlobalAvgPool => "global_avgpool",
            Layer::Flatten => "flatten",
            Layer::Dropout { .. } => "dropout",
            Layer::BatchNorm { .. } => "batchnorm",
            Layer::Activation(a) => a.name(),
        }
    }
}
