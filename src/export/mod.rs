//! `dlp export`: a finished run's model as one ONNX file, with the run's
//! preprocessing inside the graph unless asked otherwise, so a consumer
//! feeds what `dlp predict` reads and gets the probabilities it prints.
//!
//! The run folder is opened exactly as `dlp predict` opens it
//! ([`crate::run::predict::Predictor`]: the same weights file, the same
//! check that the tensors fit the pipeline, the same class names and
//! preprocessing statistics); [`graph`] maps the layers and the
//! preprocessing to ONNX operators; [`proto`] holds the protobuf messages.
//! The file is written atomically, and the export is recorded in the run
//! folder's `export.yaml`, which `dlp status` and `report.html` read.

pub(crate) mod graph;
pub mod proto;
#[cfg(test)]
mod tests;

use crate::data::download::md5_hex;
use crate::error::{Error, Result};
use crate::plan::{DeviceSpec, Shape};
use crate::records::export_yaml::{self, Export};
use crate::records::{Manifest, Status, atomic};
use crate::run::predict::{Predictor, Weights};
use prost::Message;
use std::path::{Path, PathBuf};

/// The opsets dlp writes: every operator it uses has had its current
/// semantics since opset 13.
pub(crate) const OPSETS: std::ops::RangeInclusive<i64> = 13..=21;
/// The default opset.
pub(crate) const DEFAULT_OPSET: i64 = 17;
/// The default output file, in the run folder.
pub(crate) const DEFAULT_FILE: &str = "model.onnx";
/// What to export.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub weights: Weights,
    pub out: Option<PathBuf>,
    pub opset: i64,
    /// The run's preprocessing inside the graph (raw values in).
    pub preprocessing: bool,
}

/// The run statuses whose weights are final.
fn finished(status: Status) -> bool {
    matches!(
        status,
        Status::Completed | Status::StoppedEarly | Status::Pruned
    )
}

/// Exports the run in `dir`; returns what was written.
pub(crate) fn export(dir: &Path, opts: &Options) -> Result<Export> {
    if !OPSETS.contains(&opts.opset) {
        return Err(Error::Usage(format!(
            "--opset {}: dlp writes opsets {} to {}",
            opts.opset,
            OPSETS.start(),
            OPSETS.end()
        )));
    }
    let manifest = Manifest::read_run_folder(dir)?;
    let yaml = dir.join(crate::records::manifest::FILE);
    if !finished(manifest.status) {
        let why = match manifest.status {
            Status::Running => "the run is still running: export it once it has finished",
            Status::Interrupted => {
                "the run was interrupted, not finished: continue it with `dlp run --resume` first"
            }
            Status::Crashed => {
                "the run crashed, not finished: continue it with `dlp run --resume` first"
            }
            Status::Diverged => {
                "the run diverged (its loss became NaN or infinite): its weights are not a model"
            }
            _ => "the run failed, not finished: it has no final weights",
        };
        return Err(Error::file(&yaml, why));
    }
    let predictor = Predictor::open(dir, opts.weights, Some(DeviceSpec::Cpu))?;
    let mut weights = graph::Weights::new();
    for (name, t) in predictor.model().state()? {
        let dims = t.dims().to_vec();
        let values = t
            .to_dtype(candle_core::DType::F32)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        weights.insert(name, (dims, values));
    }
    let plan = &predictor.plan;
    let (affine, load) = predictor.preprocessing();
    let input = if opts.preprocessing {
        graph::Input::Raw {
            grayscale: load.grayscale,
            rgb: load.rgb,
            affine: affine.clone(),
        }
    } else {
        graph::Input::Network
    };
    let built = graph::build(&plan.model, plan.train.loss, &weights, &input)
        .map_err(|e| Error::file(&predictor.weights, e.to_string()))?;
    let out = opts.out.clone().unwrap_or_else(|| dir.join(DEFAULT_FILE));
    let dims = |d: &[graph::Dim]| {
        d.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    let input_text = format!(
        "{} float32 [{}] {}",
        graph::INPUT,
        dims(&built.input_dims),
        built.input_layout
    );
    let output_text = format!("{} float32 [{}]", graph::OUTPUT, dims(&built.output_dims));
    let pipeline = std::fs::read(dir.join("pipeline.dlp")).unwrap_or_default();
    let plan_yaml = serde_yaml_ng::to_string(&manifest.plan).unwrap_or_default();
    let input_meaning = match (opts.preprocessing, plan.model.input) {
        (false, _) => "the network's own input: values after the run's preprocessing".to_string(),
        (true, Shape::Flat(_)) if !predictor.columns().is_empty() => format!(
            "raw feature values, the CSV columns {} in this order",
            predictor.columns().join(", ")
        ),
        (true, Shape::Flat(_)) => "raw feature values, in the data's order".to_string(),
        (true, Shape::Image { .. }) => format!(
            "raw pixel values 0–255 as float32, height×width×channel{}{}",
            if load.grayscale || load.rgb {
                " (1 or 3 channels)"
            } else {
                ""
            },
            match load.resize {
                Some((h, w)) =>
                    format!("; resized to {h}×{w} beforehand (the graph does not resize)"),
                None => String::new(),
            }
        ),
    };
    let preprocessing_json = serde_json::to_string(&manifest.preprocessing).unwrap_or_default();
    let weights_name = predictor
        .weights
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let meta: Vec<(&str, String)> = vec![
        ("dlp.version", env!("CARGO_PKG_VERSION").to_string()),
        ("dlp.pipeline", plan.name.clone()),
        ("dlp.pipeline_md5", md5_hex(&pipeline)),
        ("dlp.plan_md5", md5_hex(plan_yaml.as_bytes())),
        (
            "dlp.classes",
            serde_json::to_string(&predictor.classes).unwrap_or_default(),
        ),
        ("dlp.weights", weights_name.clone()),
        ("dlp.input", input_text.clone()),
        ("dlp.input_meaning", input_meaning),
        ("dlp.output", output_text.clone()),
        (
            "dlp.output_meaning",
            "class probabilities in dlp.classes order, as `dlp predict` prints them".into(),
        ),
        (
            "dlp.preprocessing",
            if opts.preprocessing {
                format!("inside the graph: {preprocessing_json}")
            } else {
                format!("not in the graph: {preprocessing_json}")
            },
        ),
        (
            "dlp.columns",
            serde_json::to_string(predictor.columns()).unwrap_or_default(),
        ),
    ];
    let model = proto::ModelProto {
        ir_version: proto::ir_version(opts.opset),
        producer_name: "dlp".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        domain: String::new(),
        model_version: 1,
        doc_string: format!(
            "{} exported by dlp {} from {}",
            plan.name,
            env!("CARGO_PKG_VERSION"),
            predictor.weights.display()
        ),
        graph: Some(built.graph),
        opset_import: vec![proto::OperatorSetIdProto {
            domain: String::new(),
            version: opts.opset,
        }],
        metadata_props: meta
            .into_iter()
            .map(|(k, v)| proto::StringStringEntryProto {
                key: k.into(),
                value: v,
            })
            .collect(),
    };
    atomic::write(&out, &model.encode_to_vec())?;
    let file = match (out.canonicalize(), dir.canonicalize()) {
        (Ok(o), Ok(d)) => o
            .strip_prefix(&d)
            .map_or_else(|_| o.display().to_string(), |r| r.display().to_string()),
        _ => out.display().to_string(),
    };
    let export = Export {
        file,
        format: "onnx".into(),
        opset: opts.opset,
        weights: weights_name,
        preprocessing: opts.preprocessing,
        exported: crate::records::manifest::rfc3339(std::time::SystemTime::now()),
        input: input_text,
        output: output_text,
    };
    record(dir, &manifest, &export)?;
    Ok(export)
}

/// Adds `export` to the run folder's `export.yaml` and rewrites its
/// `report.html`, if it has one, so the page mentions it.
fn record(dir: &Path, manifest: &Manifest, export: &Export) -> Result<()> {
    export_yaml::add(dir, export)?;
    if dir.join(crate::report::page::FILE).is_file() {
        crate::report::page::write_run_page(dir, manifest)?;
    }
    Ok(())
}
