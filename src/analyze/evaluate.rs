//! The `evaluate`, `diagnose`, `expect` and `sweep` sections.

use super::args::{Args, Range};
use super::block::commands;
use super::context::Context;
use super::data::bind;
use super::overrides;
use super::schema::{self, did_you_mean};
use super::value::Resolved;
use crate::diagnostics::Kind;
use crate::plan::{
    CmpOp, DiagnosePlan, Expectation, Metric, Mode, Prune, SweepAxis, SweepKind, SweepPlan,
    SweepValues, Weights,
};
use crate::rng::{Stream, stream_seed};
use crate::syntax::{CompareOp, File, Span, Statement};

pub(crate) struct EvaluateOut {
    pub metrics: Vec<Metric>,
    pub top_k: Option<(usize, Span)>,
    /// `weights=` as written; the default depends on the train section.
    pub weights: Option<(Weights, Span)>,
}

pub(crate) fn evaluate(cx: &mut Context, block: &[Statement]) -> EvaluateOut {
    let mut out = EvaluateOut {
        metrics: Vec::new(),
        top_k: None,
        weights: None,
    };
    let weights = |cx: &mut Context, a: &Args, key: &str, out: &mut EvaluateOut| {
        if let Some(w) = a.choice(cx, key, schema::WEIGHTS, None) {
            let w = if w == "best" {
                Weights::Best
            } else {
                Weights::Last
            };
            out.weights = Some((w, a.span(key)));
        }
    };
    let mut wrote_metrics = false;
    for cmd in commands(cx, "evaluate", block, true) {
        if cmd.name.name == "weights" {
            let a = bind(cx, "evaluate", cmd);
            weights(cx, &a, "which", &mut out);
            continue;
        }
        wrote_metrics = true;
        // `metrics` takes any number of metric words, then keywords.
        for arg in cmd.args.iter().filter(|a| a.key.is_none()) {
            let Some(r) = cx.eval(&arg.value) else {
                continue;
            };
            let m = match r.as_text() {
                // Always reported: said at the word rather than accepted in
                // silence.
                Some("accuracy") => {
                    cx.warn(
                        r.span,
                        "metrics accuracy changes nothing: loss and accuracy are always reported \
                         (train.csv, eval.csv, test_accuracy), as the diagnosis reads the error rate",
                        Some("remove it; the metrics to choose are precision, recall, f1 and top_k=K"),
                    );
                    Metric::Accuracy
                }
                Some("precision") => Metric::Precision,
                Some("recall") => Metric::Recall,
                Some("f1") => Metric::F1,
                Some("confusion") => {
                    cx.warn(
                        r.span,
                        "metrics confusion changes nothing: confusion.csv is written with eval.csv \
                         whenever there is a test split",
                        Some("remove it"),
                    );
                    Metric::Confusion
                }
                Some(w) => {
                    let hint = did_you_mean(w, schema::METRICS.iter().copied());
                    let list = if hint.is_empty() {
                        format!("; one of {}", schema::METRICS.join(", "))
                    } else {
                        String::new()
                    };
                    cx.error(
                        Kind::UnknownMetric,
                        r.span,
                        format!("unknown metric \"{w}\"{hint}{list}"),
                    );
                    continue;
                }
                None => {
                    cx.error(
                        Kind::Type,
                        r.span,
                        format!("metrics are words, got {}", r.describe()),
                    );
                    continue;
                }
            };
            if out.metrics.contains(&m) {
                cx.error(
                    Kind::Duplicate,
                    r.span,
                    format!("metric {} is listed twice", r),
                );
            } else {
                out.metrics.push(m);
            }
        }
        let mut named = cmd.clone();
        named.args.retain(|a| a.key.is_some());
        let a = bind(cx, "evaluate", &named);
        if a.has("top_k") {
            out.top_k = a.usize(cx, "top_k", None, 1).map(|k| (k, a.span("top_k")));
        }
        if a.has("weights") {
            weights(cx, &a, "weights", &mut out);
        }
    }
    if !wrote_metrics {
        cx.mark_default("evaluate.metrics");
        out.metrics.push(Metric::Accuracy);
    }
    out
}

pub(crate) fn diagnose(cx: &mut Context, block: &[Statement], head: Span) -> Option<DiagnosePlan> {
    let cmds = commands(cx, "diagnose", block, true);
    let Some(cmd) = cmds.first() else {
        cx.error_hint(
            Kind::Missing,
            head,
            "diagnose needs human_error",
            Some("e.g. diagnose { human_error 0.05 }"),
        );
        return None;
    };
    let a = bind(cx, "diagnose", cmd);
    let human_error = a.f64(cx, "value", None, Range::Unit);
    let tolerance = a.f64(cx, "tolerance", Some(0.02), Range::NonNegative);
    Some(DiagnosePlan {
        human_error: human_error?,
        tolerance: tolerance?,
    })
}

/// The expectations and their metric spans (names are checked once the
/// plan is complete).
pub(crate) fn expect(cx: &mut Context, block: &[Statement]) -> Vec<(Expectation, Span)> {
    let mut out = Vec::new();
    for s in block {
        let Statement::Compare(c) = s else {
            cx.error_hint(
                Kind::Misplaced,
                s.span(),
                "expect holds comparisons only",
                Some("write METRIC OP NUMBER, e.g. test_accuracy >= 0.8"),
            );
            continue;
        };
        let Some(r) = cx.eval(&c.value) else { continue };
        let Some(value) = r.as_f64() else {
            cx.error(
                Kind::Type,
                r.span,
                format!("expect compares with a number, got {}", r.describe()),
            );
            continue;
        };
        let op = match c.op {
            CompareOp::Ge => CmpOp::Ge,
            CompareOp::Gt => CmpOp::Gt,
            CompareOp::Le => CmpOp::Le,
            CompareOp::Lt => CmpOp::Lt,
            CompareOp::Eq => CmpOp::Eq,
        };
        out.push((
            Expectation {
                metric: c.metric.name.clone(),
                op,
                value,
                loc: cx.loc(c.span),
            },
            c.metric.span,
        ));
    }
    out
}

/// What the sweep head says about ranking; the defaults come from the
/// train section ([`resolve_sweep_monitor`]).
pub(crate) struct SweepHead {
    /// `monitor=` as written, and where.
    pub monitor: Option<(String, Span)>,
    /// `goal=` as written.
    pub goal: Option<Mode>,
}

pub(crate) fn sweep(
    cx: &mut Context,
    head: &Args,
    block: &[Statement],
    seed: u64,
    file: &File,
) -> Option<(SweepPlan, SweepHead)> {
    let kind = head.choice(cx, "kind", schema::SWEEP_KINDS, None)?;
    let kind = if kind == "grid" {
        SweepKind::Grid
    } else {
        let trials = head.usize(cx, "trials", None, 1);
        let s = if head.has("seed") {
            head.int(cx, "seed", None, 0).map(|s| s as u64)
        } else {
            Some(stream_seed(seed, Stream::Sweep))
        };
        SweepKind::Random {
            trials: trials?,
            seed: s?,
        }
    };
    let mut axes: Vec<SweepAxis> = Vec::new();
    for s in block {
        let Statement::Assign(asg) = s else {
            cx.error_hint(
                Kind::Misplaced,
                s.span(),
                "sweep holds assignments only",
                Some("write PATH = [values], e.g. train.optimizer.lr = [1e-2, 1e-3]"),
            );
            continue;
        };
        let target = asg.target.name.clone();
        // The same check `--set` makes, on a scratch copy of the file.
        let mut scratch = file.clone();
        if let Err(why) = overrides::set(&mut scratch, &target, asg.value.clone()) {
            cx.error(
                Kind::UnknownParameter,
                asg.target.span,
                format!("sweep {why}"),
            );
            continue;
        }
        if axes.iter().any(|a| a.target == target) {
            cx.error(
                Kind::Duplicate,
                asg.target.span,
                format!("sweep sets {target} twice"),
            );
            continue;
        }
        let Some(r) = cx.eval(&asg.value) else {
            continue;
        };
        let values = match r.v {
            Resolved::List(items) if !items.is_empty() => {
                SweepValues::List(items.iter().map(|i| i.to_plan()).collect())
            }
            Resolved::List(_) => {
                cx.error(
                    Kind::Missing,
                    r.span,
                    "a sweep list needs at least one value",
                );
                continue;
            }
            Resolved::Call(ref name, ref args) if name == "uniform" || name == "loguniform" => {
                if matches!(kind, SweepKind::Grid) {
                    cx.error_hint(
                        Kind::Conflict,
                        r.span,
                        format!("{name}(…) needs sweep random"),
                        Some("a grid takes lists: [a, b, c]"),
                    );
                    continue;
                }
                let nums: Vec<f64> = args.iter().filter_map(|a| a.as_f64()).collect();
                let [low, high] = nums[..] else {
                    cx.error(
                        Kind::Type,
                        r.span,
                        format!("{name} takes two numbers: {name}(low, high)"),
                    );
                    continue;
                };
                if low >= high || (name == "loguniform" && low <= 0.0) {
                    let need = if name == "loguniform" {
                        "0 < low < high"
                    } else {
                        "low < high"
                    };
                    cx.error(
                        Kind::Range,
                        r.span,
                        format!("{name}({low}, {high}) needs {need}"),
                    );
                    continue;
                }
                if name == "uniform" {
                    SweepValues::Uniform { low, high }
                } else {
                    SweepValues::LogUniform { low, high }
                }
            }
            Resolved::Call(ref name, _) => {
                cx.error(
                    Kind::UnknownValue,
                    r.span,
                    format!(
                        "unknown distribution \"{name}\"{}",
                        did_you_mean(name, ["uniform", "loguniform"])
                    ),
                );
                continue;
            }
            _ => {
                cx.error(
                    Kind::Type,
                    r.span,
                    format!("sweep values must be a list […], got {}", r.describe()),
                );
                continue;
            }
        };
        axes.push(SweepAxis {
            target,
            values,
            loc: cx.loc(asg.span),
        });
    }
    let ranking = sweep_head(cx, head);
    if axes.is_empty() {
        cx.error(Kind::Missing, head.name_span, "sweep has nothing to vary");
        return None;
    }
    let (prune, ranking) = ranking?;
    Some((
        SweepPlan {
            kind,
            axes,
            // Resolved once the train section is known.
            monitor: String::new(),
            goal: Mode::Min,
            prune,
        },
        ranking,
    ))
}

/// `monitor=`, `goal=`, `prune=`, `warmup=` and `startup=` of the head.
fn sweep_head(cx: &mut Context, head: &Args) -> Option<(Option<Prune>, SweepHead)> {
    let monitor = match head.get("monitor") {
        None => None,
        Some(r) => match r.as_text() {
            Some(t) => Some((t.to_string(), r.span)),
            None => {
                cx.error(
                    Kind::Type,
                    r.span,
                    format!("sweep monitor must be a metric name, got {}", r.describe()),
                );
                return None;
            }
        },
    };
    let goal = if head.has("goal") {
        match head.choice(cx, "goal", schema::MODES, None)?.as_str() {
            "max" => Some(Mode::Max),
            _ => Some(Mode::Min),
        }
    } else {
        None
    };
    let rule = head.choice(cx, "prune", schema::PRUNE_RULES, Some("none"))?;
    // Optuna's MedianPruner defaults: n_startup_trials=5, n_warmup_steps=0.
    let warmup = head.usize(cx, "warmup", Some(0), 0)?;
    let startup = head.usize(cx, "startup", Some(5), 0)?;
    let prune = match rule.as_str() {
        "median" => Some(Prune::Median { warmup, startup }),
        _ => {
            for key in ["warmup", "startup"] {
                if head.has(key) {
                    cx.warn(
                        head.span(key),
                        format!("sweep {key}= changes nothing without prune=median"),
                        Some("add prune=median, or remove it"),
                    );
                }
            }
            None
        }
    };
    Some((prune, SweepHead { monitor, goal }))
}

/// Fills in the sweep's monitor and goal: as written, else early
/// stopping's monitor and mode, else the checkpoint's, else `val_loss`
/// (`loss` without validation data) in its own direction.
pub(crate) fn resolve_sweep_monitor(
    cx: &mut Context,
    sweep: &mut SweepPlan,
    head: &SweepHead,
    train: &crate::plan::TrainPlan,
    has_validation: bool,
) {
    let inherited = train
        .early_stop
        .as_ref()
        .map(|e| (e.monitor.clone(), e.mode))
        .or_else(|| {
            train
                .checkpoint
                .as_ref()
                .map(|c| (c.monitor.clone(), c.mode))
        });
    let (monitor, mode) = match (&head.monitor, inherited) {
        (Some((m, _)), _) => (m.clone(), Mode::for_metric(m)),
        (None, Some((m, mode))) => {
            cx.mark_default("sweep.monitor");
            (m, mode)
        }
        (None, None) => {
            cx.mark_default("sweep.monitor");
            let m = if has_validation { "val_loss" } else { "loss" };
            (m.to_string(), Mode::Min)
        }
    };
    sweep.goal = head.goal.unwrap_or_else(|| {
        cx.mark_default("sweep.goal");
        mode
    });
    sweep.monitor = monitor;
}
