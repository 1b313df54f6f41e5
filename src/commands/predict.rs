//! `dlp predict RUN_DIR INPUT… [--weights best|last] [--out FILE]`:
//! classifies new inputs with a run's model and exactly its preprocessing
//! ([`crate::run::predict`]), and writes `predictions.csv` (or prints it):
//! `input,class,probability`, then the next most probable classes as
//! `class_2,probability_2,…`. Inputs that cannot be read or do not fit the
//! model are named on stderr; the others are still predicted, and the
//! command then exits 1.

use crate::cli::{PredictArgs, WeightsChoice};
use crate::error::{Error, Result};
use crate::records::atomic;
use crate::run::device;
use crate::run::predict::{Prediction, Predictor, Weights};
use std::path::Path;
use std::time::Instant;

pub(crate) fn run(args: &PredictArgs) -> Result<i32> {
    let weights = match args.weights {
        None => Weights::Tested,
        Some(WeightsChoice::Best) => Weights::Best,
        Some(WeightsChoice::Last) => Weights::Last,
    };
    let spec = args.device.as_deref().map(device::parse).transpose()?;
    let predictor = Predictor::open(&args.run, weights, spec)?;
    let k = args
        .top_k
        .or(predictor.plan.evaluate.top_k)
        .unwrap_or(3)
        .clamp(1, predictor.classes.len());
    let started = Instant::now();
    let (samples, bad) = predictor.read(&args.inputs);
    let read = started.elapsed();
    let predictions = predictor.predict(&samples)?;
    let model = started.elapsed() - read;
    let text = csv_text(&predictions, &predictor.classes, k, args.out.as_deref())?;
    match &args.out {
        Some(path) => {
            atomic::write(path, &text)?;
            crate::terminal::errln!(
                "{} predicted with {} → {} (reading {:.2} s, the model {:.2} s: {:.0} inputs/s)",
                count(predictions.len(), "input"),
                predictor.weights.display(),
                path.display(),
                read.as_secs_f64(),
                model.as_secs_f64(),
                predictions.len() as f64 / model.as_secs_f64().max(1e-9)
            );
        }
        None => crate::terminal::out(&String::from_utf8_lossy(&text))?,
    }
    if bad.is_empty() {
        return Ok(0);
    }
    for e in &bad {
        crate::terminal::errln!("error: {e}");
    }
    crate::terminal::errln!(
        "error: {} could not be predicted ({} were)",
        count(bad.len(), "input"),
        predictions.len()
    );
    Ok(1)
}

fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// `predictions.csv`: one row per input, the `k` most probable classes.
fn csv_text(
    predictions: &[Prediction],
    classes: &[String],
    k: usize,
    out: Option<&Path>,
) -> Result<Vec<u8>> {
    let mut header: Vec<String> = ["input", "class", "probability"].map(String::from).to_vec();
    for i in 2..=k {
        header.push(format!("class_{i}"));
        header.push(format!("probability_{i}"));
    }
    let name = |c: usize| classes.get(c).cloned().unwrap_or_else(|| c.to_string());
    let rows: Vec<Vec<String>> = predictions
        .iter()
        .map(|p| {
            let mut row = vec![p.name.clone(), name(p.class), p.probability().to_string()];
            for &(c, q) in p.ranked.iter().filter(|(c, _)| *c != p.class).take(k - 1) {
                row.push(name(c));
                row.push(q.to_string());
            }
            row
        })
        .collect();
    let path = out.unwrap_or(Path::new("predictions.csv"));
    atomic::csv_bytes(path, &header, &rows)
        .map_err(|e| Error::Runtime(format!("cannot render the predictions: {e}")))
}
