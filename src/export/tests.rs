//! The layer walk: every layer statement the schema accepts exports, and
//! the exported graph, run by tract, computes what dlp's model computes —
//! so a new layer kind without an export fails here, as `schema_walk` does
//! for statements. Also: `grayscale` in the graph is PIL's integer luma,
//! bit for bit.

use super::graph::{self, Input};
use crate::analyze::schema;
use crate::nn::{ForwardMode, Model};
use crate::plan::{Loss, Plan};
use candle_core::{Device, Tensor};
use prost::Message;
use std::collections::HashMap;
use std::path::Path;

/// A model body exercising `kind`, on CIFAR-10-shaped input (3×32×32).
fn body(kind: &str) -> Option<String> {
    Some(match kind {
        "dense" => "flatten\n  dense 7 activation=relu\n  dense 10 activation=softmax".into(),
        "conv2d" => "conv2d 4 kernel=3 stride=2 padding=same activation=tanh\n  conv2d 3 kernel=2 padding=same\n  conv2d 2 kernel=3 stride=3 padding=valid activation=relu\n  flatten\n  dense 10 activation=softmax".into(),
        "maxpool" => "conv2d 2 kernel=1\n  maxpool 3 stride=2\n  maxpool 2\n  flatten\n  dense 10".into(),
        "avgpool" => "avgpool 2\n  avgpool 3 stride=2\n  flatten\n  dense 10 activation=softmax".into(),
        "global_avgpool" => "conv2d 4 kernel=3\n  global_avgpool\n  dense 10 activation=softmax".into(),
        "flatten" => "flatten\n  dense 10 activation=softmax".into(),
        "dropout" => "flatten\n  dropout 0.5\n  dense 10 activation=softmax".into(),
        "batchnorm" => "conv2d 4 kernel=3\n  batchnorm\n  flatten\n  batchnorm epsilon=0.01\n  dense 10 activation=softmax".into(),
        "relu" | "leaky_relu" | "sigmoid" | "tanh" | "softmax" | "linear" => {
            format!("conv2d 4 kernel=3 stride=3\n  {kind}\n  flatten\n  dense 10\n  {kind}")
        }
        "repeat" => "repeat f=[2, 3] {\n    conv2d $f kernel=3 activation=relu\n  }\n  flatten\n  dense 10 activation=softmax".into(),
        // A residual block with a projection shortcut, batch norm before
        // the merge and a bias-free convolution; three-way add and concat.
        "add" | "block" | "branch" => "block res f s {\n    add {\n      branch {\n        conv2d $f stride=$s padding=same use_bias=false\n        batchnorm\n        relu\n        conv2d $f padding=same\n        batchnorm\n      }\n      branch {\n        conv2d $f kernel=1 stride=$s use_bias=false\n        batchnorm\n      }\n    }\n    relu\n  }\n  res 4 2\n  res 4 1\n  add {\n    branch {}\n    branch { relu }\n    branch { tanh }\n  }\n  global_avgpool\n  dense 10 activation=softmax".into(),
        "concat" => "conv2d 4 stride=2\n  concat {\n    branch { conv2d 2 padding=same activation=relu }\n    branch {}\n    branch { avgpool 1 }\n  }\n  flatten\n  concat {\n    branch { dense 5 }\n    branch { dense 3 activation=tanh }\n  }\n  dense 10".into(),
        _ => return None,
    })
}

fn plan(body: &str, loss: &str, preprocess: &str) -> Plan {
    plan_from("cifar10", body, loss, preprocess)
}

fn plan_from(source: &str, body: &str, loss: &str, preprocess: &str) -> Plan {
    let test = if source.starts_with("blobs") {
        "0.1"
    } else {
        "official"
    };
    let text = format!(
        "data {{\n  source {source}\n  split train=0.8 valid=0.1 test={test}\n}}\n{preprocess}model {{\n  {body}\n}}\ntrain {{\n  loss {loss}\n  epochs 1\n}}\n"
    );
    crate::analyze::analyze_source(&text, Path::new("walk.dlp"), &[])
        .unwrap_or_else(|e| panic!("{text}\n{e}"))
}

/// A deterministic value in [-1, 1] for (i, j).
fn wave(i: usize, j: usize) -> f32 {
    ((i as f32) * 12.9898 + (j as f32) * 78.233).sin()
}

/// The model of `plan` with every tensor moved off its initial value
/// (batch norm's statistics included), and those tensors by name.
fn perturbed(plan: &Plan) -> (Model, graph::Weights) {
    let dev = Device::Cpu;
    let model = Model::new(&plan.model, plan.train.loss, &dev).unwrap();
    let mut state = HashMap::new();
    let mut weights = graph::Weights::new();
    for (j, (name, t)) in model.state().unwrap().into_iter().enumerate() {
        let dims = t.dims().to_vec();
        let v: Vec<f32> = t.flatten_all().unwrap().to_vec1().unwrap();
        let v: Vec<f32> = v
            .iter()
            .enumerate()
            .map(|(i, x)| {
                if name.ends_with("moving_variance") {
                    0.5 + wave(i, j).abs()
                } else {
                    x + 0.3 * wave(i, j)
                }
            })
            .collect();
        state.insert(
            name.clone(),
            Tensor::from_vec(v.clone(), dims.as_slice(), &dev).unwrap(),
        );
        weights.insert(name, (dims, v));
    }
    model.load_state(&state).unwrap();
    (model, weights)
}

fn tract_run(bytes: &[u8], shape: &[usize], x: &[f32]) -> Vec<f32> {
    use tract_onnx::prelude::*;
    let run = || -> TractResult<Vec<f32>> {
        let model = tract_onnx::onnx()
            .model_for_read(&mut std::io::Cursor::new(bytes))?
            .with_input_fact(0, f32::fact(shape).into())?
            .into_optimized()?
            .into_runnable()?;
        let out = model.run(tvec!(Tensor::from_shape(shape, x)?.into()))?;
        Ok(out[0]
            .to_plain_array_view::<f32>()?
            .iter()
            .copied()
            .collect())
    };
    run().unwrap_or_else(|e| panic!("tract: {e:?}"))
}

fn encode(built: graph::Built) -> Vec<u8> {
    super::proto::ModelProto {
        ir_version: 8,
        producer_name: "dlp".into(),
        graph: Some(built.graph),
        opset_import: vec![super::proto::OperatorSetIdProto {
            domain: String::new(),
            version: 17,
        }],
        ..Default::default()
    }
    .encode_to_vec()
}

#[test]
fn every_layer_kind_exports_and_computes_what_dlp_computes() {
    let kinds = schema::statements("model");
    assert!(kinds.contains(&"conv2d") && kinds.contains(&"repeat"));
    let mut checked = Vec::new();
    for &kind in kinds {
        let body = body(kind).unwrap_or_else(|| {
            panic!("layer `{kind}` has no export case: map it in export/graph.rs and add it here")
        });
        for loss in ["cross_entropy", "mse"] {
            let plan = plan(&body, loss, "");
            let (model, weights) = perturbed(&plan);
            let built = graph::build(&plan.model, plan.train.loss, &weights, &Input::Network)
                .unwrap_or_else(|e| panic!("{kind}: {e}"));
            let shape = [2, 3, 32, 32];
            let x: Vec<f32> = (0..shape.iter().product()).map(|i| wave(i, 99)).collect();
            let got = tract_run(&encode(built), &shape, &x);
            let t = Tensor::from_vec(x, &shape[..], &Device::Cpu).unwrap();
            let out = model.forward(&t, ForwardMode::Eval).unwrap();
            let want: Vec<f32> = model
                .probabilities(&out)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            assert_eq!(got.len(), want.len(), "{kind}");
            let worst = got
                .iter()
                .zip(&want)
                .map(|(g, w)| (g - w).abs())
                .fold(0f32, f32::max);
            assert!(worst <= 1e-5, "{kind} ({loss}): tract differs by {worst}");
            if plan.train.loss == Loss::CrossEntropy {
                checked.push(kind);
            }
        }
    }
    assert_eq!(checked, kinds);
}

#[test]
fn grayscale_in_the_graph_is_pils_integer_luma_exactly() {
    // The network is `flatten` alone: the output is the grey pixels.
    let mut plan = plan("flatten\n  dense 10", "mse", "preprocess { grayscale }\n");
    plan.model.layers.truncate(1);
    let built = graph::build(
        &plan.model,
        Loss::Mse,
        &graph::Weights::new(),
        &Input::Raw {
            grayscale: true,
            rgb: false,
            affine: crate::data::preprocess::Affine {
                a: vec![1.0],
                b: vec![0.0],
                group_len: 1024,
            },
        },
    )
    .unwrap();
    let bytes = encode(built);
    // Every value 0..=255 in each channel, and pseudo-random triples,
    // including those whose luma sits on a rounding boundary.
    let mut triples: Vec<[u8; 3]> = (0..=255u8).map(|v| [v, 255 - v, v / 2]).collect();
    triples.extend((0..768).map(|i| [0, 1, 2].map(|c| (wave(i, c).abs() * 255.0) as u8)));
    let x: Vec<f32> = triples.iter().flatten().map(|&v| f32::from(v)).collect();
    let got = tract_run(&bytes, &[1, 32, 32, 3], &x);
    for (t, g) in triples.iter().zip(&got) {
        assert_eq!(
            *g,
            f32::from(crate::data::convert::luma(t[0], t[1], t[2])),
            "{t:?}"
        );
    }
}
