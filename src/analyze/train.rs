//! The `train` section: loss, optimizer (Keras defaults), schedule, batch,
//! epochs, early stopping, checkpoints, class weights and device.

use super::args::{Args, Range};
use super::block::commands;
use super::context::Context;
use super::data::bind;
use super::schema;
use super::value::Resolved;
use crate::diagnostics::Kind;
use crate::plan::{
    BatchSize, CheckpointPlan, ClassWeight, DeviceSpec, EarlyStopPlan, Loss, Mode, Optimizer,
    OptimizerPlan, Schedule, SchedulePlan, TrainPlan,
};
use crate::rng::{Stream, stream_seed};
use crate::syntax::{Arg, Command, Ident, Span, Statement, Value, ValueKind};

/// A monitored metric name and where it was written, checked once the
/// split and the class count are known.
pub(crate) struct Monitor {
    pub name: String,
    pub span: Span,
    pub what: &'static str,
}

pub(crate) struct TrainOut {
    /// `None` when a statement was invalid (already reported).
    pub plan: Option<TrainPlan>,
    pub monitors: Vec<Monitor>,
    /// Span of `class_weight`'s list, to check its length against the classes.
    pub class_weight_span: Span,
}

/// A statement the user did not write, standing for its defaults.
pub(super) fn synthetic(name: &str, kind: &str, at: Span) -> Command {
    Command {
        name: Ident {
            name: name.into(),
            span: at,
        },
        args: vec![Arg {
            key: None,
            value: Value {
                kind: ValueKind::Word(kind.into()),
                span: at,
            },
            span: at,
        }],
        block: None,
        span: at,
    }
}

fn mode(cx: &mut Context, a: &Args, monitor: &str) -> Mode {
    if a.has("mode") {
        match a.choice(cx, "mode", schema::MODES, None).as_deref() {
            Some("max") => Mode::Max,
            Some(_) => Mode::Min,
            None => Mode::for_metric(monitor),
        }
    } else {
        cx.mark_default(format!("{}.mode", a.prefix));
        Mode::for_metric(monitor)
    }
}

fn monitor(cx: &mut Context, a: &Args, what: &'static str, monitors: &mut Vec<Monitor>) -> String {
    let name = match a.get("monitor") {
        None => {
            cx.mark_default(format!("{}.monitor", a.prefix));
            "val_loss".to_string()
        }
        Some(r) => match r.as_text() {
            Some(t) => t.to_string(),
            None => {
                cx.error(
                    Kind::Type,
                    r.span,
                    format!(
                        "{} monitor must be a metric name, got {}",
                        a.stmt,
                        r.describe()
                    ),
                );
                "val_loss".to_string()
            }
        },
    };
    monitors.push(Monitor {
        name: name.clone(),
        span: a.span("monitor"),
        what,
    });
    name
}

/// `seed` is the root of the training streams: `train seed=`, else the
/// pipeline seed.
pub(crate) fn train(cx: &mut Context, head: &Args, block: &[Statement], seed: u64) -> TrainOut {
    let cmds = commands(cx, "train", block, true);
    let find = |n: &str| cmds.iter().copied().find(|c| c.name.name == n);
    let mut monitors = Vec::new();

    let (loss, label_smoothing) = match find("loss") {
        None => {
            cx.error_hint(
                Kind::Missing,
                head.name_span,
                "train has no loss",
                Some("add e.g. `loss cross_entropy`"),
            );
            (None, Some(0.0))
        }
        Some(c) => {
            let a = bind(cx, "train", c);
            let loss = a
                .choice(cx, "kind", schema::LOSSES, None)
                .map(|k| match k.as_str() {
                    "binary_cross_entropy" => Loss::BinaryCrossEntropy,
                    "mse" => Loss::Mse,
                    _ => Loss::CrossEntropy,
                });
            (loss, label_smoothing(cx, &a, loss))
        }
    };

    let default_opt;
    let opt_cmd = match find("optimizer") {
        Some(c) => c,
        None => {
            cx.mark_default("train.optimizer.kind");
            default_opt = synthetic(
                "optimizer",
                schema::default_kind("train", "optimizer").unwrap_or("adam"),
                head.name_span,
            );
            &default_opt
        }
    };
    let optimizer = optimizer(cx, opt_cmd);

    let schedule = match find("schedule") {
        None => {
            cx.mark_default("train.schedule.kind");
            cx.mark_default("train.schedule.warmup");
            cx.mark_default("train.schedule.warmup_lr");
            Some(SchedulePlan {
                kind: Schedule::Constant,
                warmup: 0,
                warmup_lr: None,
            })
        }
        Some(c) => schedule(cx, c, &mut monitors),
    };

    let (batch, drop_last, shuffle_seed) = match find("batch") {
        None => {
            cx.mark_default("train.batch.size");
            cx.mark_default("train.batch.drop_last");
            (
                Some(BatchSize::Size(32)),
                false,
                stream_seed(seed, Stream::Shuffle),
            )
        }
        Some(c) => {
            let a = bind(cx, "train", c);
            let size = match a.get("size") {
                Some(r) if matches!(&r.v, Resolved::Word(w) if w == "all") => Some(BatchSize::All),
                Some(r) if matches!(r.v, Resolved::Word(_) | Resolved::Str(_)) => {
                    cx.error(
                        Kind::Type,
                        r.span,
                        format!("batch size must be a count or all, got {}", r.describe()),
                    );
                    None
                }
                _ => a.usize(cx, "size", None, 1).map(BatchSize::Size),
            };
            let drop_last = a.bool(cx, "drop_last", false);
            let s = if a.has("seed") {
                a.int(cx, "seed", None, 0).map_or(0, |s| s as u64)
            } else {
                stream_seed(seed, Stream::Shuffle)
            };
            (size, drop_last, s)
        }
    };

    let epochs = match find("epochs") {
        None => {
            cx.error_hint(
                Kind::Missing,
                head.name_span,
                "train has no epochs",
                Some("add e.g. `epochs 10`"),
            );
            None
        }
        Some(c) => bind(cx, "train", c).usize(cx, "count", None, 1),
    };

    let early_stop = find("early_stop").map(|c| {
        let a = bind(cx, "train", c);
        let m = monitor(cx, &a, "early_stop", &mut monitors);
        EarlyStopPlan {
            mode: mode(cx, &a, &m),
            monitor: m,
            min_delta: a
                .f64(cx, "min_delta", Some(0.0), Range::NonNegative)
                .unwrap_or(0.0),
            patience: a.usize(cx, "patience", Some(0), 0).unwrap_or(0),
            restore_best: a.bool(cx, "restore_best", false),
            loc: cx.loc(c.span),
        }
    });

    let checkpoint = find("checkpoint").map(|c| {
        let a = bind(cx, "train", c);
        let m = monitor(cx, &a, "checkpoint", &mut monitors);
        CheckpointPlan {
            mode: mode(cx, &a, &m),
            monitor: m,
            best_only: a.bool(cx, "best_only", false),
            loc: cx.loc(c.span),
        }
    });

    let mut class_weight_span = head.name_span;
    let class_weight = match find("class_weight") {
        None => None,
        Some(c) => {
            let a = bind(cx, "train", c);
            class_weight_span = a.span("weights");
            match a.get("weights").map(|r| (&r.v, r.span)) {
                None => {
                    cx.error(
                        Kind::Missing,
                        c.name.span,
                        "class_weight needs balanced or a list [w0, w1, …]",
                    );
                    None
                }
                Some((Resolved::Word(w), _)) if w == "balanced" => Some(ClassWeight::Balanced),
                Some((Resolved::List(items), _)) => {
                    let mut ws = Vec::new();
                    for i in items {
                        match i.as_f64() {
                            Some(x) if x > 0.0 && x.is_finite() => ws.push(x),
                            _ => cx.error(
                                Kind::Range,
                                i.span,
                                format!("class weights must be numbers > 0, got {}", i.describe()),
                            ),
                        }
                    }
                    (ws.len() == items.len()).then_some(ClassWeight::List(ws))
                }
                Some((_, span)) => {
                    cx.error(
                        Kind::Type,
                        span,
                        "class_weight must be balanced or a list [w0, w1, …]",
                    );
                    None
                }
            }
        }
    };

    let device = match find("device") {
        None => {
            cx.mark_default("train.device");
            Some(DeviceSpec::Auto)
        }
        Some(c) => {
            let a = bind(cx, "train", c);
            match a
                .get("device")
                .and_then(|r| r.as_text().map(|t| (t.to_string(), r.span)))
            {
                Some((t, span)) => match parse_device(&t) {
                    Some(d) => Some(d),
                    None => {
                        cx.error(
                            Kind::UnknownValue,
                            span,
                            format!("unknown device \"{t}\"; one of auto, cpu, cuda, cuda:N"),
                        );
                        None
                    }
                },
                None => {
                    cx.error(
                        Kind::Type,
                        a.span("device"),
                        "device needs auto, cpu, cuda or cuda:N",
                    );
                    None
                }
            }
        }
    };

    let plan = (|| {
        Some(TrainPlan {
            loss: loss?,
            label_smoothing: label_smoothing?,
            optimizer: optimizer?,
            schedule: schedule?,
            batch: batch?,
            drop_last,
            epochs: epochs?,
            early_stop,
            checkpoint,
            class_weight,
            device: device?,
            shuffle_seed,
        })
    })();
    TrainOut {
        plan,
        monitors,
        class_weight_span,
    }
}

/// `auto`, `cpu`, `cuda` (= `cuda:0`) or `cuda:N`.
pub(crate) fn parse_device(text: &str) -> Option<DeviceSpec> {
    match text {
        "auto" => Some(DeviceSpec::Auto),
        "cpu" => Some(DeviceSpec::Cpu),
        "cuda" => Some(DeviceSpec::Cuda(0)),
        t => t
            .strip_prefix("cuda:")
            .and_then(|n| n.parse().ok())
            .map(DeviceSpec::Cuda),
    }
}

/// `loss cross_entropy label_smoothing=ε`, ε in [0, 1); refused for the
/// other losses (binary cross-entropy's smoothing is another formula).
fn label_smoothing(cx: &mut Context, a: &Args, loss: Option<Loss>) -> Option<f64> {
    if !a.has("label_smoothing") {
        cx.mark_default("train.loss.label_smoothing");
        return Some(0.0);
    }
    let eps = a.f64(cx, "label_smoothing", None, Range::Unit)?;
    if loss.is_some_and(|l| l != Loss::CrossEntropy) {
        cx.error(
            Kind::Conflict,
            a.span("label_smoothing"),
            "label_smoothing applies to loss cross_entropy only",
        );
        return None;
    }
    Some(eps)
}

/// Keras 3 defaults for each optimizer.
fn optimizer(cx: &mut Context, cmd: &Command) -> Option<OptimizerPlan> {
    let a = bind(cx, "train", cmd);
    let kind = a.choice(cx, "kind", schema::OPTIMIZERS, None)?;
    let lr_default = if kind == "sgd" { 0.01 } else { 0.001 };
    let lr = a.f64(cx, "lr", Some(lr_default), Range::Positive);
    let eps = |cx: &mut Context| a.f64(cx, "epsilon", Some(1e-7), Range::Positive);
    let kind = match kind.as_str() {
        "sgd" => Optimizer::Sgd {
            lr: lr?,
            momentum: a.f64(cx, "momentum", Some(0.0), Range::UnitHalfOpen)?,
            nesterov: a.bool(cx, "nesterov", false),
            weight_decay: a.f64(cx, "weight_decay", Some(0.0), Range::NonNegative)?,
        },
        "adam" | "adamw" => {
            let beta1 = a.f64(cx, "beta1", Some(0.9), Range::UnitHalfOpen);
            let beta2 = a.f64(cx, "beta2", Some(0.999), Range::UnitHalfOpen);
            let epsilon = eps(cx);
            if kind == "adam" {
                Optimizer::Adam {
                    lr: lr?,
                    beta1: beta1?,
                    beta2: beta2?,
                    epsilon: epsilon?,
                }
            } else {
                Optimizer::AdamW {
                    lr: lr?,
                    beta1: beta1?,
                    beta2: beta2?,
                    epsilon: epsilon?,
                    weight_decay: a.f64(cx, "weight_decay", Some(0.004), Range::NonNegative)?,
                }
            }
        }
        "rmsprop" => Optimizer::RmsProp {
            lr: lr?,
            rho: a.f64(cx, "rho", Some(0.9), Range::UnitHalfOpen)?,
            momentum: a.f64(cx, "momentum", Some(0.0), Range::UnitHalfOpen)?,
            epsilon: eps(cx)?,
        },
        _ => Optimizer::Adagrad {
            lr: lr?,
            initial_accumulator: a.f64(cx, "initial_accumulator", Some(0.1), Range::NonNegative)?,
            epsilon: eps(cx)?,
        },
    };
    let clip_norm = if a.has("clip_norm") {
        Some(a.f64(cx, "clip_norm", None, Range::Positive)?)
    } else {
        None
    };
    Some(OptimizerPlan {
        kind,
        clip_norm,
        decay: a.f64(cx, "decay", Some(0.0), Range::NonNegative)?,
    })
}

fn schedule(cx: &mut Context, cmd: &Command, monitors: &mut Vec<Monitor>) -> Option<SchedulePlan> {
    let a = bind(cx, "train", cmd);
    let kind = a.choice(cx, "kind", schema::SCHEDULES, None)?;
    let warmup = a.usize(cx, "warmup", Some(0), 0);
    let warmup_lr = if a.has("warmup_lr") {
        Some(a.f64(cx, "warmup_lr", None, Range::Positive))
    } else {
        cx.mark_default("train.schedule.warmup_lr");
        None
    };
    let kind = match kind.as_str() {
        "constant" => Schedule::Constant,
        "milestones" => Schedule::Milestones {
            factor: a.f64(cx, "factor", Some(0.1), Range::Positive)?,
            at: milestones(cx, &a)?,
        },
        "step" | "exponential" => {
            let every = a.usize(cx, "every", None, 1);
            let factor = a.f64(cx, "factor", None, Range::Positive);
            if kind == "step" {
                Schedule::Step {
                    every: every?,
                    factor: factor?,
                }
            } else {
                Schedule::Exponential {
                    every: every?,
                    factor: factor?,
                }
            }
        }
        "cosine" => Schedule::Cosine {
            min: a.f64(cx, "min", Some(0.0), Range::NonNegative)?,
        },
        "linear" => Schedule::Linear {
            to: a.f64(cx, "to", Some(0.0), Range::NonNegative)?,
        },
        _ => {
            // Keras' ReduceLROnPlateau defaults.
            let m = monitor(cx, &a, "schedule plateau", monitors);
            let factor = a.f64(cx, "factor", Some(0.1), Range::UnitOpen);
            let patience = a.usize(cx, "patience", Some(10), 0);
            let min_delta = a.f64(cx, "min_delta", Some(1e-4), Range::NonNegative);
            let min_lr = a.f64(cx, "min_lr", Some(0.0), Range::NonNegative);
            Schedule::Plateau {
                mode: mode(cx, &a, &m),
                monitor: m,
                factor: factor?,
                patience: patience?,
                min_delta: min_delta?,
                min_lr: min_lr?,
            }
        }
    };
    Some(SchedulePlan {
        kind,
        warmup: warmup?,
        warmup_lr: warmup_lr.map_or(Some(None), |r| r.map(Some))?,
    })
}

/// `schedule milestones at=[E, …]`: epoch counts ≥ 1, increasing.
fn milestones(cx: &mut Context, a: &Args) -> Option<Vec<usize>> {
    let Some(r) = a.get("at") else {
        cx.error(
            Kind::Missing,
            a.name_span,
            "schedule milestones needs at=[EPOCH, …]",
        );
        return None;
    };
    let items: Vec<&super::value::Located> = match &r.v {
        Resolved::List(items) => items.iter().collect(),
        _ => vec![r],
    };
    let mut out: Vec<usize> = Vec::with_capacity(items.len());
    for item in items {
        match item.v {
            Resolved::Int(i) if i >= 1 && out.last().is_none_or(|&l| (i as usize) > l) => {
                out.push(i as usize)
            }
            _ => {
                cx.error(
                    Kind::Range,
                    item.span,
                    format!(
                        "schedule at must list increasing epoch counts ≥ 1, got {}",
                        item.describe()
                    ),
                );
                return None;
            }
        }
    }
    Some(out)
}
