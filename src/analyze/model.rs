//! The `model` section: `repeat` expansion, layer parameters, Keras layer
//! names, and shape and parameter-count inference from the input shape.

use super::args::{Args, Range};
use super::block::commands;
use super::context::Context;
use super::schema::{self, spec};
use super::value::Resolved;
use crate::diagnostics::Kind;
use crate::plan::summary::thousands;
use crate::plan::{Activation, Layer, LayerPlan, ModelPlan, Padding, Shape};
use crate::rng::{Stream, stream_seed};
use crate::syntax::{Command, Span, Statement};
use std::collections::BTreeMap;

/// Keras' layer name stem for a layer statement (`conv2d`,
/// `batch_normalization`); Keras numbers repeats `conv2d_1`, `conv2d_2`, ….
pub(crate) fn stem_of(statement: &str) -> &'static str {
    match statement {
        "dense" => "dense",
        "conv2d" => "conv2d",
        "maxpool" => "max_pooling2d",
        "avgpool" => "average_pooling2d",
        "global_avgpool" => "global_average_pooling2d",
        "flatten" => "flatten",
        "dropout" => "dropout",
        "batchnorm" => "batch_normalization",
        "relu" => "re_lu",
        "leaky_relu" => "leaky_re_lu",
        _ => "activation",
    }
}

/// Nesting limit for `repeat`, so a runaway file cannot blow the stack.
const MAX_DEPTH: usize = 16;

struct Expander {
    /// Each layer with its Keras name and statement span.
    layers: Vec<(Layer, String, Span)>,
    counts: BTreeMap<&'static str, usize>,
}

/// The model and each layer's statement span (for later checks). `seed`
/// is the pipeline's (initialisation), `train_seed` the training side's
/// (dropout masks): `train seed=`, else the pipeline's.
pub(crate) fn model(
    cx: &mut Context,
    head: &Args,
    block: &[Statement],
    input: Option<Shape>,
    seed: u64,
    train_seed: u64,
) -> Option<(ModelPlan, Vec<Span>)> {
    let init_seed = if head.has("seed") {
        head.int(cx, "seed", None, 0).map_or(0, |s| s as u64)
    } else {
        stream_seed(seed, Stream::Init)
    };
    let mut ex = Expander {
        layers: Vec::new(),
        counts: BTreeMap::new(),
    };
    let errors_before = cx.diags.len();
    expand(cx, block, &mut ex, 0);
    if ex.layers.is_empty() {
        if cx.diags.len() == errors_before {
            cx.error(Kind::Missing, head.name_span, "model has no layers");
        }
        return None;
    }
    // Layers are checked even when the input shape is unknown (a data
    // error); shapes only when it is, and only for a model without errors,
    // so one mistake is not reported again as a shape or class mismatch.
    let input = input?;
    if cx.diags.len() > errors_before {
        return None;
    }
    let layers = infer(cx, &ex.layers, input)?;
    let spans = ex.layers.iter().map(|(_, _, s)| *s).collect();
    Some((
        ModelPlan {
            input,
            layers,
            init_seed,
            dropout_seed: stream_seed(train_seed, Stream::Dropout),
        },
        spans,
    ))
}

fn expand(cx: &mut Context, block: &[Statement], ex: &mut Expander, depth: usize) {
    for cmd in commands(cx, "model", block, false) {
        if cmd.name.name == "repeat" {
            repeat(cx, cmd, ex, depth);
        } else {
            let stem = stem_of(&cmd.name.name);
            let n = ex.counts.entry(stem).or_insert(0);
            let name = if *n == 0 {
                stem.to_string()
            } else {
                format!("{stem}_{n}")
            };
            *n += 1;
            if let Some(layer) = layer(cx, cmd, &name) {
                ex.layers.push((layer, name, cmd.span));
            }
        }
    }
}

/// `repeat NAME=[…] NAME=[…] { … }`: the body once per list position.
fn repeat(cx: &mut Context, cmd: &Command, ex: &mut Expander, depth: usize) {
    let Some(body) = &cmd.block else {
        cx.error(
            Kind::Missing,
            cmd.name.span,
            "repeat needs a block: repeat NAME=[…] { … }",
        );
        return;
    };
    if depth >= MAX_DEPTH {
        cx.error(
            Kind::Range,
            cmd.name.span,
            format!("repeat is nested more than {MAX_DEPTH} deep"),
        );
        return;
    }
    let mut bindings: Vec<(String, Vec<super::value::Located>, Span)> = Vec::new();
    let mut ok = true;
    for arg in &cmd.args {
        let Some(key) = &arg.key else {
            cx.error(Kind::Type, arg.span, "repeat takes only NAME=[…] lists");
            ok = false;
            continue;
        };
        if bindings.iter().any(|(n, _, _)| *n == key.name) {
            cx.error(
                Kind::Duplicate,
                arg.span,
                format!("repeat binds {} twice", key.name),
            );
            ok = false;
            continue;
        }
        match cx.eval(&arg.value) {
            Some(r) => match r.v {
                Resolved::List(items) if !items.is_empty() => {
                    bindings.push((key.name.clone(), items, arg.span))
                }
                Resolved::List(_) => {
                    cx.error(
                        Kind::Missing,
                        r.span,
                        format!("repeat list {} is empty", key.name),
                    );
                    ok = false;
                }
                _ => {
                    cx.error(
                        Kind::Type,
                        r.span,
                        format!(
                            "repeat {} must be a list […], got {}",
                            key.name,
                            r.describe()
                        ),
                    );
                    ok = false;
                }
            },
            None => ok = false,
        }
    }
    if bindings.is_empty() {
        if ok {
            cx.error(
                Kind::Missing,
                cmd.name.span,
                "repeat needs at least one NAME=[…] list",
            );
        }
        return;
    }
    let n = bindings[0].1.len();
    for (name, items, span) in &bindings[1..] {
        if items.len() != n {
            cx.error(
                Kind::Conflict,
                *span,
                format!(
                    "repeat lists differ in length: {} has {n} values, {name} has {}",
                    bindings[0].0,
                    items.len()
                ),
            );
            ok = false;
        }
    }
    if !ok {
        return;
    }
    for i in 0..n {
        cx.push_scope();
        for (name, items, _) in &bindings {
            cx.define(name, items[i].clone());
        }
        expand(cx, body, ex, depth + 1);
        cx.pop_scope();
    }
}

/// Keras' slope for the string activation `"leaky_relu"`
/// (`keras.activations.leaky_relu(x, negative_slope=0.2)`).
const LEAKY_RELU_ACTIVATION_ALPHA: f64 = 0.2;
/// Keras' default slope of the `LeakyReLU` layer (`negative_slope=0.3`).
const LEAKY_RELU_LAYER_ALPHA: f64 = 0.3;

/// A layer's `activation=`: `leaky_relu` there is Keras' activation
/// function, slope 0.2, not the `LeakyReLU` layer's 0.3.
fn activation(cx: &mut Context, a: &Args) -> Option<Activation> {
    let w = a.choice(cx, "activation", schema::ACTIVATIONS, Some("linear"))?;
    Some(activation_of(&w, LEAKY_RELU_ACTIVATION_ALPHA))
}

fn activation_of(name: &str, alpha: f64) -> Activation {
    match name {
        "relu" => Activation::Relu,
        "leaky_relu" => Activation::LeakyRelu { alpha },
        "sigmoid" => Activation::Sigmoid,
        "tanh" => Activation::Tanh,
        "softmax" => Activation::Softmax,
        _ => Activation::Linear,
    }
}

fn layer(cx: &mut Context, cmd: &Command, keras: &str) -> Option<Layer> {
    let name = cmd.name.name.as_str();
    let sp = spec("model", name, None)?;
    let a = Args::bind(cx, cmd, sp, name, format!("model.{keras}"));
    Some(match name {
        "dense" => {
            let units = a.usize(cx, "units", None, 1);
            let act = activation(cx, &a);
            let l2 = a.f64(cx, "l2", Some(0.0), Range::NonNegative);
            Layer::Dense {
                units: units?,
                activation: act?,
                l2: l2?,
            }
        }
        "conv2d" => {
            let filters = a.usize(cx, "filters", None, 1);
            let kernel = a.usize(cx, "kernel", Some(3), 1);
            let stride = a.usize(cx, "stride", Some(1), 1);
            let padding = a.choice(cx, "padding", schema::PADDINGS, Some("valid"));
            let act = activation(cx, &a);
            let l2 = a.f64(cx, "l2", Some(0.0), Range::NonNegative);
            Layer::Conv2d {
                filters: filters?,
                kernel: kernel?,
                stride: stride?,
                padding: if padding? == "same" {
                    Padding::Same
                } else {
                    Padding::Valid
                },
                activation: act?,
                l2: l2?,
            }
        }
        "maxpool" | "avgpool" => {
            let size = a.usize(cx, "size", Some(2), 1)?;
            let stride = if a.has("stride") {
                a.usize(cx, "stride", None, 1)?
            } else {
                cx.mark_default(format!("model.{keras}.stride"));
                size
            };
            if name == "maxpool" {
                Layer::MaxPool { size, stride }
            } else {
                Layer::AvgPool { size, stride }
            }
        }
        "global_avgpool" => Layer::GlobalAvgPool,
        "flatten" => Layer::Flatten,
        "dropout" => {
            // A seed seeds this layer only; the others keep the model's stream.
            let rate = a.f64(cx, "rate", None, Range::UnitHalfOpen);
            let seed = match a.has("seed") {
                true => Some(a.int(cx, "seed", None, 0)? as u64),
                false => None,
            };
            Layer::Dropout { rate: rate?, seed }
        }
        "batchnorm" => {
            let momentum = a.f64(cx, "momentum", Some(0.99), Range::UnitHalfOpen);
            let epsilon = a.f64(cx, "epsilon", Some(1e-3), Range::Positive);
            Layer::BatchNorm {
                momentum: momentum?,
                epsilon: epsilon?,
            }
        }
        "leaky_relu" => Layer::Activation(Activation::LeakyRelu {
            alpha: a.f64(
                cx,
                "alpha",
                Some(LEAKY_RELU_LAYER_ALPHA),
                Range::NonNegative,
            )?,
        }),
        other => Layer::Activation(activation_of(other, LEAKY_RELU_LAYER_ALPHA)),
    })
}

/// `H×W×C`, as users read feature maps.
pub(crate) fn dims(shape: Shape) -> String {
    match shape {
        Shape::Flat(n) => format!("{n} features"),
        Shape::Image {
            channels,
            height,
            width,
        } => format!("{height}×{width}×{channels} feature map"),
    }
}

/// Output size of a window of `k` with `stride` over `n` (valid padding).
fn valid(n: usize, k: usize, stride: usize) -> Option<usize> {
    (n >= k).then(|| (n - k) / stride + 1)
}

/// Names, shapes and parameter counts, layer by layer. Stops at the first
/// shape error: later shapes would only repeat it.
fn infer(
    cx: &mut Context,
    layers: &[(Layer, String, Span)],
    input: Shape,
) -> Option<Vec<LayerPlan>> {
    let mut out = Vec::with_capacity(layers.len());
    let mut shape = input;
    let mut total = 0usize;
    if numel(input).is_none() {
        let span = layers.first().map(|(_, _, s)| *s)?;
        cx.error_hint(
            Kind::Shape,
            span,
            format!(
                "the data's samples ({}) have too many values to fit in memory",
                dims(input)
            ),
            Some("resize the images"),
        );
        return None;
    }
    for (layer, name, span) in layers {
        let kind = layer.kind();
        let fail = |cx: &mut Context, msg: String, hint: Option<&str>| {
            cx.error_hint(Kind::Shape, *span, msg, hint);
        };
        let (output, params, trainable) = match (layer, shape) {
            (Layer::Dense { units, .. }, Shape::Flat(n)) => {
                let p = values(&[n, *units]).and_then(|w| fits(w.checked_add(*units)?));
                let Some(p) = p else {
                    fail(cx, too_many("parameters", name), Some(TOO_MANY_HINT));
                    return None;
                };
                (Shape::Flat(*units), p, p)
            }
            (Layer::Dense { .. }, s @ Shape::Image { .. }) => {
                let d = dims(s);
                fail(
                    cx,
                    format!("dense after a {d}: add flatten"),
                    Some("or global_avgpool"),
                );
                return None;
            }
            (
                Layer::Conv2d {
                    filters,
                    kernel,
                    stride,
                    padding,
                    ..
                },
                Shape::Image {
                    channels,
                    height,
                    width,
                },
            ) => {
                let out = match padding {
                    Padding::Same => Some((height.div_ceil(*stride), width.div_ceil(*stride))),
                    Padding::Valid => {
                        valid(height, *kernel, *stride).zip(valid(width, *kernel, *stride))
                    }
                };
                let Some((h, w)) = out else {
                    fail(
                        cx,
                        format!("conv2d kernel {kernel} is larger than its {height}×{width} input"),
                        Some("use padding=same or a smaller kernel"),
                    );
                    return None;
                };
                let p = values(&[*kernel, *kernel, channels, *filters])
                    .and_then(|w| fits(w.checked_add(*filters)?));
                let Some(p) = p else {
                    fail(cx, too_many("parameters", name), Some(TOO_MANY_HINT));
                    return None;
                };
                (
                    Shape::Image {
                        channels: *filters,
                        height: h,
                        width: w,
                    },
                    p,
                    p,
                )
            }
            (
                Layer::MaxPool { size, stride } | Layer::AvgPool { size, stride },
                Shape::Image {
                    channels,
                    height,
                    width,
                },
            ) => {
                let Some((h, w)) = valid(height, *size, *stride).zip(valid(width, *size, *stride))
                else {
                    fail(
                        cx,
                        format!("{kind} {size} is larger than its {height}×{width} input"),
                        None,
                    );
                    return None;
                };
                (
                    Shape::Image {
                        channels,
                        height: h,
                        width: w,
                    },
                    0,
                    0,
                )
            }
            (Layer::GlobalAvgPool, Shape::Image { channels, .. }) => (Shape::Flat(channels), 0, 0),
            (
                Layer::Conv2d { .. }
                | Layer::MaxPool { .. }
                | Layer::AvgPool { .. }
                | Layer::GlobalAvgPool,
                s,
            ) => {
                fail(
                    cx,
                    format!("{kind} needs a feature map, but its input is {}", dims(s)),
                    None,
                );
                return None;
            }
            // The input's size was checked when it was produced.
            (Layer::Flatten, s) => (Shape::Flat(s.numel()), 0, 0),
            (Layer::BatchNorm { .. }, s) => {
                let c = match s {
                    Shape::Flat(n) => n,
                    Shape::Image { channels, .. } => channels,
                };
                // γ, β trainable; moving mean and variance not (4c ≤ the
                // input's size, which fits).
                (s, 4 * c, 2 * c)
            }
            (Layer::Dropout { .. } | Layer::Activation(_), s) => (s, 0, 0),
        };
        if numel(output).is_none() {
            fail(
                cx,
                too_many("output values per sample", name),
                Some(TOO_MANY_HINT),
            );
            return None;
        }
        total = match total.checked_add(params).and_then(fits) {
            Some(t) => t,
            None => {
                fail(
                    cx,
                    format!(
                        "with {name} the model has too many parameters to fit in memory (more than {} float32 values)",
                        thousands(MAX_VALUES)
                    ),
                    Some(TOO_MANY_HINT),
                );
                return None;
            }
        };
        out.push(LayerPlan {
            name: name.clone(),
            layer: layer.clone(),
            input: shape,
            output,
            params,
            trainable,
            loc: cx.loc(*span),
        });
        shape = output;
    }
    Some(out)
}

/// The most float32 values one tensor can hold: its size in bytes must
/// fit in an `isize`, the limit of every allocation in Rust (and candle).
/// A bigger layer could only overflow the size arithmetic or panic at the
/// allocation, so the analyzer refuses it at its line.
pub(crate) const MAX_VALUES: usize = isize::MAX as usize / 4;

const TOO_MANY_HINT: &str = "use fewer units or filters, or downsample first";

fn fits(n: usize) -> Option<usize> {
    (n <= MAX_VALUES).then_some(n)
}

/// The product of `dims`, if it fits.
fn values(dims: &[usize]) -> Option<usize> {
    dims.iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .and_then(fits)
}

/// The values in one sample of `shape`, if they fit.
fn numel(shape: Shape) -> Option<usize> {
    match shape {
        Shape::Flat(n) => fits(n),
        Shape::Image {
            channels,
            height,
            width,
        } => values(&[channels, height, width]),
    }
}

fn too_many(what: &str, layer: &str) -> String {
    format!(
        "{layer} has too many {what} to fit in memory (more than {} float32 values)",
        thousands(MAX_VALUES)
    )
}
