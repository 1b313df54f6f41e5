//! Analysis: from a parsed `.dlp` file to a [`Plan`]. Variables, `$var`
//! arithmetic and `repeat` blocks are resolved, every statement is checked
//! against its schema ([`schema`]), defaults are filled in and recorded,
//! and shapes are inferred from the data source. Errors are collected, not
//! stopped at the first, and returned together as [`Error::Invalid`].
//!
//! Choices the language reference leaves open, made here (each default is
//! recorded in [`Plan::defaults`] and marked by `dlp plan`):
//! - `conv2d` padding defaults to `valid`, `maxpool`/`avgpool` size to 2,
//!   `batch` to 32, `optimizer` to `adam`, `seed` to 0 (Keras and
//!   scikit-learn defaults; `source blobs` takes `make_blobs`' 100 samples,
//!   3 centers, 2 features, std 1). `loss`, `epochs`, `source` and `split`
//!   are required.
//! - `seed=` overrides a stream where it is written: `source blobs` (data),
//!   `split`, the `model` and `augment` heads (init, augment), a `dropout`
//!   layer (that layer's masks), `batch` (shuffle), `sweep random`. The
//!   `train` head's `seed=` replaces the pipeline seed as the root of the
//!   training side's streams — shuffle, dropout, augment — under those
//!   statement seeds.
//! - `validate_on=test` and `valid=` are exclusive; `crop SIZE` must give
//!   back the image size (augmentation touches training batches only).
//! - An image folder is probed file by file (headers only): grayscale and
//!   colour files mixed need `grayscale` or `rgb`, sizes that differ need
//!   `resize`; otherwise the error names the first file that differs.
//! - Monitors must name per-epoch metrics (train or `val_`); `expect` may
//!   name any of [`metric_names`].
//! - `--set` paths name statements (`model.conv2d.kernel`, the first
//!   `conv2d`); default paths name Keras layers (`model.conv2d_1.stride`).

mod args;
mod block;
mod context;
mod data;
mod evaluate;
mod graph;
mod layer_paths;
mod metric_names;
mod model;
mod output_activation;
mod overrides;
mod path_hints;
pub mod reference;
pub mod schema;
#[cfg(test)]
mod schema_walk;
mod train;
mod transfer;
mod value;

pub use crate::diagnostics::{Diagnostic, Kind, Report, Severity};
pub(crate) use block::kind_of;
pub(crate) use metric_names::{TEST_METRICS, TRAIN_METRICS, VAL_METRICS};
pub use metric_names::{
    epoch_metric_names, epoch_names, has_test, has_validation, metric_names, num_classes,
    validate_metric,
};
pub use overrides::{Landing, apply_overrides, set as set_target, set_landing, valid_targets};

use crate::error::{Error, Result};
use crate::plan::{EvaluatePlan, Loss, Metric, Plan, Shape, Weights};
use crate::syntax::{self, Command, File, Span, Statement};
use args::Args;
use context::Context;
use schema::did_you_mean;
use std::collections::BTreeMap;
use std::path::Path;

/// Reads `path` and analyzes it, with `--set` overrides applied first.
pub fn load(path: &Path, overrides: &[String]) -> Result<Plan> {
    load_with_warnings(path, overrides).map(|(plan, _)| plan)
}

/// Like [`load`], with the warnings of a valid pipeline (statements that
/// change nothing, said at their line), for the commands to show.
pub(crate) fn load_with_warnings(path: &Path, overrides: &[String]) -> Result<Checked> {
    let source = syntax::read_source(path).map_err(|e| match e.kind() {
        // A pipeline named on the command line that is not there is a
        // usage error (exit 2, as for any bad argument).
        std::io::ErrorKind::NotFound => {
            Error::Usage(format!("{}: {e}", syntax::clean_path(path).display()))
        }
        _ => Error::io(path, e),
    })?;
    analyze_source_with_warnings(&source, path, overrides)
}

/// Analyzes pipeline text read from `path` (used for messages, the plan's
/// name and to resolve relative data paths).
pub fn analyze_source(source: &str, path: &Path, overrides: &[String]) -> Result<Plan> {
    analyze_source_with_warnings(source, path, overrides).map(|(plan, _)| plan)
}

/// Like [`analyze_source`], with the warnings.
pub fn analyze_source_with_warnings(
    source: &str,
    path: &Path,
    overrides: &[String],
) -> Result<Checked> {
    let a = analysis(source, path, overrides)?;
    let shown = path.display().to_string();
    match a.plan {
        Some(plan) if a.errors.is_empty() => Ok((plan, Report::new(shown, source, a.warnings))),
        _ => Err(Error::Invalid(Box::new(Report::new(
            shown, source, a.errors,
        )))),
    }
}

/// Like [`analyze_source`], but returns the errors themselves (for tests
/// and tools); the outer error is a usage error from `--set`.
pub fn diagnose_source(
    source: &str,
    path: &Path,
    overrides: &[String],
) -> Result<std::result::Result<Plan, Vec<Diagnostic>>> {
    let a = analysis(source, path, overrides)?;
    Ok(match a.plan {
        Some(plan) if a.errors.is_empty() => Ok(plan),
        _ => Err(a.errors),
    })
}

/// A valid plan and the warnings its analysis raised.
type Checked = (Plan, Report);

/// Everything one analysis found: the plan when there is no error, the
/// errors and the warnings, each in source order.
#[derive(Debug, Default)]
pub struct Analysis {
    pub plan: Option<Plan>,
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
    /// What was resolved even if the pipeline as a whole is invalid.
    pub found: Found,
}

/// The parts of a plan resolved on their own: the model (layers, shapes,
/// parameters) when its section and the data are valid, the data's sample
/// shape (as stored) and class count when known.
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub model: Option<crate::plan::ModelPlan>,
    pub data: Option<(Shape, Option<usize>)>,
}

/// Analyzes `source`: every error and warning at once (the language
/// server shows them all, side by side).
pub fn analysis(source: &str, path: &Path, overrides: &[String]) -> Result<Analysis> {
    let _span = tracing::info_span!("analyze", path = %path.display()).entered();
    let mut file = match syntax::parse(source) {
        Ok(f) => f,
        Err(e) => {
            return Ok(Analysis {
                errors: vec![Diagnostic::syntax(&e, source)],
                ..Analysis::default()
            });
        }
    };
    apply_overrides(&mut file, overrides)?;
    let mut cx = Context::new(source);
    let plan = analyze(&mut cx, &file, path);
    let by_place = |d: &Diagnostic| (d.line, d.column);
    cx.diags.sort_by_key(by_place);
    cx.warnings.sort_by_key(by_place);
    Ok(Analysis {
        plan: plan.filter(|_| cx.diags.is_empty()),
        errors: cx.diags,
        warnings: cx.warnings,
        found: cx.found,
    })
}

/// Top-level walk: `seed`, `let`s, then each section in dependency order.
fn analyze(cx: &mut Context, file: &File, path: &Path) -> Option<Plan> {
    let top = collect_top_level(cx, file);
    resolve(cx, file, path, &top)
}

/// What the top level of a file holds: its sections by name and its
/// `seed` statement.
struct TopLevel<'f> {
    sections: BTreeMap<&'f str, &'f Command>,
    seed: Option<&'f Command>,
    /// Sections reported as misspelt (`trian` for `train`): not reported
    /// missing as well.
    misspelt: Vec<String>,
}

/// Collects the sections, the `seed` and the `let`s (defining each
/// variable in `cx`), reporting duplicates and statements out of place.
fn collect_top_level<'f>(cx: &mut Context, file: &'f File) -> TopLevel<'f> {
    let mut sections: BTreeMap<&str, &Command> = BTreeMap::new();
    let mut misspelt: Vec<String> = Vec::new();
    let mut seed_cmd: Option<&Command> = None;
    for s in &file.statements {
        match s {
            Statement::Let(l) => {
                if cx.globals().contains_key(&l.name.name) {
                    let mut d = Diagnostic::error(
                        Kind::Duplicate,
                        l.name.span,
                        format!("variable {} is defined twice", l.name.name),
                    );
                    if let Some(first) = file.statements.iter().find_map(|s| match s {
                        Statement::Let(f) if f.name.name == l.name.name => Some(f.name.span),
                        _ => None,
                    }) {
                        d = d.related(first, format!("the first {} is here", l.name.name));
                    }
                    cx.report(d);
                } else if let Some(v) = cx.eval(&l.value) {
                    cx.define(&l.name.name, v);
                }
            }
            Statement::Command(c) => {
                let name = c.name.name.as_str();
                if name == "seed" {
                    if let Some(first) = seed_cmd {
                        cx.report(
                            Diagnostic::error(Kind::Duplicate, c.name.span, "seed is given twice")
                                .related(first.name.span, "the first seed is here"),
                        );
                    }
                    seed_cmd = Some(c);
                } else if schema::SECTIONS.contains(&name) {
                    if c.block.is_none() {
                        cx.error(
                            Kind::Missing,
                            c.span,
                            format!("{name} needs a block: {name} {{ … }}"),
                        );
                    } else if let Some(first) = sections.get(name) {
                        let line = cx.loc(first.name.span).line;
                        cx.report(
                            Diagnostic::error(
                                Kind::Duplicate,
                                c.name.span,
                                format!("a second {name} block (the first is on line {line})"),
                            )
                            .related(first.name.span, format!("the first {name} block is here")),
                        );
                    } else {
                        sections.insert(name, c);
                    }
                } else if let Some(home) = schema::home_section(name) {
                    cx.error(
                        Kind::Misplaced,
                        c.name.span,
                        format!("{name} must be inside {home} {{ … }}"),
                    );
                } else {
                    let known = schema::SECTIONS.iter().chain(schema::TOP_LEVEL).copied();
                    if let Some(meant) = schema::suggest(name, known.clone()) {
                        misspelt.push(meant.to_string());
                    }
                    cx.error(
                        Kind::UnknownStatement,
                        c.name.span,
                        format!("unknown section \"{name}\"{}", did_you_mean(name, known)),
                    );
                }
            }
            Statement::Assign(a) if a.target.name == "let" => {
                cx.error(
                    Kind::Missing,
                    a.target.span,
                    "let needs a variable name: let NAME = VALUE",
                );
            }
            Statement::Assign(_) | Statement::Compare(_) => block::misplaced_line(cx, s),
        }
    }
    TopLevel {
        sections,
        seed: seed_cmd,
        misspelt,
    }
}

/// Resolves each section in dependency order (data, preprocess, augment,
/// model, train, evaluate, diagnose, expect, sweep), checks them against
/// each other and assembles the plan.
fn resolve(cx: &mut Context, file: &File, path: &Path, top: &TopLevel) -> Option<Plan> {
    let sections = &top.sections;
    let seed = match top.seed {
        Some(c) => {
            let a = data::bind(cx, "", c);
            a.int(cx, "seed", None, 0).map_or(0, |s| s as u64)
        }
        None => {
            cx.mark_default("seed");
            0
        }
    };
    let vars = cx
        .globals()
        .iter()
        .map(|(k, v)| (k.clone(), v.to_plan()))
        .collect();

    let head = |cx: &mut Context, name: &str| -> Option<(Args, &[Statement])> {
        let c = sections.get(name)?;
        let a = data::bind(cx, "", c);
        Some((a, c.block.as_deref().unwrap_or(&[])))
    };
    // `trian { … }` is reported as an unknown section that means `train`;
    // saying also that train is missing would lead with the consequence.
    let missing = |cx: &mut Context, name: &str, example: &str| {
        if top.misspelt.iter().any(|m| m == name) {
            return;
        }
        cx.error_hint(
            Kind::Missing,
            Span::new(0, 0),
            format!("the pipeline has no {name} block"),
            Some(example.to_string()),
        );
    };

    // `train seed=S` roots the training side's streams (shuffling, dropout,
    // augmentation) at S instead of the pipeline seed; splits and the
    // initial weights keep the pipeline seed. Read first: augment and model
    // come before train.
    let train_head = head(cx, "train");
    let train_seed = match &train_head {
        Some((a, _)) if a.has("seed") => a.int(cx, "seed", None, 0).map_or(seed, |s| s as u64),
        _ => seed,
    };

    let base = path.parent().unwrap_or(Path::new(""));
    let base = if base.as_os_str().is_empty() {
        Path::new(".")
    } else {
        base
    };
    let data = match head(cx, "data") {
        Some((a, block)) => data::data(cx, block, a.name_span, seed, base),
        None => {
            missing(
                cx,
                "data",
                "data { source cifar10; split train=45000 valid=5000 test=official }",
            );
            None
        }
    };

    let mut shape = data.as_ref().map(|d| d.info.input);
    let preprocess = match (head(cx, "preprocess"), shape.as_mut()) {
        (Some((_, block)), Some(s)) => data::preprocess(cx, block, s),
        _ => Vec::new(),
    };
    if let Some(d) = &data {
        data::check_images(cx, d, &preprocess);
    }
    let augment = match (head(cx, "augment"), shape) {
        (Some((a, block)), Some(s)) => data::augment(cx, &a, block, s, train_seed),
        _ => crate::plan::AugmentPlan {
            seed: crate::rng::stream_seed(train_seed, crate::rng::Stream::Augment),
            ..Default::default()
        },
    };
    let mut model = match head(cx, "model") {
        Some((a, block)) => model::model(cx, &a, block, shape, seed, train_seed),
        None => {
            missing(cx, "model", "model { dense 10 activation=softmax }");
            None
        }
    };
    let transfer = match (head(cx, "transfer"), model.as_mut()) {
        (Some((a, block)), Some((m, _))) => transfer::transfer(cx, a.name_span, block, m, base),
        _ => None,
    };
    // Kept for tools even when another section fails: the language
    // server shows shapes while the train section is still being written.
    cx.found.model = model.as_ref().map(|(m, _)| m.clone());
    cx.found.data = data.as_ref().map(|d| (d.info.input, d.info.classes));
    let train = match train_head {
        Some((a, block)) => Some(train::train(cx, &a, block, train_seed)),
        None => {
            missing(
                cx,
                "train",
                "train { loss cross_entropy; optimizer adam; epochs 10 }",
            );
            None
        }
    };
    let eval = match head(cx, "evaluate") {
        Some((_, block)) => evaluate::evaluate(cx, block),
        None => evaluate::evaluate(cx, &[]),
    };
    let diagnose =
        head(cx, "diagnose").and_then(|(a, block)| evaluate::diagnose(cx, block, a.name_span));
    let expect = head(cx, "expect")
        .map(|(_, block)| evaluate::expect(cx, block))
        .unwrap_or_default();
    let mut sweep =
        head(cx, "sweep").and_then(|(a, block)| evaluate::sweep(cx, &a, block, seed, file));
    if sweep.is_some() {
        check_sweep_values(cx, file, path);
    }

    if let (Some(d), Some(t)) = (&data, &train) {
        let mut monitors: Vec<&train::Monitor> = t.monitors.iter().collect();
        let sweep_monitor =
            sweep
                .as_ref()
                .and_then(|(_, h)| h.monitor.as_ref())
                .map(|(name, span)| train::Monitor {
                    name: name.clone(),
                    span: *span,
                    what: "sweep",
                });
        monitors.extend(sweep_monitor.as_ref());
        check_monitors(cx, &d.plan.split, &eval.metrics, &monitors);
        if let (Some((s, h)), Some(tp)) = (sweep.as_mut(), t.plan.as_ref()) {
            let has_validation = metric_names::split_has_validation(&d.plan.split);
            evaluate::resolve_sweep_monitor(cx, s, h, tp, has_validation);
        }
    }
    let sweep = sweep.map(|(s, _)| s);
    if let (Some(p), Some(loss)) = (
        sections.get("preprocess"),
        train.as_ref().and_then(|t| t.plan.as_ref()).map(|t| t.loss),
    ) {
        check_one_hot(cx, p.block.as_deref().unwrap_or(&[]), loss);
    }
    let (data, (model, layer_spans), train) = (data?, model?, train?);
    let train_plan = train.plan?;
    let classes = data.info.classes;

    // Which weights the test split sees: best when something keeps them.
    let keeps_best = train_plan.checkpoint.as_ref().is_some_and(|c| c.best_only)
        || train_plan
            .early_stop
            .as_ref()
            .is_some_and(|e| e.restore_best);
    let weights = match eval.weights {
        Some((Weights::Best, span)) if !keeps_best => {
            cx.error_hint(
                Kind::Conflict,
                span,
                "weights=best, but nothing keeps the best weights",
                Some("add checkpoint best_only=true or early_stop restore_best=true"),
            );
            Weights::Best
        }
        Some((w, _)) => w,
        None => {
            cx.mark_default("evaluate.weights");
            if keeps_best {
                Weights::Best
            } else {
                Weights::Last
            }
        }
    };

    let mut plan = Plan {
        name: path
            .file_stem()
            .map_or_else(|| "pipeline".into(), |s| s.to_string_lossy().into_owned()),
        path: path.to_path_buf(),
        seed,
        vars,
        data: data.plan,
        preprocess,
        augment,
        model,
        transfer,
        train: train_plan,
        evaluate: EvaluatePlan {
            metrics: eval.metrics,
            top_k: eval.top_k.map(|(k, _)| k),
            weights,
        },
        diagnose,
        expect: expect.iter().map(|(e, _)| e.clone()).collect(),
        sweep,
        defaults: std::mem::take(&mut cx.defaults),
    };

    let spans = Spans {
        layers: &layer_spans,
        top_k: eval.top_k,
        class_weight: train.class_weight_span,
        expect: &expect,
    };
    cross_check(cx, &mut plan, classes, &spans);
    plan.defaults.append(&mut cx.defaults);
    Some(plan)
}

/// Analyzes the pipeline once per listed sweep value (each value alone,
/// the others as written), so a value that would break a trial is reported
/// now, at the value, rather than when that trial starts.
fn check_sweep_values(cx: &mut Context, file: &File, path: &Path) {
    let mut base = file.clone();
    base.statements
        .retain(|s| !matches!(s, Statement::Command(c) if c.name.name == "sweep"));
    let Some(Statement::Command(sweep)) = file
        .statements
        .iter()
        .find(|s| matches!(s, Statement::Command(c) if c.name.name == "sweep"))
    else {
        return;
    };
    for s in sweep.block.as_deref().unwrap_or(&[]) {
        let Statement::Assign(a) = s else { continue };
        let syntax::ValueKind::List(items) = &a.value.kind else {
            continue;
        };
        for item in items {
            let mut trial = base.clone();
            if overrides::set(&mut trial, &a.target.name, item.clone()).is_err() {
                continue;
            }
            let mut inner = Context::new(cx.source);
            let ok = analyze(&mut inner, &trial, path).is_some() && inner.diags.is_empty();
            if !ok && let Some(first) = inner.diags.first() {
                let text = cx
                    .source
                    .get(item.span.start..item.span.end)
                    .unwrap_or("?")
                    .to_string();
                let mut d = Diagnostic::error(
                    Kind::Sweep,
                    item.span,
                    format!(
                        "sweep {}={text} makes the pipeline invalid: {}",
                        a.target.name, first.message
                    ),
                );
                // Where the trial breaks, when not at the value itself.
                if first.span != item.span {
                    d = d.related(first.span, first.message.clone());
                }
                d.hints.extend(first.hints.iter().cloned());
                cx.report(d);
            }
        }
    }
}

/// `one_hot` states a target encoding the loss already fixes: the losses
/// with one output per class (`cross_entropy`, `mse`) compare the outputs
/// with one-hot targets whether it is written or not (a warning at it), and
/// `binary_cross_entropy` compares its one unit with the 0/1 label, which a
/// one-hot target cannot be (an error).
fn check_one_hot(cx: &mut Context, preprocess: &[Statement], loss: Loss) {
    let Some(span) = preprocess.iter().find_map(|s| match s {
        Statement::Command(c) if c.name.name == "one_hot" => Some(c.name.span),
        _ => None,
    }) else {
        return;
    };
    let name = match loss {
        Loss::CrossEntropy => "cross_entropy",
        Loss::Mse => "mse",
        Loss::BinaryCrossEntropy => {
            cx.error_hint(Kind::Mismatch,
                span,
                "one_hot does not fit binary_cross_entropy: its one sigmoid unit is compared \
                 with the 0/1 label itself",
                Some("for one output per class, end with dense 2 activation=softmax and use loss cross_entropy"),
            );
            return;
        }
    };
    cx.warn(
        span,
        format!(
            "one_hot changes nothing: {name} compares the model's outputs (one per class) \
             with one-hot targets whether or not it is written"
        ),
        Some("remove it"),
    );
}

/// Monitors (early_stop, checkpoint, plateau) name per-epoch metrics,
/// which depend only on the split and the requested metrics: checked even
/// when the model is broken. A monitor of a metric nobody computes would
/// read NaN every epoch.
fn check_monitors(
    cx: &mut Context,
    split: &crate::plan::SplitPlan,
    metrics: &[crate::plan::Metric],
    monitors: &[&train::Monitor],
) {
    let epoch = metric_names::epoch_names(split, metrics);
    let all = metric_names::epoch_names(split, &[Metric::Precision, Metric::Recall, Metric::F1]);
    for m in monitors {
        if epoch.contains(&m.name) {
            continue;
        }
        if all.contains(&m.name)
            && let Some(f) = metric_names::family(&m.name)
        {
            let w = metric_names::word(f);
            cx.error_hint(
                Kind::Mismatch,
                m.span,
                format!(
                    "{} monitors {}, but evaluate does not compute {w}",
                    m.what, m.name
                ),
                Some(format!("add {w} to evaluate {{ metrics … }}")),
            );
        } else if m.name.starts_with("val_") && metric_names::VAL_METRICS.contains(&&m.name[4..]) {
            cx.error_hint(
                Kind::Mismatch,
                m.span,
                format!(
                    "{} monitors {}, but the split has no valid part",
                    m.what, m.name
                ),
                Some("add valid=… to split, or validate_on=test"),
            );
        } else if m.name.starts_with("test_") {
            cx.error_hint(
                Kind::Mismatch,
                m.span,
                format!(
                    "{} cannot monitor {}: test metrics exist only after training",
                    m.what, m.name
                ),
                Some("monitor a train or val_ metric"),
            );
        } else {
            cx.error(
                Kind::UnknownMetric,
                m.span,
                format!(
                    "unknown metric \"{}\"{}",
                    m.name,
                    did_you_mean(&m.name, epoch.iter().map(String::as_str))
                ),
            );
        }
    }
}

/// Where the things [`cross_check`] examines were written.
struct Spans<'a> {
    layers: &'a [Span],
    top_k: Option<(usize, Span)>,
    class_weight: Span,
    expect: &'a [(crate::plan::Expectation, Span)],
}

/// Checks that need several sections at once: the loss against the
/// model's output and the data's classes, monitors and expectations
/// against the metrics that will exist, `top_k` and class weights against
/// the class count.
fn cross_check(cx: &mut Context, plan: &mut Plan, classes: Option<usize>, spans: &Spans) {
    let Spans {
        layers: layer_spans,
        top_k,
        class_weight: class_weight_span,
        expect,
    } = *spans;
    let last_span = layer_spans.last().copied().unwrap_or_default();
    if let Some(out) = plan.model.layers.last().map(|l| l.output) {
        match (out, plan.train.loss) {
            (Shape::Image { .. }, _) => cx.error_hint(
                Kind::Shape,
                last_span,
                format!("the model ends with a {}", model::dims(out)),
                Some("add flatten and a dense layer"),
            ),
            (Shape::Flat(1), Loss::CrossEntropy) => cx.error_hint(
                Kind::Mismatch,
                last_span,
                "cross_entropy needs one output per class, the model has 1",
                Some("for one sigmoid unit use loss binary_cross_entropy"),
            ),
            (Shape::Flat(n), Loss::BinaryCrossEntropy) if n != 1 => cx.error_hint(
                Kind::Mismatch,
                last_span,
                format!("binary_cross_entropy needs one output unit, the model has {n}"),
                Some("end with dense 1 activation=sigmoid, or use cross_entropy"),
            ),
            (Shape::Flat(n), Loss::CrossEntropy | Loss::Mse) => {
                if let Some(c) = classes
                    && c != n
                {
                    let values = if n == 1 { "value" } else { "values" };
                    cx.error(
                        Kind::Mismatch,
                        last_span,
                        format!("the model outputs {n} {values} but the data has {c} classes"),
                    );
                }
            }
            _ => {}
        }
        if plan.train.loss == Loss::BinaryCrossEntropy
            && let Some(c) = classes
            && c != 2
        {
            cx.error(
                Kind::Mismatch,
                last_span,
                format!("binary_cross_entropy needs 2 classes, the data has {c}"),
            );
        }
    }
    output_activation::warn(cx, plan, last_span);
    let n = num_classes(plan);
    if let Some((k, span)) = top_k
        && k >= n
    {
        cx.error(
            Kind::Mismatch,
            span,
            format!("top_k must be below the number of classes ({n}), got {k}"),
        );
    }
    if let Some(crate::plan::ClassWeight::List(ws)) = &plan.train.class_weight
        && ws.len() != n
    {
        cx.error(
            Kind::Mismatch,
            class_weight_span,
            format!("class_weight has {} weights for {n} classes", ws.len()),
        );
    }
    let all = metric_names(plan);
    for (e, span) in expect {
        if !all.contains(&e.metric) {
            cx.error(
                Kind::UnknownMetric,
                *span,
                metric_names::why_not(plan, &e.metric, &all),
            );
        }
    }
}
