//! A graph model end to end: a residual block with a projection shortcut
//! and a concat branch on colour images trains to the same bytes twice,
//! resumes after an interruption to the bytes of an uninterrupted run,
//! runs over seeds, and `dlp predict` on its test images reproduces its
//! `eval.csv` accuracy; a plain stack keeps its tensor names.

use crate::common::*;
use std::path::Path;

fn pipeline(data: &Path) -> String {
    format!(
        "seed 3
data {{
  source images \"{}\"
  split train=0.8 valid=0.2 test=official
}}
preprocess {{ scale 1/255 }}
model {{
  block res filters stride=1 {{
    add {{
      branch {{
        conv2d $filters stride=$stride padding=same use_bias=false activation=relu
        batchnorm
        conv2d $filters padding=same use_bias=false
        batchnorm
      }}
      branch {{
        conv2d $filters kernel=1 stride=$stride use_bias=false
        batchnorm
      }}
    }}
    relu
  }}
  conv2d 4 padding=same
  res 6 stride=2
  concat {{
    branch {{ conv2d 2 padding=same activation=relu }}
    branch {{}}
  }}
  dropout 0.2
  global_avgpool
  dense 3 activation=softmax
}}
train {{
  loss cross_entropy
  optimizer sgd lr=0.05 momentum=0.9
  batch 16
  epochs 3
}}
",
        data.display()
    )
}

fn bytes(p: impl AsRef<Path>) -> Vec<u8> {
    std::fs::read(p.as_ref()).unwrap_or_else(|e| panic!("{}: {e}", p.as_ref().display()))
}

#[test]
fn a_graph_model_is_deterministic_resumes_and_predicts() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("img");
    colour_folder(&data, 30, 10);
    let p = write(tmp.path(), "g.dlp", &pipeline(&data));
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for out in [&a, &b] {
        let o = run_quiet(&p, out, &[]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    for f in [
        "train.csv",
        "model.safetensors",
        "eval.csv",
        "confusion.csv",
    ] {
        assert_eq!(
            bytes(a.join(f)),
            bytes(b.join(f)),
            "{f} differs between runs"
        );
    }
    // The merged layers' tensors are in the weights file by Keras name.
    let w = candle_core::safetensors::load(a.join("model.safetensors"), &candle_core::Device::Cpu)
        .unwrap();
    assert!(w.contains_key("conv2d_3/kernel") && !w.contains_key("conv2d_3/bias"));
    assert!(w.contains_key("conv2d_4/bias") && w.contains_key("batch_normalization_2/gamma"));

    // Interrupted in epoch 2 (6 steps an epoch), then resumed.
    let cut = tmp.path().join("cut");
    let o = dlp()
        .args(["run", p.to_str().unwrap(), "--quiet", "--out"])
        .arg(&cut)
        .env("DLP_INTERRUPT_AFTER_STEPS", "8")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    let o = run(&["run", "--resume", cut.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for f in ["train.csv", "model.safetensors", "eval.csv"] {
        assert_eq!(
            bytes(a.join(f)),
            bytes(cut.join(f)),
            "{f} differs after resume"
        );
    }

    // Predicting the test images gives eval.csv's accuracy.
    let o = run(&[
        "predict",
        a.to_str().unwrap(),
        data.join("test").to_str().unwrap(),
        "--out",
        tmp.path().join("pred.csv").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let preds = read(tmp.path().join("pred.csv"));
    let rows: Vec<&str> = preds.lines().skip(1).collect();
    assert_eq!(rows.len(), 30, "{preds}");
    let right = rows
        .iter()
        .filter(|r| {
            let mut f = r.split(',');
            let input = f.next().unwrap_or("");
            let class = f.next().unwrap_or("-");
            input.contains(&format!("/{class}/"))
        })
        .count();
    let eval = read(a.join("eval.csv"));
    let acc: f64 = eval
        .lines()
        .find_map(|l| l.strip_prefix("accuracy,"))
        .and_then(|r| r.split(',').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no accuracy row in eval.csv:\n{eval}"));
    assert!(
        (acc - right as f64 / 30.0).abs() < 1e-6,
        "predicted {right}/30 right, eval.csv:\n{eval}"
    );

    // Two seeds run, each drawing its own weights.
    let seeds = tmp.path().join("seeds");
    let o = run_quiet(&p, &seeds, &["--seeds", "2"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_ne!(
        bytes(seeds.join("seed-01/model.safetensors")),
        bytes(seeds.join("seed-02/model.safetensors"))
    );
}

/// The run page draws the graph: a box per node (the input and each
/// layer), an arrow per connection of the plan, each arrow named by the
/// nodes it joins; a plain stack's page has no drawing.
#[test]
fn the_run_page_draws_the_graph() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("img");
    colour_folder(&data, 12, 4);
    let text = pipeline(&data).replace("epochs 3", "epochs 1");
    let p = write(tmp.path(), "g.dlp", &text);
    let run = tmp.path().join("g");
    let o = run_quiet(&p, &run, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let page = read(run.join("report.html"));
    let svg = &page[page
        .find("<svg class=\"model-graph\"")
        .expect("no graph drawing")..];
    let svg = &svg[..svg.find("</svg>").unwrap()];
    let m = dlp::records::Manifest::read(&run).unwrap();
    let layers = &m.plan.model.layers;
    assert_eq!(svg.matches("<g class=\"node\">").count(), layers.len() + 1);
    let edges: usize = layers.iter().map(|l| l.inputs.len().max(1)).sum();
    assert_eq!(svg.matches("class=\"edge\"").count(), edges);
    // The identity branch of the concat: the relu after the add feeds both
    // the concat's convolution and the concat itself.
    let concat = layers.iter().find(|l| l.name == "concatenate").unwrap();
    assert_eq!(concat.inputs.len(), 2);
    for &src in &concat.inputs {
        let from = if src == 0 {
            "input"
        } else {
            layers[src - 1].name.as_str()
        };
        assert!(
            svg.contains(&format!("<title>{from} → concatenate</title>")),
            "{svg}"
        );
    }
    // A stack is not drawn.
    let stack = write(
        tmp.path(),
        "s.dlp",
        &small_blobs("").replace("epochs 12", "epochs 1"),
    );
    let o = run_quiet(&stack, &tmp.path().join("s"), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!read(tmp.path().join("s/report.html")).contains("model-graph"));
}

/// A sweep reaches a block's parameters through a `let` variable: each
/// trial's plan has the swept width in every layer of the block.
#[test]
fn a_sweep_over_a_block_parameter() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("img");
    colour_folder(&data, 12, 4);
    let text = pipeline(&data)
        .replace("seed 3\n", "seed 3\nlet width = 6\n")
        .replace("res 6 stride=2", "res $width stride=2")
        .replace("epochs 3", "epochs 1")
        + "sweep grid {\n  width = [4, 8]\n}\n";
    let p = write(tmp.path(), "s.dlp", &text);
    let out = tmp.path().join("sweep");
    let o = run_quiet(&p, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for (trial, width) in [("trial-001", 4), ("trial-002", 8)] {
        let m = dlp::records::Manifest::read(&out.join(trial)).unwrap();
        let add = m
            .plan
            .model
            .layers
            .iter()
            .find(|l| l.name == "add")
            .unwrap();
        assert_eq!(
            add.output.to_string(),
            format!("(None, 4, 4, {width})"),
            "{trial}"
        );
        // The block's three convolutions (two in the branch, one in the
        // shortcut) all take the width.
        let convs = m.plan.model.layers[1..]
            .iter()
            .filter(|l| l.name.starts_with("conv2d_") && l.name != "conv2d_4")
            .map(|l| l.output.to_string())
            .collect::<Vec<_>>();
        assert_eq!(convs, vec![format!("(None, 4, 4, {width})"); 3], "{trial}");
    }
}
