//! The metric names a plan produces: one spelling everywhere (monitors,
//! `expect`, CSV columns, `dlp diff`). Run code reuses these functions so
//! what the analyzer accepts is exactly what a run writes.

use crate::plan::{Loss, Metric, Plan, Shape, SplitPlan, TestSplit};

/// Number of classes the model predicts: the output units for
/// cross-entropy (one-hot targets), 2 for one sigmoid unit.
pub fn num_classes(plan: &Plan) -> usize {
    match (plan.train.loss, plan.model.output()) {
        (Loss::BinaryCrossEntropy, _) => 2,
        (_, Shape::Flat(n)) => n,
        (_, s) => s.numel(),
    }
}

/// Whether validation metrics (`val_…`) exist: a valid split, or
/// `validate_on=test` with a test split.
pub fn has_validation(plan: &Plan) -> bool {
    split_has_validation(&plan.data.split)
}

pub(crate) fn split_has_validation(split: &SplitPlan) -> bool {
    split.valid.is_some() || (split.validate_on_test && split.test != TestSplit::None)
}

/// The per-epoch names a split and the requested metrics give: train
/// metrics, plus `val_loss`, `val_accuracy` and the requested families
/// (`val_f1`, …) when there is validation data.
pub fn epoch_names(split: &SplitPlan, metrics: &[Metric]) -> Vec<String> {
    let mut out: Vec<String> = TRAIN_METRICS.iter().map(|s| s.to_string()).collect();
    if split_has_validation(split) {
        out.extend(
            VAL_METRICS
                .iter()
                .filter(|m| family(m).is_none_or(|f| metrics.contains(&f)))
                .map(|m| format!("val_{m}")),
        );
    }
    out
}

/// The `metrics` word a metric name needs (`f1` for `val_f1` or
/// `test_f1_weighted`); `None` for loss and accuracy, always reported.
pub(crate) fn family(name: &str) -> Option<Metric> {
    let name = name
        .strip_prefix("val_")
        .or_else(|| name.strip_prefix("test_"))
        .unwrap_or(name);
    let head = name.split('_').next().unwrap_or(name);
    match head {
        "precision" => Some(Metric::Precision),
        "recall" => Some(Metric::Recall),
        "f1" => Some(Metric::F1),
        _ => None,
    }
}

/// Whether test metrics (`test_…`) exist.
pub fn has_test(plan: &Plan) -> bool {
    plan.data.split.test != TestSplit::None
}

/// Metrics computed every epoch on the train split.
pub(crate) const TRAIN_METRICS: &[&str] = &["loss", "accuracy"];
/// Metrics computed every epoch on the validation data, without `val_`.
pub(crate) const VAL_METRICS: &[&str] = &["loss", "accuracy", "precision", "recall", "f1"];
/// Aggregate test metrics, without `test_`.
pub(crate) const TEST_METRICS: &[&str] = &[
    "loss",
    "accuracy",
    "precision",
    "recall",
    "f1",
    "precision_weighted",
    "recall_weighted",
    "f1_weighted",
];

/// Names a monitor (early_stop, checkpoint, plateau) may use: per epoch.
pub fn epoch_metric_names(plan: &Plan) -> Vec<String> {
    epoch_names(&plan.data.split, &plan.evaluate.metrics)
}

/// Every metric name the plan produces, in a stable order: train, `val_`,
/// `test_` aggregates, `test_top_k`, then per class `test_recall_3` ….
/// Precision, recall and F1 figures exist only when `metrics` asks for them.
pub fn metric_names(plan: &Plan) -> Vec<String> {
    let requested = |m: &str| family(m).is_none_or(|f| plan.evaluate.metrics.contains(&f));
    let mut out = epoch_metric_names(plan);
    if has_test(plan) {
        out.extend(
            TEST_METRICS
                .iter()
                .filter(|m| requested(m))
                .map(|m| format!("test_{m}")),
        );
        if plan.evaluate.top_k.is_some() {
            out.push("test_top_k".into());
        }
        for c in 0..num_classes(plan) {
            for m in ["precision", "recall", "f1"]
                .into_iter()
                .filter(|m| requested(m))
            {
                out.push(format!("test_{m}_{c}"));
            }
        }
    }
    out
}

/// Checks one name against [`metric_names`]; the error says why.
pub fn validate_metric(plan: &Plan, name: &str) -> Result<(), String> {
    if metric_names(plan).iter().any(|m| m == name) {
        return Ok(());
    }
    Err(why_not(plan, name, &metric_names(plan)))
}

/// Why `name` is not among `valid`, with a suggestion.
pub(crate) fn why_not(plan: &Plan, name: &str, valid: &[String]) -> String {
    if name.starts_with("val_") && !has_validation(plan) {
        return format!("{name} needs validation data, but the split has no valid part");
    }
    if name.starts_with("test_") && !has_test(plan) {
        return format!("{name} needs a test split, but the split has none");
    }
    if let Some(rest) = name.strip_prefix("test_")
        && let Some((_, class)) = rest.rsplit_once('_')
        && let Ok(c) = class.parse::<usize>()
    {
        let n = num_classes(plan);
        if c >= n {
            return format!(
                "{name}: class {c} does not exist, the model has {n} classes (0 to {})",
                n.saturating_sub(1)
            );
        }
    }
    if name == "test_top_k" {
        return "test_top_k needs top_k=… in evaluate metrics".into();
    }
    if let Some(f) = family(name)
        && !plan.evaluate.metrics.contains(&f)
        && (name.starts_with("val_") || name.starts_with("test_"))
    {
        return format!("{name} needs {} in evaluate {{ metrics … }}", word(f));
    }
    format!(
        "unknown metric \"{name}\"{}",
        super::schema::did_you_mean(name, valid.iter().map(String::as_str))
    )
}

/// The `metrics` word of a metric family.
pub(crate) fn word(m: Metric) -> &'static str {
    match m {
        Metric::Accuracy => "accuracy",
        Metric::Precision => "precision",
        Metric::Recall => "recall",
        Metric::F1 => "f1",
        Metric::Confusion => "confusion",
    }
}
