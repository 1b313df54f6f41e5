//! Evaluation passes: loss and predictions over a split, and the metric
//! values named as everywhere else (`val_accuracy`, `test_f1_weighted`,
//! `test_recall_3`, …).

use super::input::on_device;
use crate::data::{Dataset, Part};
use crate::error::Result;
use crate::metrics::{Confusion, top_k_accuracy};
use crate::nn::{ForwardMode, Model, smoothed_loss};
use crate::plan::{Metric, TrainPlan};
use candle_core::{DType, Device, Tensor};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The outcome of one clean pass (no dropout, no augmentation) over a split.
#[derive(Debug, Clone)]
pub(crate) struct Evaluation {
    /// Mean loss, including the L2 penalty as Keras reports it.
    pub loss: f64,
    pub confusion: Confusion,
    /// Class probabilities, row-major (N × outputs), for top-k.
    pub probs: Vec<f32>,
    pub truth: Vec<u32>,
    pub outputs: usize,
}

/// Predicted classes from a batch of probabilities: argmax, or for a single
/// sigmoid unit class 1 when p > 0.5 — strictly, as Keras' binary accuracy
/// (`y_pred > threshold`), so an output of exactly 0.5 is class 0.
pub fn predict(probs: &Tensor) -> Result<Vec<u32>> {
    let (_, outputs) = probs.dims2()?;
    if outputs == 1 {
        let p = probs.flatten_all()?.to_vec1::<f32>()?;
        Ok(p.into_iter().map(|p| u32::from(p > 0.5)).collect())
    } else {
        Ok(probs.argmax(1)?.to_vec1::<u32>()?)
    }
}

/// Runs the model over `part` in batches and collects loss and predictions.
pub(crate) fn evaluate(
    model: &Model,
    data: &Arc<Dataset>,
    part: Part,
    batch_size: usize,
    train: &TrainPlan,
    classes: usize,
    device: &Device,
) -> Result<Evaluation> {
    let n = data.len(part);
    let penalty = match model.l2_penalty()? {
        Some(t) => f64::from(t.to_dtype(DType::F32)?.to_scalar::<f32>()?),
        None => 0.0,
    };
    let mut confusion = Confusion::new(classes);
    let mut probs_all = Vec::new();
    let mut outputs = 0;
    let mut loss_sum = 0.0f64;
    let order: Vec<usize> = (0..n).collect();
    let chunks = (order, batch_size.max(1), false);
    for batch in data.batches_then(part, chunks, None, on_device(device)) {
        let batch = batch?;
        let rows = batch.rows();
        let out = model.forward(&batch.x, ForwardMode::Eval)?.detach();
        let l = smoothed_loss(train.loss, &out, &batch.y, None, train.label_smoothing)?
            .to_dtype(DType::F32)?
            .to_scalar::<f32>()?;
        loss_sum += f64::from(l) * rows as f64;
        let probs = model.probabilities(&out)?.detach();
        outputs = probs.dim(1)?;
        for (&t, p) in batch.labels.iter().zip(predict(&probs)?) {
            confusion.add(t, p);
        }
        probs_all.extend(probs.flatten_all()?.to_vec1::<f32>()?);
    }
    let loss = if n == 0 {
        f64::NAN
    } else {
        loss_sum / n as f64 + penalty
    };
    Ok(Evaluation {
        loss,
        confusion,
        probs: probs_all,
        truth: data.labels(part).to_vec(),
        outputs,
    })
}

/// A metric family: its name, then its per-class, macro and weighted figures.
type Family = (
    Metric,
    &'static str,
    fn(&Confusion, usize) -> f64,
    fn(&Confusion) -> f64,
    fn(&Confusion) -> f64,
);

/// The metric values of an evaluation, each named `{prefix}{metric}`
/// (`prefix` is `val_` or `test_`). `per_class` adds `_precision_3` … and
/// the weighted averages (for the test split).
pub(crate) fn named_metrics(
    prefix: &str,
    eval: &Evaluation,
    requested: &[Metric],
    top_k: Option<usize>,
    per_class: bool,
) -> BTreeMap<String, f64> {
    let c = &eval.confusion;
    let mut m = BTreeMap::new();
    m.insert(format!("{prefix}loss"), eval.loss);
    m.insert(format!("{prefix}accuracy"), c.accuracy());
    let families: [Family; 3] = [
        (
            Metric::Precision,
            "precision",
            Confusion::precision,
            Confusion::macro_precision,
            Confusion::weighted_precision,
        ),
        (
            Metric::Recall,
            "recall",
            Confusion::recall,
            Confusion::macro_recall,
            Confusion::weighted_recall,
        ),
        (
            Metric::F1,
            "f1",
            Confusion::f1,
            Confusion::macro_f1,
            Confusion::weighted_f1,
        ),
    ];
    for (metric, name, per, macro_avg, weighted) in families {
        if !requested.contains(&metric) {
            continue;
        }
        m.insert(format!("{prefix}{name}"), macro_avg(c));
        if per_class {
            m.insert(format!("{prefix}{name}_weighted"), weighted(c));
            for class in 0..c.classes() {
                m.insert(format!("{prefix}{name}_{class}"), per(c, class));
            }
        }
    }
    if let Some(k) = top_k
        && eval.outputs > 1
    {
        m.insert(
            format!("{prefix}top_k"),
            top_k_accuracy(&eval.probs, eval.outputs, &eval.truth, k),
        );
    }
    m
}
