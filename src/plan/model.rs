//! The `model` section, resolved: the layers in the order they run, with
//! inferred shapes. A plain stack feeds each layer the one before it; a
//! graph (`add`, `concat`, named blocks) says where each layer reads from
//! ([`LayerPlan::inputs`]).

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
    pub fn output(&self) -> Shape {
        self.layers.last().map_or(self.input, |l| l.output)
    }
    pub fn total_params(&self) -> usize {
        self.layers.iter().map(|l| l.params).sum()
    }
    pub fn trainable_params(&self) -> usize {
        self.layers.iter().map(|l| l.trainable).sum()
    }

    /// The node ids layer `index` reads: 0 is the model's input, `i + 1`
    /// the output of `layers[i]`. A stack layer reads the one before it.
    pub(crate) fn sources(&self, index: usize) -> Vec<usize> {
        match self.layers.get(index) {
            Some(l) if !l.inputs.is_empty() => l.inputs.clone(),
            _ => vec![index],
        }
    }

    /// Whether any layer reads something else than the layer before it
    /// (a branch or a merge).
    pub(crate) fn is_graph(&self) -> bool {
        self.layers.iter().any(|l| !l.inputs.is_empty())
    }

    /// The name of node `id` as `dlp plan` shows it (`input` for 0).
    pub(crate) fn node_name(&self, id: usize) -> &str {
        match id {
            0 => "input",
            i => self.layers.get(i - 1).map_or("input", |l| l.name.as_str()),
        }
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
    /// Node ids this layer reads ([`ModelPlan::sources`]), when it is not
    /// simply the layer before it: empty in a plain stack, so a stack's
    /// plan (and `run.yaml`) reads as it always has.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<usize>,
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
        /// `use_bias=false`: no bias (Keras `use_bias=False`, PyTorch
        /// `bias=False`), as before a batch norm, whose β plays its part.
        #[serde(default = "yes", skip_serializing_if = "is_true")]
        use_bias: bool,
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
    /// The element-wise sum of its inputs (Keras `Add`, PyTorch `a + b`).
    Add,
    /// Its inputs side by side along the channels (feature maps) or the
    /// features (vectors): Keras `Concatenate(axis=-1)`, PyTorch
    /// `torch.cat(dim=1)` on NCHW.
    Concat,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
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
            Layer::Add => "add",
            Layer::Concat => "concat",
        }
    }
}
