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
        "add" => "add",
        "concat" => "concatenate",
        _ => "activation",
    }
}

/// Nesting limit for `repeat`, merges and block uses, so a runaway file
/// cannot blow the stack.
const MAX_DEPTH: usize = 16;

/// At `depth` (the enclosing repeats, blocks and merges), whether one more
/// level would pass [`MAX_DEPTH`]; if so, the error at `span` says that
/// `what` ("repeat is", "blocks are") nested too deep.
pub(super) fn nested_too_deep(cx: &mut Context, depth: usize, span: Span, what: &str) -> bool {
    let deep = depth >= MAX_DEPTH;
    if deep {
        cx.error(
            Kind::Range,
            span,
            format!("{what} nested more than {MAX_DEPTH} deep"),
        );
    }
    deep
}

/// The most layers a model may expand to: a two-line file cannot ask for
/// a million.
pub(super) const MAX_LAYERS: usize = 10_000;

/// The most `repeat` passes and block uses one model may take (bodies
/// without layers included), so an empty nested `repeat` cannot spin.
const MAX_STEPS: usize = 1_000_000;

/// One expanded layer: its Keras name, statement span, the node ids it
/// reads (0: the input, `i + 1`: layer `i`) and, for a merge, its branches.
pub(super) struct Expanded {
    pub layer: Layer,
    pub name: String,
    pub span: Span,
    pub inputs: Vec<usize>,
    pub branches: Vec<super::graph::Branch>,
}

pub(super) struct Expander<'b> {
    pub layers: Vec<Expanded>,
    counts: BTreeMap<&'static str, usize>,
    /// The node the next layer reads.
    pub cur: usize,
    /// The model's named blocks.
    pub blocks: BTreeMap<String, super::graph::BlockDef<'b>>,
    /// The blocks being expanded, outermost first (a block may not use itself).
    pub calls: Vec<String>,
    /// The `repeat`s and block uses being expanded, outermost first: where
    /// the layer bound is reported.
    pub uses: Vec<(Span, String)>,
    steps: usize,
    /// Set once the bound was reported: expansion stops.
    pub overflow: bool,
}

impl Expander<'_> {
    /// The next Keras name for `stem` (`conv2d`, `conv2d_1`, …).
    pub(crate) fn name(&mut self, stem: &'static str) -> String {
        let n = self.counts.entry(stem).or_insert(0);
        let name = if *n == 0 {
            stem.to_string()
        } else {
            format!("{stem}_{n}")
        };
        *n += 1;
        name
    }

    /// Appends a layer reading `inputs`; it becomes the current node.
    pub(crate) fn push(&mut self, cx: &mut Context, e: Expanded) {
        if self.layers.len() >= MAX_LAYERS {
            let layers = thousands(MAX_LAYERS);
            self.stop(
                cx,
                e.span,
                format!("the model expands to more than {layers} layers"),
            );
            return;
        }
        self.layers.push(e);
        self.cur = self.layers.len();
    }

    /// Counts one `repeat` pass or block use; false (reported) past the bound.
    pub(crate) fn step(&mut self, cx: &mut Context, span: Span) -> bool {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            let n = thousands(MAX_STEPS);
            self.stop(
                cx,
                span,
                format!("the model takes more than {n} repeat passes and block uses"),
            );
        }
        !self.overflow
    }

    /// Reports the bound at the outermost `repeat` or block use (else at
    /// `span`) and stops the expansion.
    fn stop(&mut self, cx: &mut Context, span: Span, why: String) {
        if self.overflow {
            return;
        }
        self.overflow = true;
        let (at, what) = self.uses.first().cloned().unwrap_or((span, "this".into()));
        cx.error_hint(
            Kind::Range,
            at,
            format!("{what} makes too many layers: {why}"),
            Some("use fewer repeats or a smaller block"),
        );
    }
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
    let errors_before = cx.diags.len();
    let mut ex = Expander {
        layers: Vec::new(),
        counts: BTreeMap::new(),
        cur: 0,
        blocks: super::graph::definitions(cx, block),
        calls: Vec::new(),
        uses: Vec::new(),
        steps: 0,
        overflow: false,
    };
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
    let spans = ex.layers.iter().map(|e| e.span).collect();
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

pub(super) fn expand(cx: &mut Context, block: &[Statement], ex: &mut Expander, depth: usize) {
    for s in block {
        if ex.overflow {
            return;
        }
        if let Statement::Command(c) = s {
            let name = c.name.name.as_str();
            if name == "block" {
                if depth > 0 {
                    cx.error(
                        Kind::Misplaced,
                        c.name.span,
                        "block definitions go directly inside model { … }",
                    );
                }
                continue;
            }
            if ex.blocks.contains_key(name) {
                super::graph::call(cx, c, ex, depth);
                continue;
            }
        }
        for cmd in commands(cx, "model", std::slice::from_ref(s), false) {
            match cmd.name.name.as_str() {
                "repeat" => repeat(cx, cmd, ex, depth),
                "add" | "concat" => super::graph::merge(cx, cmd, ex, depth),
                "branch" => cx.error(
                    Kind::Misplaced,
                    cmd.name.span,
                    "branch { … } goes directly inside add { … } or concat { … }",
                ),
                other => {
                    let name = ex.name(stem_of(other));
                    if let Some(layer) = layer(cx, cmd, &name) {
                        let inputs = vec![ex.cur];
                        ex.push(
                            cx,
                            Expanded {
                                layer,
                                name,
                                span: cmd.span,
                                inputs,
                                branches: Vec::new(),
                            },
                        );
                    }
                }
            }
        }
    }
}

/// `repeat N { … }` (N times) or `repeat NAME=[…] NAME=[…] { … }` (once
/// per list position, binding `$NAME`).
fn repeat(cx: &mut Context, cmd: &Command, ex: &mut Expander, depth: usize) {
    let Some(body) = &cmd.block else {
        cx.error(
            Kind::Missing,
            cmd.name.span,
            "repeat needs a block: repeat N { … } or repeat NAME=[…] { … }",
        );
        return;
    };
    if nested_too_deep(cx, depth, cmd.name.span, "repeat is") {
        return;
    }
    let mut bindings: Vec<(String, Vec<super::value::Located>, Span)> = Vec::new();
    let mut count: Option<(usize, Span)> = None;
    let mut ok = true;
    for arg in &cmd.args {
        let Some(key) = &arg.key else {
            match cx.eval(&arg.value) {
                Some(r) => match r.v {
                    Resolved::Int(n) if n >= 1 && count.is_none() => {
                        count = Some((usize::try_from(n).unwrap_or(usize::MAX), r.span))
                    }
                    _ => {
                        cx.error(
                            Kind::Type,
                            arg.span,
                            "repeat takes one count (repeat 3 { … }) or NAME=[…] lists",
                        );
                        ok = false;
                    }
                },
                None => ok = false,
            }
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
    if let (Some((_, span)), false) = (count, bindings.is_empty()) {
        cx.error(
            Kind::Conflict,
            span,
            "repeat takes a count or NAME=[…] lists, not both",
        );
        return;
    }
    if bindings.is_empty() && count.is_none() {
        if ok {
            cx.error(
                Kind::Missing,
                cmd.name.span,
                "repeat needs a count or at least one NAME=[…] list",
            );
        }
        return;
    }
    let n = count.map_or_else(|| bindings[0].1.len(), |(n, _)| n);
    for (name, items, span) in bindings.iter().skip(1) {
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
    ex.uses.push((cmd.name.span, "this repeat".into()));
    for i in 0..n {
        if !ex.step(cx, cmd.name.span) {
            break;
        }
        cx.push_scope();
        for (name, items, _) in &bindings {
            cx.define(name, items[i].clone());
        }
        expand(cx, body, ex, depth + 1);
        cx.pop_scope();
    }
    ex.uses.pop();
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
            let use_bias = a.bool(cx, "use_bias", true);
            Layer::Conv2d {
                use_bias,
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
fn infer(cx: &mut Context, layers: &[Expanded], input: Shape) -> Option<Vec<LayerPlan>> {
    let mut out = Vec::with_capacity(layers.len());
    // The shape of every node: 0 the input, i + 1 layer i's output.
    let mut shapes = vec![input];
    let mut total = 0usize;
    if numel(input).is_none() {
        let span = layers.first().map(|e| e.span)?;
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
    for (index, e) in layers.iter().enumerate() {
        let (layer, name, span) = (&e.layer, &e.name, &e.span);
        let shape = shapes[e.inputs.first().copied().unwrap_or(0)];
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
                    use_bias,
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
                let bias = if *use_bias { *filters } else { 0 };
                let p = values(&[*kernel, *kernel, channels, *filters])
                    .and_then(|w| fits(w.checked_add(bias)?));
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
            (Layer::Add | Layer::Concat, _) => {
                let ins: Vec<Shape> = e.inputs.iter().map(|&i| shapes[i]).collect();
                (merged(cx, e, &ins)?, 0, 0)
            }
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
            // A stack layer reads the layer before it: left implicit.
            inputs: if e.inputs == [index] {
                Vec::new()
            } else {
                e.inputs.clone()
            },
        });
        shapes.push(output);
    }
    Some(out)
}

/// The output of a merge of `ins`, or the error at its line naming the
/// branches whose shapes disagree.
fn merged(cx: &mut Context, e: &Expanded, ins: &[Shape]) -> Option<Shape> {
    let first = *ins.first()?;
    let kind = e.layer.kind();
    let fits = |s: &Shape| match (first, *s) {
        _ if kind == "add" => *s == first,
        (
            Shape::Image {
                height: h,
                width: w,
                ..
            },
            Shape::Image { height, width, .. },
        ) => h == height && w == width,
        (Shape::Flat(_), Shape::Flat(_)) => true,
        _ => false,
    };
    if let Some(bad) = ins.iter().position(|s| !fits(s)) {
        let name = |i: usize| {
            let b = e.branches.get(i).copied();
            b.map_or_else(
                || format!("input {}", i + 1),
                |b| super::graph::describe_branch(cx, i, &b),
            )
        };
        let need = if kind == "add" {
            "branches of one shape"
        } else {
            "branches of one height and width (feature maps) or vectors"
        };
        let msg = format!(
            "{kind} needs {need}, but {} gives {} and {} gives {}",
            name(0),
            first,
            name(bad),
            ins[bad]
        );
        let hint = if kind == "add" {
            "a projection shortcut makes them match: branch { conv2d FILTERS kernel=1 stride=S }"
        } else {
            "pool or stride the branches to one size"
        };
        cx.error_hint(Kind::Shape, e.span, msg, Some(hint));
        return None;
    }
    Some(match first {
        _ if kind == "add" => first,
        Shape::Flat(_) => Shape::Flat(ins.iter().map(Shape::numel).sum()),
        Shape::Image { height, width, .. } => Shape::Image {
            channels: ins
                .iter()
                .map(|s| match s {
                    Shape::Image { channels, .. } => *channels,
                    Shape::Flat(n) => *n,
                })
                .sum(),
            height,
            width,
        },
    })
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
