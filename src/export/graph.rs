//! The layer mapping: a [`ModelPlan`] with its weights, and optionally the
//! run's preprocessing, as an ONNX graph that computes what `dlp predict`
//! computes.
//!
//! | dlp | ONNX |
//! |---|---|
//! | `dense` | `Gemm` (the kernel is stored (inputs, units), as `B` without `transB`) |
//! | `conv2d` | `Conv`, pads `[top, left, bottom, right]` from [`crate::ops::same_padding`] (TensorFlow's asymmetric `same`, exactly) |
//! | `maxpool`, `avgpool` | `MaxPool`, `AveragePool` (unpadded, floor: dlp's `valid`) |
//! | `global_avgpool` | `GlobalAveragePool` then `Flatten` ((N, C, 1, 1) → (N, C)) |
//! | `flatten` | `Flatten` on NCHW: channels first, dlp's own order |
//! | `batchnorm` | `BatchNormalization` in inference form (moving statistics) |
//! | `dropout` | nothing (identity at inference) |
//! | activations | `Relu`, `LeakyRelu`, `Sigmoid`, `Tanh`, `Softmax` (axis 1: the feature axis of a vector and of an NCHW map), `linear` nothing |
//!
//! The output is [`crate::nn::Model::probabilities`]' answer: an activation
//! the loss absorbed is applied once (softmax over the last axis for
//! cross-entropy, sigmoid for binary cross-entropy), and one sigmoid unit
//! becomes the two columns `1 − p, p` that `dlp predict` prints.
//!
//! The preprocessing part takes raw values: for images, pixels 0–255 as
//! float32 in NHWC (what image decoders give); `grayscale` is PIL's integer
//! luma ([`crate::data::convert::luma`]) computed exactly — every
//! intermediate is an integer below 2²⁴, so float32 holds it exactly —
//! and `rgb` replicates a one-channel image; then `scale` and `normalize`
//! as the one per-channel (or per-feature) `a·x + b` that
//! [`crate::data::preprocess::Affine`] applies, with the same float32
//! `a` and `b`.

use super::proto::{
    AttributeProto, DimValue, Dimension, GraphProto, NodeProto, TensorProto, TensorShapeProto,
    TensorTypeProto, TypeProto, ValueInfoProto, attribute_type, data_type,
};
use crate::data::preprocess::Affine;
use crate::error::{Error, Result};
use crate::plan::{Activation, Layer, Loss, ModelPlan, Padding, Shape};
use std::collections::HashMap;

/// The graph input's name.
pub(crate) const INPUT: &str = "input";
/// The graph output's name.
pub(crate) const OUTPUT: &str = "probabilities";
/// The name of the dynamic batch dimension.
pub(crate) const BATCH: &str = "batch";
/// The name of the channel dimension when `grayscale` or `rgb` lets it be
/// 1 or 3.
pub(crate) const CHANNELS: &str = "channels";

/// Named tensors: shape and float32 values.
pub(crate) type Weights = HashMap<String, (Vec<usize>, Vec<f32>)>;

/// What the graph does before the network.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Input {
    /// The bare network: its input is what the model reads after
    /// preprocessing (NCHW images, feature vectors).
    Network,
    /// Raw values in; the run's load-time and value transforms inside.
    Raw {
        /// `grayscale`: PIL's luma of three channels.
        grayscale: bool,
        /// `rgb`: a one-channel image replicated to three.
        rgb: bool,
        affine: Affine,
    },
}

/// One dimension of an input or output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Dim {
    Fixed(usize),
    Named(&'static str),
}

impl std::fmt::Display for Dim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dim::Fixed(n) => write!(f, "{n}"),
            Dim::Named(s) => f.write_str(s),
        }
    }
}

/// The graph and what its input and output look like.
pub(crate) struct Built {
    pub graph: GraphProto,
    pub input_dims: Vec<Dim>,
    /// `NHWC`, `NCHW` or `NF` (batch, features).
    pub input_layout: &'static str,
    pub output_dims: Vec<Dim>,
}

/// Nodes and initializers, added in order.
#[derive(Default)]
struct Builder {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
}

fn attr_int(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        i,
        r#type: attribute_type::INT,
        ..Default::default()
    }
}

fn attr_ints(name: &str, ints: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        ints: ints.to_vec(),
        r#type: attribute_type::INTS,
        ..Default::default()
    }
}

fn attr_float(name: &str, f: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        f,
        r#type: attribute_type::FLOAT,
        ..Default::default()
    }
}

fn dims_i64(dims: &[usize]) -> Vec<i64> {
    dims.iter().map(|&d| d as i64).collect()
}

impl Builder {
    fn f32s(&mut self, name: &str, dims: &[usize], values: &[f32]) -> String {
        self.initializers.push(TensorProto {
            dims: dims_i64(dims),
            data_type: data_type::FLOAT,
            name: name.into(),
            raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        });
        name.into()
    }

    fn i64s(&mut self, name: &str, values: &[i64]) -> String {
        self.initializers.push(TensorProto {
            dims: vec![values.len() as i64],
            data_type: data_type::INT64,
            name: name.into(),
            raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        });
        name.into()
    }

    /// Adds a node whose one output is named `name`; returns that name.
    fn node(
        &mut self,
        op: &str,
        name: &str,
        inputs: &[&str],
        attribute: Vec<AttributeProto>,
    ) -> String {
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![name.into()],
            name: name.into(),
            op_type: op.into(),
            attribute,
            ..Default::default()
        });
        name.into()
    }
}

fn value_info(name: &str, dims: &[Dim]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: Some(match d {
                Dim::Fixed(n) => DimValue::DimValue(*n as i64),
                Dim::Named(s) => DimValue::DimParam((*s).into()),
            }),
        })
        .collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: data_type::FLOAT,
                shape: Some(TensorShapeProto { dim }),
            }),
        }),
        doc_string: String::new(),
    }
}

fn weight<'a>(weights: &'a Weights, name: &str) -> Result<&'a (Vec<usize>, Vec<f32>)> {
    weights
        .get(name)
        .ok_or_else(|| Error::Runtime(format!("the weights have no tensor `{name}`")))
}

/// Appends `act` applied to `x` (named `name`); `linear` adds nothing.
fn activate(b: &mut Builder, act: Activation, x: String, name: &str) -> String {
    match act {
        Activation::Linear => x,
        Activation::Relu => b.node("Relu", name, &[&x], vec![]),
        Activation::LeakyRelu { alpha } => b.node(
            "LeakyRelu",
            name,
            &[&x],
            vec![attr_float("alpha", alpha as f32)],
        ),
        Activation::Sigmoid => b.node("Sigmoid", name, &[&x], vec![]),
        Activation::Tanh => b.node("Tanh", name, &[&x], vec![]),
        // dlp's feature axis: 1 for (N, F) and for (N, C, H, W) alike.
        Activation::Softmax => b.node("Softmax", name, &[&x], vec![attr_int("axis", 1)]),
    }
}

/// The preprocessing nodes for raw input: returns the tensor the network
/// reads, the input's dims and layout.
fn preprocess(
    b: &mut Builder,
    shape: Shape,
    grayscale: bool,
    rgb: bool,
    affine: &Affine,
) -> Result<(String, Vec<Dim>, &'static str)> {
    let mut x = INPUT.to_string();
    let (dims, layout, broadcast) = match shape {
        Shape::Flat(f) => {
            if grayscale || rgb {
                return Err(Error::Runtime(
                    "grayscale and rgb need images, but the model reads feature vectors".into(),
                ));
            }
            (vec![Dim::Named(BATCH), Dim::Fixed(f)], "NF", vec![f])
        }
        Shape::Image {
            channels,
            height,
            width,
        } => {
            let c = if grayscale || rgb {
                Dim::Named(CHANNELS)
            } else {
                Dim::Fixed(channels)
            };
            if grayscale || rgb {
                // (N, H, W, 1 or 3) → (N, H, W, 3): a grey image's plane in
                // every channel, as the loader decodes one for `rgb`, and
                // luma(g, g, g) = g for `grayscale`.
                let to = b.i64s("preprocess/rgb_shape", &[1, 1, 1, 3]);
                x = b.node("Expand", "preprocess/rgb", &[&x, &to], vec![]);
            }
            x = b.node(
                "Transpose",
                "preprocess/nchw",
                &[&x],
                vec![attr_ints("perm", &[0, 3, 1, 2])],
            );
            if grayscale {
                // (19595·r + 38470·g + 7471·b + 2¹⁵) >> 16, as
                // `data::convert::luma`: integers below 2²⁴, exact in f32.
                let w = b.f32s(
                    "preprocess/luma_weights",
                    &[1, 3, 1, 1],
                    &[19595., 38470., 7471.],
                );
                let bias = b.f32s("preprocess/luma_round", &[1], &[32768.]);
                x = b.node("Conv", "preprocess/luma_sum", &[&x, &w, &bias], vec![]);
                let k = b.f32s("preprocess/luma_shift", &[], &[1.0 / 65536.0]);
                x = b.node("Mul", "preprocess/luma_scaled", &[&x, &k], vec![]);
                x = b.node("Floor", "preprocess/grayscale", &[&x], vec![]);
            }
            (
                vec![Dim::Named(BATCH), Dim::Fixed(height), Dim::Fixed(width), c],
                "NHWC",
                vec![channels, 1, 1],
            )
        }
    };
    let groups = broadcast[0];
    if affine.a.len() != groups || affine.b.len() != groups {
        return Err(Error::Runtime(format!(
            "the preprocessing has {} factors for {groups} channels or features",
            affine.a.len()
        )));
    }
    if affine.a.iter().any(|&a| a != 1.0) || affine.b.iter().any(|&v| v != 0.0) {
        // a·x + b per channel or feature: float32 multiply, then add, as
        // `Affine::apply`.
        let a = b.f32s("preprocess/a", &broadcast, &affine.a);
        x = b.node("Mul", "preprocess/scaled", &[&x, &a], vec![]);
        let shift = b.f32s("preprocess/b", &broadcast, &affine.b);
        x = b.node("Add", "preprocess/normalized", &[&x, &shift], vec![]);
    }
    Ok((x, dims, layout))
}

/// The activation the loss absorbs when the last layer ends in it
/// ([`crate::nn::Model`]'s fusion rule).
fn fused(plan: &ModelPlan, loss: Loss) -> bool {
    let last = plan.layers.last().and_then(|l| match l.layer {
        Layer::Dense { activation, .. } | Layer::Conv2d { activation, .. } => Some(activation),
        Layer::Activation(a) => Some(a),
        _ => None,
    });
    matches!(
        (loss, last),
        (Loss::CrossEntropy, Some(Activation::Softmax))
            | (Loss::BinaryCrossEntropy, Some(Activation::Sigmoid))
    )
}

/// Builds the graph of `plan` with `weights` (named as in the run's
/// safetensors files), `input` and `loss` (which decides the output).
pub(crate) fn build(
    plan: &ModelPlan,
    loss: Loss,
    weights: &Weights,
    input: &Input,
) -> Result<Built> {
    let units = match plan.output() {
        Shape::Flat(n) => n,
        other => {
            return Err(Error::Runtime(format!(
                "the model ends in a feature map ({other}), not one vector per input: add `flatten` or `global_avgpool` and a dense layer"
            )));
        }
    };
    let mut b = Builder::default();
    let (mut x, input_dims, input_layout) = match input {
        Input::Network => {
            let dims = match plan.input {
                Shape::Flat(f) => vec![Dim::Named(BATCH), Dim::Fixed(f)],
                Shape::Image {
                    channels,
                    height,
                    width,
                } => vec![
                    Dim::Named(BATCH),
                    Dim::Fixed(channels),
                    Dim::Fixed(height),
                    Dim::Fixed(width),
                ],
            };
            let layout = if dims.len() == 2 { "NF" } else { "NCHW" };
            (INPUT.to_string(), dims, layout)
        }
        Input::Raw {
            grayscale,
            rgb,
            affine,
        } => preprocess(&mut b, plan.input, *grayscale, *rgb, affine)?,
    };
    let fused = fused(plan, loss);
    let last = plan.layers.len().saturating_sub(1);
    // The ONNX name of every node's output: 0 the input, i + 1 layer i's.
    let mut outs = vec![x.clone()];
    for (i, lp) in plan.layers.iter().enumerate() {
        let name = lp.name.as_str();
        let ins: Vec<String> = plan
            .sources(i)
            .iter()
            .map(|&id| outs.get(id).cloned().unwrap_or_default())
            .collect();
        x = ins.first().cloned().unwrap_or_default();
        // The final activation the loss absorbs is applied below, once.
        let act = |a: Activation| {
            if i == last && fused {
                Activation::Linear
            } else {
                a
            }
        };
        x = match &lp.layer {
            Layer::Dense {
                units, activation, ..
            } => {
                let (kd, kv) = weight(weights, &format!("{name}/kernel"))?;
                let (bd, bv) = weight(weights, &format!("{name}/bias"))?;
                if kd != &[lp.input.numel(), *units] || bd != &[*units] {
                    return Err(Error::Runtime(format!(
                        "layer {name}: kernel {kd:?} and bias {bd:?} do not fit {} inputs and {units} units",
                        lp.input.numel()
                    )));
                }
                let k = b.f32s(&format!("{name}/kernel"), kd, kv);
                let bias = b.f32s(&format!("{name}/bias"), bd, bv);
                let y = b.node("Gemm", &format!("{name}/linear"), &[&x, &k, &bias], vec![]);
                activate(&mut b, act(*activation), y, name)
            }
            Layer::Conv2d {
                filters,
                kernel,
                stride,
                padding,
                activation,
                use_bias,
                ..
            } => {
                let Shape::Image {
                    channels,
                    height,
                    width,
                } = lp.input
                else {
                    return Err(Error::Runtime(format!(
                        "layer {name}: conv2d needs an image input, got {}",
                        lp.input
                    )));
                };
                let (kd, kv) = weight(weights, &format!("{name}/kernel"))?;
                if kd != &[*filters, channels, *kernel, *kernel] {
                    return Err(Error::Runtime(format!(
                        "layer {name}: kernel {kd:?} does not fit {channels} channels and {filters} {kernel}×{kernel} filters"
                    )));
                }
                let k = b.f32s(&format!("{name}/kernel"), kd, kv);
                let mut conv_in = vec![x.clone(), k];
                if *use_bias {
                    let (bd, bv) = weight(weights, &format!("{name}/bias"))?;
                    if bd != &[*filters] {
                        return Err(Error::Runtime(format!(
                            "layer {name}: bias {bd:?} does not fit {filters} filters"
                        )));
                    }
                    conv_in.push(b.f32s(&format!("{name}/bias"), bd, bv));
                }
                let conv_in: Vec<&str> = conv_in.iter().map(String::as_str).collect();
                let (top, bottom, left, right) = match padding {
                    Padding::Valid => (0, 0, 0, 0),
                    Padding::Same => {
                        let (t, bo) = crate::ops::same_padding(height, *kernel, *stride);
                        let (l, r) = crate::ops::same_padding(width, *kernel, *stride);
                        (t, bo, l, r)
                    }
                };
                let k2 = *kernel as i64;
                let s = *stride as i64;
                let y = b.node(
                    "Conv",
                    &format!("{name}/conv"),
                    &conv_in,
                    vec![
                        attr_ints("kernel_shape", &[k2, k2]),
                        attr_ints("strides", &[s, s]),
                        attr_ints("dilations", &[1, 1]),
                        attr_ints("pads", &dims_i64(&[top, left, bottom, right])),
                        attr_int("group", 1),
                    ],
                );
                activate(&mut b, act(*activation), y, name)
            }
            Layer::MaxPool { size, stride } | Layer::AvgPool { size, stride } => {
                let op = if matches!(lp.layer, Layer::MaxPool { .. }) {
                    "MaxPool"
                } else {
                    "AveragePool"
                };
                let (k, s) = (*size as i64, *stride as i64);
                b.node(
                    op,
                    name,
                    &[&x],
                    vec![
                        attr_ints("kernel_shape", &[k, k]),
                        attr_ints("strides", &[s, s]),
                        attr_ints("pads", &[0, 0, 0, 0]),
                    ],
                )
            }
            Layer::GlobalAvgPool => {
                let y = b.node("GlobalAveragePool", &format!("{name}/pool"), &[&x], vec![]);
                b.node("Flatten", name, &[&y], vec![attr_int("axis", 1)])
            }
            Layer::Flatten => b.node("Flatten", name, &[&x], vec![attr_int("axis", 1)]),
            Layer::Dropout { .. } => x,
            Layer::BatchNorm { epsilon, .. } => {
                let mut names = Vec::new();
                for t in ["gamma", "beta", "moving_mean", "moving_variance"] {
                    let full = format!("{name}/{t}");
                    let (d, v) = weight(weights, &full)?;
                    names.push(b.f32s(&full, d, v));
                }
                let ins: Vec<&str> = std::iter::once(x.as_str())
                    .chain(names.iter().map(String::as_str))
                    .collect();
                b.node(
                    "BatchNormalization",
                    name,
                    &ins,
                    vec![attr_float("epsilon", *epsilon as f32)],
                )
            }
            Layer::Activation(a) => activate(&mut b, act(*a), x, name),
            // ONNX `Add` takes two inputs: a chain for more branches.
            Layer::Add => {
                let mut sum = x.clone();
                for (k, other) in ins.iter().enumerate().skip(1) {
                    let out = if k + 1 == ins.len() {
                        name.to_string()
                    } else {
                        format!("{name}/{k}")
                    };
                    sum = b.node("Add", &out, &[&sum, other], vec![]);
                }
                sum
            }
            Layer::Concat => {
                let refs: Vec<&str> = ins.iter().map(String::as_str).collect();
                b.node("Concat", name, &refs, vec![attr_int("axis", 1)])
            }
        };
        outs.push(x.clone());
    }
    // What `Model::probabilities` does with the forward output.
    x = match loss {
        Loss::CrossEntropy => b.node(
            "Softmax",
            "output/softmax",
            &[&x],
            vec![attr_int("axis", -1)],
        ),
        Loss::BinaryCrossEntropy => b.node("Sigmoid", "output/sigmoid", &[&x], vec![]),
        Loss::Mse => x,
    };
    let mut classes = units;
    if loss == Loss::BinaryCrossEntropy && units == 1 {
        // One sigmoid unit p: the classes' probabilities 1 − p and p.
        let one = b.f32s("output/one", &[], &[1.0]);
        let q = b.node("Sub", "output/complement", &[&one, &x], vec![]);
        x = b.node(
            "Concat",
            "output/two_classes",
            &[&q, &x],
            vec![attr_int("axis", 1)],
        );
        classes = 2;
    }
    // The output gets its own name through an Identity, whatever came last.
    b.node("Identity", OUTPUT, &[&x], vec![]);
    let output_dims = vec![Dim::Named(BATCH), Dim::Fixed(classes)];
    let graph = GraphProto {
        node: b.nodes,
        name: "dlp".into(),
        initializer: b.initializers,
        doc_string: String::new(),
        input: vec![value_info(INPUT, &input_dims)],
        output: vec![value_info(OUTPUT, &output_dims)],
        value_info: Vec::new(),
    };
    Ok(Built {
        graph,
        input_dims,
        input_layout,
        output_dims,
    })
}
