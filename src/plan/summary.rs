//! Human-readable views of a plan: the Keras-style model summary and the
//! resolved plan with every default marked, as `dlp plan` prints them.

use super::*;
use std::fmt::Write;

/// `1234567` → `1,234,567`, as Keras prints parameter counts.
pub(crate) fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A number as a user would write it: `0.001`, `1e-7`, `32`.
pub(crate) fn written_num(x: f64) -> String {
    if x != 0.0 && x.abs() < 1e-3 {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// Keras' class name for a layer (the "(type)" column).
pub(crate) fn keras_type(layer: &Layer) -> &'static str {
    match layer {
        Layer::Dense { .. } => "Dense",
        Layer::Conv2d { .. } => "Conv2D",
        Layer::MaxPool { .. } => "MaxPooling2D",
        Layer::AvgPool { .. } => "AveragePooling2D",
        Layer::GlobalAvgPool => "GlobalAveragePooling2D",
        Layer::Flatten => "Flatten",
        Layer::Dropout { .. } => "Dropout",
        Layer::BatchNorm { .. } => "BatchNormalization",
        Layer::Activation(Activation::Relu) => "ReLU",
        Layer::Activation(Activation::LeakyRelu { .. }) => "LeakyReLU",
        Layer::Activation(_) => "Activation",
        Layer::Add => "Add",
        Layer::Concat => "Concatenate",
    }
}

/// Keras' "Connected to" cell of layer `index` of a graph model:
/// `conv2d_1[0][0]`, the input as `input_layer[0][0]`.
fn connected_to(m: &super::ModelPlan, index: usize) -> String {
    m.sources(index)
        .iter()
        .map(|&id| match id {
            0 => "input_layer[0][0]".to_string(),
            id => format!("{}[0][0]", m.node_name(id)),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The Keras-style table (layer (type), output shape, params) and totals;
/// a graph model adds Keras' functional column, "Connected to".
pub fn summary(plan: &Plan) -> String {
    let m = &plan.model;
    let graph = m.is_graph();
    let mut rows: Vec<(String, String, String)> = m
        .layers
        .iter()
        .map(|l| {
            (
                format!("{} ({})", l.name, keras_type(&l.layer)),
                l.output.to_string(),
                thousands(l.params),
            )
        })
        .collect();
    let mut links: Vec<String> = (0..m.layers.len()).map(|i| connected_to(m, i)).collect();
    if graph {
        rows.insert(
            0,
            (
                "input_layer (InputLayer)".into(),
                m.input.to_string(),
                "0".into(),
            ),
        );
        links.insert(0, "-".into());
    }
    let w0 = rows
        .iter()
        .map(|r| r.0.chars().count())
        .max()
        .unwrap_or(0)
        .max(27)
        + 2;
    let w1 = rows.iter().map(|r| r.1.len()).max().unwrap_or(0).max(24) + 2;
    let w2 = rows.iter().map(|r| r.2.len()).max().unwrap_or(0).max(7);
    let w3 = match graph {
        true => links.iter().map(|l| l.len()).max().unwrap_or(0).max(12) + 2,
        false => 0,
    };
    let width = 1 + w0 + w1 + w2 + w3;
    let mut s = String::new();
    let _ = writeln!(s, "Model: \"{}\"", plan.name);
    let _ = writeln!(s, "Input: {}", m.input);
    let _ = writeln!(s, "{}", "_".repeat(width));
    let head = format!(
        " {:<w0$}{:<w1$}{:>w2$}",
        "Layer (type)", "Output Shape", "Param #"
    );
    let _ = match graph {
        true => writeln!(s, "{head}  Connected to"),
        false => writeln!(s, "{head}"),
    };
    let _ = writeln!(s, "{}", "=".repeat(width));
    for (i, (a, b, c)) in rows.iter().enumerate() {
        let pad = w0 - a.chars().count();
        let row = format!(" {a}{}{b:<w1$}{c:>w2$}", " ".repeat(pad));
        let _ = match graph {
            true => writeln!(s, "{row}  {}", links[i]),
            false => writeln!(s, "{row}"),
        };
        if i + 1 < rows.len() {
            let _ = writeln!(s);
        }
    }
    let _ = writeln!(s, "{}", "=".repeat(width));
    let total = m.total_params();
    let trainable = m.trainable_params();
    let _ = writeln!(s, "Total params: {}", thousands(total));
    let _ = writeln!(s, "Trainable params: {}", thousands(trainable));
    let _ = writeln!(s, "Non-trainable params: {}", thousands(total - trainable));
    transfer_summary(&mut s, plan);
    let _ = writeln!(s, "{}", "_".repeat(width));
    s
}

/// Under the totals: the layers a `transfer` section loads and freezes
/// (Keras' `show_trainable` column, as lines).
fn transfer_summary(s: &mut String, plan: &Plan) {
    let Some(t) = &plan.transfer else { return };
    let list = |v: &[String]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    let pairs: Vec<String> = t
        .layers
        .iter()
        .zip(&t.sources)
        .map(|(l, src)| {
            if l == src {
                l.clone()
            } else {
                format!("{l} ← {src}")
            }
        })
        .collect();
    let _ = writeln!(s, "Loaded from {}: {}", t.from.display(), list(&pairs));
    let frozen: usize = plan
        .model
        .layers
        .iter()
        .filter(|l| t.freeze.contains(&l.name))
        .map(|l| l.params)
        .sum();
    let _ = writeln!(
        s,
        "Frozen (trainable=False): {} ({} params)",
        list(&t.freeze),
        thousands(frozen)
    );
    if let Some(u) = t.unfreeze {
        let _ = writeln!(
            s,
            "Unfrozen after epoch {}: every layer trains, lr × {} (trainable params then {})",
            u.after,
            written_num(u.factor),
            thousands(plan.model.layers.iter().map(trainable_when_thawed).sum())
        );
    }
}

/// A layer's trainable parameters when not frozen: batch norm's moving
/// statistics never train.
fn trainable_when_thawed(l: &super::LayerPlan) -> usize {
    match l.layer {
        Layer::BatchNorm { .. } => l.params / 2,
        _ => l.params,
    }
}

/// Writes `key=value`, marked when `path` was defaulted.
struct Line<'a> {
    plan: &'a Plan,
    parts: Vec<String>,
}

impl<'a> Line<'a> {
    fn new(plan: &'a Plan, head: impl Into<String>) -> Self {
        Line {
            plan,
            parts: vec![head.into()],
        }
    }
    fn kv(mut self, path: &str, key: &str, value: impl std::fmt::Display) -> Self {
        let mark = if self.plan.defaults.contains(path) {
            " (default)"
        } else {
            ""
        };
        self.parts.push(format!("{key}={value}{mark}"));
        self
    }
    fn text(mut self, t: impl Into<String>) -> Self {
        let t = t.into();
        if !t.is_empty() {
            self.parts.push(t);
        }
        self
    }
    fn done(self, out: &mut String, indent: usize) {
        let _ = writeln!(out, "{}{}", " ".repeat(indent), self.parts.join(" "));
    }
}

fn size(s: SplitSize) -> String {
    match s {
        SplitSize::Count(n) => n.to_string(),
        SplitSize::Fraction(f) => written_num(f),
    }
}

fn activation(a: Activation) -> String {
    match a {
        Activation::Linear => "linear".into(),
        Activation::Relu => "relu".into(),
        Activation::LeakyRelu { alpha } => format!("leaky_relu(alpha={})", written_num(alpha)),
        Activation::Sigmoid => "sigmoid".into(),
        Activation::Tanh => "tanh".into(),
        Activation::Softmax => "softmax".into(),
    }
}

/// Where the test weights come from, in words.
fn test_weights(plan: &Plan) -> String {
    let t = &plan.train;
    match plan.test_weights() {
        TestWeights::Last => "the weights after the last epoch".into(),
        TestWeights::RestoredBest => {
            let monitor = t.early_stop.as_ref().map_or("", |e| e.monitor.as_str());
            let mut s = format!("early stopping's best epoch by {monitor} (restore_best=true)");
            if let Some(c) = t.checkpoint.as_ref().filter(|c| c.best_only) {
                s.push_str(&format!(
                    "; it wins over checkpoint best_only, whose best epoch by {} is in best.safetensors",
                    c.monitor
                ));
            }
            s
        }
        TestWeights::CheckpointBest => {
            let monitor = t.checkpoint.as_ref().map_or("", |c| c.monitor.as_str());
            format!("best.safetensors, the checkpoint's best epoch by {monitor}")
        }
    }
}

fn mode(m: Mode) -> &'static str {
    match m {
        Mode::Min => "min",
        Mode::Max => "max",
    }
}

fn value(v: &Value) -> String {
    match v {
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => written_num(*f),
        Value::Str(s) => s.clone(),
        Value::List(items) => format!(
            "[{}]",
            items.iter().map(value).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// The resolved plan, one statement per line, defaults marked `(default)`:
/// one function per section, in the order of the file.
pub fn describe(plan: &Plan) -> String {
    let mut s = String::new();
    describe_header(&mut s, plan);
    describe_data(&mut s, plan);
    describe_preprocess(&mut s, plan);
    describe_augment(&mut s, plan);
    describe_model(&mut s, plan);
    describe_transfer(&mut s, plan);
    describe_train(&mut s, plan);
    describe_evaluate(&mut s, plan);
    describe_diagnose(&mut s, plan);
    describe_expect(&mut s, plan);
    describe_sweep(&mut s, plan);
    s
}

/// The pipeline's name, seed and variables.
fn describe_header(s: &mut String, plan: &Plan) {
    let d = |p: &str| default_mark(plan, p);
    let _ = writeln!(s, "Pipeline \"{}\" ({})", plan.name, plan.path.display());
    let _ = writeln!(s, "seed {}{}", plan.seed, d("seed"));
    for (k, v) in &plan.vars {
        let _ = writeln!(s, "let {k} = {}", value(v));
    }
}

/// `data`: the source, the split and the input shape.
fn describe_data(s: &mut String, plan: &Plan) {
    let _ = writeln!(s, "\ndata");
    let src = match &plan.data.source {
        Source::Builtin(b) => Line::new(plan, format!("source {}", b.name())),
        Source::Blobs {
            samples,
            centers,
            features,
            std,
            seed,
            generator,
        } => Line::new(plan, "source blobs")
            .kv("data.source.samples", "samples", samples)
            .kv("data.source.centers", "centers", centers)
            .kv("data.source.features", "features", features)
            .kv("data.source.std", "std", written_num(*std))
            .kv("data.source.seed", "seed", seed)
            .kv("data.source.generator", "generator", generator.name()),
        Source::Csv { path, label } => Line::new(
            plan,
            format!("source csv \"{}\"", path.display()),
        )
        .kv("data.source.label", "label", label),
        Source::Images { path } => Line::new(plan, format!("source images \"{}\"", path.display())),
        Source::Idx {
            images,
            labels,
            test_images,
            test_labels,
        } => {
            let mut l = Line::new(plan, "source idx")
                .text(format!("images=\"{}\"", images.display()))
                .text(format!("labels=\"{}\"", labels.display()));
            if let (Some(ti), Some(tl)) = (test_images, test_labels) {
                l = l
                    .text(format!("test_images=\"{}\"", ti.display()))
                    .text(format!("test_labels=\"{}\"", tl.display()));
            }
            l
        }
    };
    src.done(s, 2);
    let sp = &plan.data.split;
    let mut l = Line::new(plan, "split").text(format!("train={}", size(sp.train)));
    if let Some(v) = sp.valid {
        l = l.text(format!("valid={}", size(v)));
    }
    l = match sp.test {
        TestSplit::Size(t) => l.text(format!("test={}", size(t))),
        TestSplit::Official => l.text("test=official"),
        TestSplit::None => l.text("test=none"),
    };
    l.kv("data.split.stratify", "stratify", sp.stratify)
        .kv("data.split.shuffle", "shuffle", sp.shuffle)
        .kv(
            "data.split.validate_on",
            "validate_on",
            if sp.validate_on_test { "test" } else { "valid" },
        )
        .text(format!("seed={}", sp.seed))
        .done(s, 2);
    let _ = writeln!(s, "  input {}", plan.model.input);
}

/// `preprocess`, when there is any.
fn describe_preprocess(s: &mut String, plan: &Plan) {
    let d = |p: &str| default_mark(plan, p);
    if !plan.preprocess.is_empty() {
        let _ = writeln!(s, "\npreprocess (statistics from the train split)");
        for p in &plan.preprocess {
            let text = match p {
                Preprocess::Grayscale => "grayscale".to_string(),
                Preprocess::Rgb => "rgb".to_string(),
                Preprocess::Resize { height, width } => format!("resize {height} {width}"),
                Preprocess::Scale { factor } => format!("scale {}", written_num(*factor)),
                // The scope as run.yaml's statistics name it: a table's
                // columns each, an image's channels each, or one for all.
                Preprocess::Normalize { per_channel } => format!(
                    "normalize mean_std per_channel={per_channel}{} scope {}: (x - mean) / (std + 1e-7)",
                    d("preprocess.normalize.per_channel"),
                    match (plan.model.input, per_channel) {
                        (Shape::Flat(_), _) => "per_feature",
                        (_, true) => "per_channel",
                        (_, false) => "global",
                    }
                ),
                Preprocess::OneHot => "one_hot".to_string(),
            };
            let _ = writeln!(s, "  {text}");
        }
    }
}

/// `augment`, when there is any.
fn describe_augment(s: &mut String, plan: &Plan) {
    let d = |p: &str| default_mark(plan, p);
    let a = &plan.augment;
    if !a.is_empty() {
        let _ = writeln!(s, "\naugment (training batches only, seed={})", a.seed);
        if let Some(r) = a.rotate {
            let _ = writeln!(s, "  rotate ±{}°", written_num(r));
        }
        if let Some((w, h)) = a.shift {
            let _ = writeln!(
                s,
                "  shift width=±{} height=±{}",
                written_num(w),
                written_num(h)
            );
        }
        if let Some(z) = a.zoom {
            let _ = writeln!(
                s,
                "  zoom [{}, {}]",
                written_num(1.0 - z),
                written_num(1.0 + z)
            );
        }
        if let Some(f) = a.fill {
            let f = format!("{f:?}").to_lowercase();
            let _ = writeln!(s, "  fill={f}{} (bilinear)", d("augment.fill"));
        }
        if let Some(f) = a.flip {
            let _ = writeln!(s, "  flip {} (p=0.5)", format!("{f:?}").to_lowercase());
        }
        if let Some((lo, hi)) = a.brightness {
            let _ = writeln!(s, "  brightness [{}, {}]", written_num(lo), written_num(hi));
        }
        if let Some((size, pad)) = a.crop {
            let _ = writeln!(s, "  crop {size} padding={pad}");
        }
    }
}

/// `model`: the initialisers and every layer with its parameters.
fn describe_model(s: &mut String, plan: &Plan) {
    let m = &plan.model;
    let _ = writeln!(
        s,
        "\nmodel (init seed={}, dropout seed={})",
        m.init_seed, m.dropout_seed
    );
    let _ = writeln!(
        s,
        "  kernel_initializer=glorot_uniform (default) bias_initializer=zeros (default)"
    );
    let name_width = m.layers.iter().map(|l| l.name.len()).max().unwrap_or(0);
    for (i, l) in m.layers.iter().enumerate() {
        let p = |k: &str| format!("model.{}.{k}", l.name);
        let line = Line::new(plan, format!("{:<name_width$}", l.name));
        let line = match &l.layer {
            Layer::Dense {
                units,
                activation: act,
                l2,
            } => line
                .text(format!("dense {units}"))
                .kv(&p("activation"), "activation", activation(*act))
                .kv(&p("l2"), "l2", written_num(*l2)),
            Layer::Conv2d {
                filters,
                kernel,
                stride,
                padding,
                activation: act,
                l2,
                use_bias,
            } => line
                .text(format!("conv2d {filters}"))
                .kv(&p("kernel"), "kernel", kernel)
                .kv(&p("stride"), "stride", stride)
                .kv(
                    &p("padding"),
                    "padding",
                    format!("{padding:?}").to_lowercase(),
                )
                .kv(&p("activation"), "activation", activation(*act))
                .kv(&p("l2"), "l2", written_num(*l2))
                .text(if *use_bias { "" } else { "use_bias=false" }),
            Layer::MaxPool { size, stride } | Layer::AvgPool { size, stride } => line
                .text(format!("{} {size}", l.layer.kind()))
                .kv(&p("stride"), "stride", stride)
                .text("padding=valid"),
            Layer::Dropout { rate, seed } => {
                let line = line.text(format!("dropout {}", written_num(*rate)));
                match seed {
                    Some(s) => line.text(format!("seed={s}")),
                    None => line.text(format!("seed={} (model dropout stream)", m.dropout_seed)),
                }
            }
            Layer::BatchNorm { momentum, epsilon } => line
                .text("batchnorm")
                .kv(&p("momentum"), "momentum", written_num(*momentum))
                .kv(&p("epsilon"), "epsilon", written_num(*epsilon)),
            Layer::Activation(Activation::LeakyRelu { alpha }) => {
                line.text("leaky_relu")
                    .kv(&p("alpha"), "alpha", written_num(*alpha))
            }
            Layer::Add | Layer::Concat => line.text(format!(
                "{} of {}",
                l.layer.kind(),
                connected_to(m, i).replace("[0][0]", "")
            )),
            other => line.text(other.kind()),
        };
        line.done(s, 2);
    }
}

/// `transfer`: the source run, the layers loaded and frozen.
fn describe_transfer(s: &mut String, plan: &Plan) {
    let Some(t) = &plan.transfer else { return };
    let _ = writeln!(s, "\ntransfer");
    let layers = Line::new(plan, format!("from \"{}\"", t.from.display())).kv(
        "transfer.from.layers",
        "layers",
        format!("[{}]", t.layers.join(", ")),
    );
    layers.done(s, 2);
    if !t.freeze.is_empty() {
        let _ = writeln!(s, "  freeze [{}]", t.freeze.join(", "));
    }
    if let Some(u) = t.unfreeze {
        let _ = writeln!(
            s,
            "  unfreeze after={} factor={}",
            u.after,
            written_num(u.factor)
        );
    }
}

/// `train`: loss, optimizer, schedule, batches, epochs, stopping.
fn describe_train(s: &mut String, plan: &Plan) {
    let d = |p: &str| default_mark(plan, p);
    let t = &plan.train;
    let _ = writeln!(s, "\ntrain");
    let loss = match t.loss {
        Loss::CrossEntropy => "cross_entropy",
        Loss::BinaryCrossEntropy => "binary_cross_entropy",
        Loss::Mse => "mse",
    };
    if t.label_smoothing > 0.0 {
        let _ = writeln!(
            s,
            "  loss {loss} label_smoothing={}",
            written_num(t.label_smoothing)
        );
    } else {
        let _ = writeln!(s, "  loss {loss}");
    }
    let o = "train.optimizer";
    let k = |n: &str| format!("{o}.{n}");
    let line = Line::new(plan, "optimizer");
    let line = match t.optimizer.kind {
        Optimizer::Sgd {
            lr,
            momentum,
            nesterov,
            weight_decay,
        } => line
            .text(format!("sgd{}", d(&k("kind"))))
            .kv(&k("lr"), "lr", written_num(lr))
            .kv(&k("momentum"), "momentum", written_num(momentum))
            .kv(&k("nesterov"), "nesterov", nesterov)
            .kv(
                &k("weight_decay"),
                "weight_decay",
                written_num(weight_decay),
            ),
        Optimizer::Adam {
            lr,
            beta1,
            beta2,
            epsilon,
        } => line
            .text(format!("adam{}", d(&k("kind"))))
            .kv(&k("lr"), "lr", written_num(lr))
            .kv(&k("beta1"), "beta1", written_num(beta1))
            .kv(&k("beta2"), "beta2", written_num(beta2))
            .kv(&k("epsilon"), "epsilon", written_num(epsilon)),
        Optimizer::AdamW {
            lr,
            beta1,
            beta2,
            epsilon,
            weight_decay,
        } => line
            .text(format!("adamw{}", d(&k("kind"))))
            .kv(&k("lr"), "lr", written_num(lr))
            .kv(&k("beta1"), "beta1", written_num(beta1))
            .kv(&k("beta2"), "beta2", written_num(beta2))
            .kv(&k("epsilon"), "epsilon", written_num(epsilon))
            .kv(
                &k("weight_decay"),
                "weight_decay",
                written_num(weight_decay),
            ),
        Optimizer::RmsProp {
            lr,
            rho,
            momentum,
            epsilon,
        } => line
            .text(format!("rmsprop{}", d(&k("kind"))))
            .kv(&k("lr"), "lr", written_num(lr))
            .kv(&k("rho"), "rho", written_num(rho))
            .kv(&k("momentum"), "momentum", written_num(momentum))
            .kv(&k("epsilon"), "epsilon", written_num(epsilon)),
        Optimizer::Adagrad {
            lr,
            initial_accumulator,
            epsilon,
        } => line
            .text(format!("adagrad{}", d(&k("kind"))))
            .kv(&k("lr"), "lr", written_num(lr))
            .kv(
                &k("initial_accumulator"),
                "initial_accumulator",
                written_num(initial_accumulator),
            )
            .kv(&k("epsilon"), "epsilon", written_num(epsilon)),
    };
    let line = line.kv(&k("decay"), "decay", written_num(t.optimizer.decay));
    let line = match t.optimizer.clip_norm {
        Some(c) => line.text(format!("clip_norm={}", written_num(c))),
        None => line.text("clip_norm=none (default)"),
    };
    line.done(s, 2);
    let sched = match &t.schedule.kind {
        Schedule::Constant => format!("constant{}", d("train.schedule.kind")),
        Schedule::Step { every, factor } => {
            format!("step every={every} factor={}", written_num(*factor))
        }
        Schedule::Milestones { at, factor } => {
            let at: Vec<String> = at.iter().map(usize::to_string).collect();
            format!(
                "milestones at=[{}] factor={}",
                at.join(", "),
                written_num(*factor)
            )
        }
        Schedule::Exponential { every, factor } => {
            format!("exponential every={every} factor={}", written_num(*factor))
        }
        Schedule::Cosine { min } => format!(
            "cosine min={}{}",
            written_num(*min),
            d("train.schedule.min")
        ),
        Schedule::Linear { to } => {
            format!("linear to={}{}", written_num(*to), d("train.schedule.to"))
        }
        Schedule::Plateau {
            monitor,
            mode: md,
            factor,
            patience,
            min_delta,
            min_lr,
        } => Line::new(plan, "plateau")
            .kv("train.schedule.monitor", "monitor", monitor)
            .kv("train.schedule.mode", "mode", mode(*md))
            .kv("train.schedule.factor", "factor", written_num(*factor))
            .kv("train.schedule.patience", "patience", patience)
            .kv(
                "train.schedule.min_delta",
                "min_delta",
                written_num(*min_delta),
            )
            .kv("train.schedule.min_lr", "min_lr", written_num(*min_lr))
            .parts
            .join(" "),
    };
    let line = Line::new(plan, format!("schedule {sched}")).kv(
        "train.schedule.warmup",
        "warmup",
        t.schedule.warmup,
    );
    match t.schedule.warmup_lr {
        Some(r) => line.text(format!("warmup_lr={}", written_num(r))),
        None => line,
    }
    .done(s, 2);
    let batch = match t.batch {
        BatchSize::Size(n) => n.to_string(),
        BatchSize::All => "all".into(),
    };
    Line::new(plan, format!("batch {batch}{}", d("train.batch.size")))
        .kv("train.batch.drop_last", "drop_last", t.drop_last)
        .text("shuffle=every epoch")
        .text(format!("seed={}", t.shuffle_seed))
        .done(s, 2);
    let _ = writeln!(s, "  epochs {}", t.epochs);
    match &t.early_stop {
        Some(e) => Line::new(plan, "early_stop")
            .kv("train.early_stop.monitor", "monitor", &e.monitor)
            .kv("train.early_stop.mode", "mode", mode(e.mode))
            .kv(
                "train.early_stop.min_delta",
                "min_delta",
                written_num(e.min_delta),
            )
            .kv("train.early_stop.patience", "patience", e.patience)
            .kv(
                "train.early_stop.restore_best",
                "restore_best",
                e.restore_best,
            )
            .done(s, 2),
        None => {
            let _ = writeln!(s, "  early_stop none (default)");
        }
    }
    match &t.checkpoint {
        Some(c) => Line::new(plan, "checkpoint")
            .kv("train.checkpoint.monitor", "monitor", &c.monitor)
            .kv("train.checkpoint.mode", "mode", mode(c.mode))
            .kv("train.checkpoint.best_only", "best_only", c.best_only)
            .done(s, 2),
        None => {
            let _ = writeln!(s, "  checkpoint none (default)");
        }
    }
    match &t.class_weight {
        Some(ClassWeight::Balanced) => {
            let _ = writeln!(s, "  class_weight balanced");
        }
        Some(ClassWeight::List(ws)) => {
            let ws: Vec<String> = ws.iter().map(|w| written_num(*w)).collect();
            let _ = writeln!(s, "  class_weight [{}]", ws.join(", "));
        }
        None => {
            let _ = writeln!(s, "  class_weight none (default)");
        }
    }
    let dev = match t.device {
        DeviceSpec::Auto => "auto".to_string(),
        DeviceSpec::Cpu => "cpu".to_string(),
        DeviceSpec::Cuda(n) => format!("cuda:{n}"),
    };
    let _ = writeln!(s, "  device {dev}{}", d("train.device"));
}

/// `evaluate`: the metrics and the weights the test split sees.
fn describe_evaluate(s: &mut String, plan: &Plan) {
    let d = |p: &str| default_mark(plan, p);
    let e = &plan.evaluate;
    let _ = writeln!(s, "\nevaluate");
    let metrics: Vec<String> = e
        .metrics
        .iter()
        .map(|m| format!("{m:?}").to_lowercase())
        .collect();
    let mut l = Line::new(
        plan,
        format!("metrics {}{}", metrics.join(" "), d("evaluate.metrics")),
    );
    if let Some(k) = e.top_k {
        l = l.text(format!("top_k={k}"));
    }
    l.kv(
        "evaluate.weights",
        "weights",
        format!("{:?}", e.weights).to_lowercase(),
    )
    .done(s, 2);
    let _ = writeln!(s, "  the test split sees {}", test_weights(plan));
}

/// `diagnose`, when there is one.
fn describe_diagnose(s: &mut String, plan: &Plan) {
    if let Some(dg) = &plan.diagnose {
        let _ = writeln!(s, "\ndiagnose");
        Line::new(plan, format!("human_error {}", written_num(dg.human_error)))
            .kv(
                "diagnose.human_error.tolerance",
                "tolerance",
                written_num(dg.tolerance),
            )
            .done(s, 2);
    }
}

/// `expect`, when there is one.
fn describe_expect(s: &mut String, plan: &Plan) {
    if !plan.expect.is_empty() {
        let _ = writeln!(s, "\nexpect");
        for x in &plan.expect {
            let _ = writeln!(
                s,
                "  {} {} {}",
                x.metric,
                x.op.symbol(),
                written_num(x.value)
            );
        }
    }
}

/// `sweep`, when there is one, with the trials it will run.
fn describe_sweep(s: &mut String, plan: &Plan) {
    if let Some(sw) = &plan.sweep {
        let head = match sw.kind {
            SweepKind::Grid => "sweep grid".to_string(),
            SweepKind::Random { trials, seed } => {
                format!("sweep random trials={trials} seed={seed}")
            }
        };
        let _ = writeln!(s, "\n{head}");
        let mut l = Line::new(plan, "ranked by")
            .kv("sweep.monitor", "monitor", &sw.monitor)
            .kv("sweep.goal", "goal", mode(sw.goal));
        l = match sw.prune {
            None => l.text("prune=none (default)"),
            Some(Prune::Median { warmup, startup }) => l
                .text("prune=median")
                .kv("sweep.warmup", "warmup", warmup)
                .kv("sweep.startup", "startup", startup),
        };
        l.done(s, 2);
        for ax in &sw.axes {
            let vals = match &ax.values {
                SweepValues::List(vs) => {
                    format!("[{}]", vs.iter().map(value).collect::<Vec<_>>().join(", "))
                }
                SweepValues::Uniform { low, high } => {
                    format!("uniform({}, {})", written_num(*low), written_num(*high))
                }
                SweepValues::LogUniform { low, high } => {
                    format!("loguniform({}, {})", written_num(*low), written_num(*high))
                }
            };
            let _ = writeln!(s, "  {} = {vals}", ax.target);
        }
        trial_list(s, sw);
    }
}

/// " (default)" after a value the pipeline left to its default.
fn default_mark(plan: &Plan, path: &str) -> &'static str {
    if plan.defaults.contains(path) {
        " (default)"
    } else {
        ""
    }
}

/// The trials a sweep will run, with their values (and seeds), as `dlp
/// run` will number them.
fn trial_list(s: &mut String, sw: &SweepPlan) {
    let trials = match crate::plan::trials::trials(sw) {
        Ok(t) => t,
        Err(e) => {
            let _ = writeln!(s, "  no trials: {e}");
            return;
        }
    };
    let n = trials.len();
    let _ = writeln!(
        s,
        "  {n} trial{}, each a run into its folder:",
        if n == 1 { "" } else { "s" }
    );
    for (i, t) in trials.iter().enumerate() {
        let mut words: Vec<String> = t.iter().map(|(k, v)| format!("{k}={}", value(v))).collect();
        if let SweepKind::Random { seed, .. } = sw.kind {
            words.push(format!("seed={}", crate::plan::trials::trial_seed(seed, i)));
        }
        let _ = writeln!(
            s,
            "    {}  {}",
            crate::plan::trials::trial_name(i, n),
            words.join(" ")
        );
    }
}
