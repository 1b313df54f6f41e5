//! The schema walk: every statement, variant and parameter the schema
//! accepts must change the resolved plan (what every later stage reads and
//! `dlp plan --format yaml` prints), raise a warning that says why it does
//! not, or be refused — so a key that is accepted and ignored (as `train
//! seed=` was) cannot come back. The ids are read from [`schema`] itself: a
//! new statement, variant or parameter without a case here fails the test.

use super::schema;
use crate::plan::Plan;
use std::collections::BTreeSet;
use std::path::Path;

/// Every statement, variant and parameter the schema accepts, as ids:
/// `train.early_stop` (the statement), `train.early_stop.patience` (a
/// parameter), `train.optimizer[sgd]` (a variant), `train.optimizer[sgd].lr`,
/// `head:train.seed` (a section head's parameter), `evaluate.metrics:f1`
/// (a metric word).
fn schema_ids() -> Vec<String> {
    let mut out = Vec::new();
    let mut add = |id: String| {
        if !out.contains(&id) {
            out.push(id);
        }
    };
    for &top in schema::TOP_LEVEL {
        add(top.to_string());
        if let Some(sp) = schema::spec("", top, None) {
            for k in sp.all().filter(|k| *k != top) {
                add(format!("{top}.{k}"));
            }
        }
    }
    for &section in schema::SECTIONS {
        for kind in schema::variants("", section) {
            let id = match kind {
                Some(k) => format!("head:{section}[{k}]"),
                None => format!("head:{section}"),
            };
            if kind.is_some() {
                add(id.clone());
            }
            if let Some(sp) = schema::spec("", section, kind) {
                for k in sp.all().filter(|k| *k != "kind") {
                    add(format!("{id}.{k}"));
                }
            }
        }
        for &stmt in schema::statements(section) {
            add(format!("{section}.{stmt}"));
            for kind in schema::variants(section, stmt) {
                let id = match kind {
                    Some(k) => format!("{section}.{stmt}[{k}]"),
                    None => format!("{section}.{stmt}"),
                };
                if kind.is_some() {
                    add(id.clone());
                }
                if let Some(sp) = schema::spec(section, stmt, kind) {
                    for k in sp.all().filter(|k| *k != "kind") {
                        add(format!("{id}.{k}"));
                    }
                }
            }
        }
    }
    for m in schema::METRICS {
        add(format!("evaluate.metrics:{m}"));
    }
    out
}

/// What writing a statement or parameter must do.
#[derive(Debug, Clone, Copy)]
enum Effect {
    /// The resolved plan differs (beyond which values are defaults), with
    /// no warning.
    Plan,
    /// The pipeline is valid and a warning containing this says why the
    /// statement changes nothing.
    Warns(&'static str),
    /// The pipeline is refused with an error containing this.
    Rejected(&'static str),
}
use Effect::{Plan as P, Rejected as R, Warns as W};

/// Flat features, three classes.
const B: &str = "seed 7
data {
  source blobs samples=60 centers=3 features=2 std=1.5
  split train=0.6 valid=0.2 test=0.2
}
model {
  dense 8 activation=relu
  #M
  dense 3 activation=softmax
}
train {
  loss cross_entropy
  epochs 2
  #T
}
#X
";

/// 32×32×3 images (CIFAR-10's shape; nothing is read at analysis).
const I: &str = "seed 7
data {
  source cifar10
  split train=100 test=official
}
#P
#A
model {
  conv2d 4
  #M
  flatten
  dense 10 activation=softmax
}
train {
  loss cross_entropy
  epochs 2
}
";

/// A data file next to the pipeline (the fixtures of [`files`]).
const F: &str = "data {
  source csv \"a.csv\" label=y
  split train=0.5 test=0.5
}
model {
  flatten
  dense 2 activation=softmax
}
train {
  loss cross_entropy
  epochs 1
}
";

const CSV: &str = "source csv \"a.csv\" label=y";
const IDX: &str = "source idx images=\"img.idx\" labels=\"lab.idx\"";

type Edits = &'static [(&'static str, &'static str)];

/// Each id, the template, the edits giving the pipeline without and with
/// what the id names, and what writing it must do.
#[rustfmt::skip]
const CASES: &[(&str, &str, Edits, Edits, Effect)] = &[
    ("seed", B, &[], &[("seed 7", "seed 8")], P),
    ("let", B, &[], &[("seed 7", "seed 7\nlet w = 9"), ("dense 8 ", "dense $w ")], P),
    // --- data ---
    ("data.source", B, &[], &[("  source blobs samples=60 centers=3 features=2 std=1.5\n", "")], R("data has no source")),
    ("data.source[cifar10]", I, &[("cifar10", "mnist")], &[], P),
    ("data.source[mnist]", I, &[], &[("cifar10", "mnist")], P),
    ("data.source[fashion_mnist]", I, &[], &[("cifar10", "fashion_mnist")], P),
    ("data.source[blobs]", B, &[("source blobs samples=60 centers=3 features=2 std=1.5", CSV)], &[], P),
    ("data.source[blobs].samples", B, &[], &[("samples=60", "samples=61")], P),
    ("data.source[blobs].centers", B, &[], &[("centers=3", "centers=4"), ("dense 3 ", "dense 4 ")], P),
    ("data.source[blobs].features", B, &[], &[("features=2", "features=3")], P),
    ("data.source[blobs].std", B, &[], &[("std=1.5", "std=2")], P),
    ("data.source[blobs].seed", B, &[], &[("std=1.5", "std=1.5 seed=3")], P),
    ("data.source[blobs].generator", B, &[], &[("std=1.5", "std=1.5 generator=numpy")], P),
    ("data.source[csv]", F, &[(CSV, IDX)], &[], P),
    ("data.source[csv].path", F, &[], &[("\"a.csv\"", "\"b.csv\"")], P),
    ("data.source[csv].label", F, &[], &[("label=y", "label=z")], P),
    ("data.source[images]", F, &[], &[(CSV, "source images \"imgs\"")], P),
    ("data.source[images].path", F, &[(CSV, "source images \"imgs\"")], &[(CSV, "source images \"imgs2\"")], P),
    ("data.source[idx]", F, &[], &[(CSV, IDX)], P),
    ("data.source[idx].images", F, &[(CSV, IDX)], &[(CSV, "source idx images=\"img2.idx\" labels=\"lab.idx\"")], P),
    ("data.source[idx].labels", F, &[(CSV, IDX)], &[(CSV, "source idx images=\"img.idx\" labels=\"lab2.idx\"")], P),
    ("data.source[idx].test_images", F, &[(CSV, IDX)], &[(CSV, "source idx images=\"img.idx\" labels=\"lab.idx\" test_images=\"img2.idx\"")], R("test_images needs test_labels too")),
    ("data.source[idx].test_labels", F, &[(CSV, IDX)], &[(CSV, "source idx images=\"img.idx\" labels=\"lab.idx\" test_images=\"img.idx\" test_labels=\"lab2.idx\""), ("test=0.5", "test=official")], P),
    ("data.split", B, &[], &[("  split train=0.6 valid=0.2 test=0.2\n", "")], R("data has no split")),
    ("data.split.train", B, &[], &[("train=0.6", "train=0.5")], P),
    ("data.split.valid", B, &[], &[("valid=0.2", "valid=0.1")], P),
    ("data.split.test", B, &[], &[("test=0.2", "test=0.1")], P),
    ("data.split.stratify", B, &[], &[("test=0.2", "test=0.2 stratify=true")], P),
    ("data.split.shuffle", B, &[], &[("test=0.2", "test=0.2 shuffle=false")], P),
    ("data.split.validate_on", B, &[(" valid=0.2", "")], &[(" valid=0.2", ""), ("test=0.2", "test=0.2 validate_on=test")], P),
    ("data.split.seed", B, &[], &[("test=0.2", "test=0.2 seed=3")], P),
    // --- preprocess ---
    ("preprocess.grayscale", I, &[], &[("#P", "preprocess { grayscale }")], P),
    ("preprocess.rgb", I, &[], &[("#P", "preprocess { rgb }")], P),
    ("preprocess.resize", I, &[], &[("#P", "preprocess { resize 16 16 }")], P),
    ("preprocess.resize.height", I, &[("#P", "preprocess { resize 16 16 }")], &[("#P", "preprocess { resize 20 16 }")], P),
    ("preprocess.resize.width", I, &[("#P", "preprocess { resize 16 16 }")], &[("#P", "preprocess { resize 16 20 }")], P),
    ("preprocess.scale", I, &[], &[("#P", "preprocess { scale 2 }")], P),
    ("preprocess.scale.factor", I, &[("#P", "preprocess { scale 2 }")], &[("#P", "preprocess { scale 3 }")], P),
    ("preprocess.normalize", I, &[], &[("#P", "preprocess { normalize }")], P),
    ("preprocess.normalize.method", I, &[("#P", "preprocess { normalize }")], &[("#P", "preprocess { normalize per_channel }")], P),
    ("preprocess.normalize.per_channel", I, &[("#P", "preprocess { normalize }")], &[("#P", "preprocess { normalize per_channel=true }")], P),
    ("preprocess.one_hot", B, &[], &[("#X", "preprocess { one_hot }")], W("one_hot changes nothing")),
    // --- augment ---
    ("head:augment.seed", I, &[("#A", "augment { flip horizontal }")], &[("#A", "augment seed=3 { flip horizontal }")], P),
    ("augment.rotate", I, &[], &[("#A", "augment { rotate 10 }")], P),
    ("augment.rotate.degrees", I, &[("#A", "augment { rotate 10 }")], &[("#A", "augment { rotate 20 }")], P),
    ("augment.rotate.fill", I, &[("#A", "augment { rotate 10 }")], &[("#A", "augment { rotate 10 fill=wrap }")], P),
    ("augment.shift", I, &[], &[("#A", "augment { shift 0.1 0.1 }")], P),
    ("augment.shift.width", I, &[("#A", "augment { shift 0.1 0.1 }")], &[("#A", "augment { shift 0.2 0.1 }")], P),
    ("augment.shift.height", I, &[("#A", "augment { shift 0.1 0.1 }")], &[("#A", "augment { shift 0.1 0.2 }")], P),
    ("augment.shift.fill", I, &[("#A", "augment { shift 0.1 0.1 }")], &[("#A", "augment { shift 0.1 0.1 fill=reflect }")], P),
    ("augment.zoom", I, &[], &[("#A", "augment { zoom 0.1 }")], P),
    ("augment.zoom.factor", I, &[("#A", "augment { zoom 0.1 }")], &[("#A", "augment { zoom 0.2 }")], P),
    ("augment.zoom.fill", I, &[("#A", "augment { zoom 0.1 }")], &[("#A", "augment { zoom 0.1 fill=constant }")], P),
    ("augment.fill", I, &[("#A", "augment { rotate 10 }")], &[("#A", "augment { rotate 10; fill constant }")], P),
    ("augment.fill.mode", I, &[("#A", "augment { rotate 10; fill constant }")], &[("#A", "augment { rotate 10; fill reflect }")], P),
    ("augment.flip", I, &[], &[("#A", "augment { flip horizontal }")], P),
    ("augment.flip.mode", I, &[("#A", "augment { flip horizontal }")], &[("#A", "augment { flip vertical }")], P),
    ("augment.brightness", I, &[], &[("#A", "augment { brightness 0.8 1.2 }")], P),
    ("augment.brightness.low", I, &[("#A", "augment { brightness 0.8 1.2 }")], &[("#A", "augment { brightness 0.9 1.2 }")], P),
    ("augment.brightness.high", I, &[("#A", "augment { brightness 0.8 1.2 }")], &[("#A", "augment { brightness 0.8 1.3 }")], P),
    ("augment.crop", I, &[], &[("#A", "augment { crop 32 }")], P),
    ("augment.crop.size", I, &[("#A", "augment { crop 32 }")], &[("#A", "augment { crop 16 }")], R("crop 16 would train on 16×16 images but evaluate on 32×32")),
    ("augment.crop.padding", I, &[("#A", "augment { crop 32 }")], &[("#A", "augment { crop 32 padding=4 }")], P),
    // --- model ---
    ("head:model.seed", B, &[], &[("model {", "model seed=3 {")], P),
    ("model.dense", B, &[], &[("#M", "dense 4")], P),
    ("model.dense.units", B, &[], &[("dense 8 ", "dense 9 ")], P),
    ("model.dense.activation", B, &[], &[("dense 8 activation=relu", "dense 8 activation=tanh")], P),
    ("model.dense.l2", B, &[], &[("dense 8 activation=relu", "dense 8 activation=relu l2=0.01")], P),
    ("model.conv2d", I, &[], &[("#M", "conv2d 4")], P),
    ("model.conv2d.filters", I, &[], &[("  conv2d 4\n", "  conv2d 5\n")], P),
    ("model.conv2d.kernel", I, &[], &[("  conv2d 4\n", "  conv2d 4 kernel=5\n")], P),
    ("model.conv2d.stride", I, &[], &[("  conv2d 4\n", "  conv2d 4 stride=2\n")], P),
    ("model.conv2d.padding", I, &[], &[("  conv2d 4\n", "  conv2d 4 padding=same\n")], P),
    ("model.conv2d.activation", I, &[], &[("  conv2d 4\n", "  conv2d 4 activation=relu\n")], P),
    ("model.conv2d.l2", I, &[], &[("  conv2d 4\n", "  conv2d 4 l2=0.01\n")], P),
    ("model.conv2d.use_bias", I, &[], &[("  conv2d 4\n", "  conv2d 4 use_bias=false\n")], P),
    ("model.maxpool", I, &[], &[("#M", "maxpool")], P),
    ("model.maxpool.size", I, &[("#M", "maxpool")], &[("#M", "maxpool 3")], P),
    ("model.maxpool.stride", I, &[("#M", "maxpool")], &[("#M", "maxpool stride=1")], P),
    ("model.avgpool", I, &[], &[("#M", "avgpool")], P),
    ("model.avgpool.size", I, &[("#M", "avgpool")], &[("#M", "avgpool 3")], P),
    ("model.avgpool.stride", I, &[("#M", "avgpool")], &[("#M", "avgpool stride=1")], P),
    ("model.global_avgpool", I, &[], &[("  flatten\n", "  global_avgpool\n")], P),
    ("model.flatten", I, &[], &[("  flatten\n", "")], R("dense after a 30×30×4 feature map: add flatten")),
    ("model.dropout", B, &[], &[("#M", "dropout 0.5")], P),
    ("model.dropout.rate", B, &[("#M", "dropout 0.5")], &[("#M", "dropout 0.4")], P),
    ("model.dropout.seed", B, &[("#M", "dropout 0.5")], &[("#M", "dropout 0.5 seed=3")], P),
    ("model.batchnorm", B, &[], &[("#M", "batchnorm")], P),
    ("model.batchnorm.momentum", B, &[("#M", "batchnorm")], &[("#M", "batchnorm momentum=0.9")], P),
    ("model.batchnorm.epsilon", B, &[("#M", "batchnorm")], &[("#M", "batchnorm epsilon=0.01")], P),
    ("model.relu", B, &[], &[("#M", "relu")], P),
    ("model.leaky_relu", B, &[], &[("#M", "leaky_relu")], P),
    ("model.leaky_relu.alpha", B, &[("#M", "leaky_relu")], &[("#M", "leaky_relu 0.1")], P),
    ("model.sigmoid", B, &[], &[("#M", "sigmoid")], P),
    ("model.tanh", B, &[], &[("#M", "tanh")], P),
    ("model.softmax", B, &[], &[("#M", "softmax")], P),
    ("model.linear", B, &[], &[("#M", "linear")], P),
    ("model.repeat", B, &[], &[("#M", "repeat u=[4, 5] {\n    dense $u\n  }")], P),
    ("model.block", B, &[], &[("#M", "block two u { dense $u; dense $u }\n  two 4")], P),
    ("model.add", B, &[], &[("#M", "add { branch { dense 8 }\n branch {} }")], P),
    ("model.concat", B, &[], &[("#M", "concat { branch { dense 4 }\n branch {} }")], P),
    ("model.branch", B, &[], &[("#M", "branch { dense 4 }")], R("branch { … } goes directly inside add { … } or concat { … }")),
    // --- train ---
    ("head:train.seed", B, &[], &[("train {", "train seed=3 {")], P),
    ("train.loss", B, &[], &[("loss cross_entropy", "loss mse")], P),
    ("train.optimizer", B, &[], &[("#T", "optimizer sgd")], P),
    ("train.optimizer[sgd]", B, &[("#T", "optimizer adam")], &[("#T", "optimizer sgd")], P),
    ("train.optimizer[sgd].lr", B, &[("#T", "optimizer sgd")], &[("#T", "optimizer sgd lr=0.5")], P),
    ("train.optimizer[sgd].momentum", B, &[("#T", "optimizer sgd")], &[("#T", "optimizer sgd momentum=0.5")], P),
    ("train.optimizer[sgd].nesterov", B, &[("#T", "optimizer sgd")], &[("#T", "optimizer sgd nesterov=true")], P),
    ("train.optimizer[sgd].clip_norm", B, &[("#T", "optimizer sgd")], &[("#T", "optimizer sgd clip_norm=1")], P),
    ("train.optimizer[sgd].decay", B, &[("#T", "optimizer sgd")], &[("#T", "optimizer sgd decay=0.1")], P),
    ("train.optimizer[adam]", B, &[("#T", "optimizer sgd")], &[("#T", "optimizer adam")], P),
    ("train.optimizer[adam].lr", B, &[("#T", "optimizer adam")], &[("#T", "optimizer adam lr=0.5")], P),
    ("train.optimizer[adam].beta1", B, &[("#T", "optimizer adam")], &[("#T", "optimizer adam beta1=0.5")], P),
    ("train.optimizer[adam].beta2", B, &[("#T", "optimizer adam")], &[("#T", "optimizer adam beta2=0.9")], P),
    ("train.optimizer[adam].epsilon", B, &[("#T", "optimizer adam")], &[("#T", "optimizer adam epsilon=0.1")], P),
    ("train.optimizer[adam].clip_norm", B, &[("#T", "optimizer adam")], &[("#T", "optimizer adam clip_norm=1")], P),
    ("train.optimizer[adam].decay", B, &[("#T", "optimizer adam")], &[("#T", "optimizer adam decay=0.1")], P),
    ("train.optimizer[adamw]", B, &[("#T", "optimizer adam")], &[("#T", "optimizer adamw")], P),
    ("train.optimizer[adamw].lr", B, &[("#T", "optimizer adamw")], &[("#T", "optimizer adamw lr=0.5")], P),
    ("train.optimizer[adamw].beta1", B, &[("#T", "optimizer adamw")], &[("#T", "optimizer adamw beta1=0.5")], P),
    ("train.optimizer[adamw].beta2", B, &[("#T", "optimizer adamw")], &[("#T", "optimizer adamw beta2=0.9")], P),
    ("train.optimizer[adamw].epsilon", B, &[("#T", "optimizer adamw")], &[("#T", "optimizer adamw epsilon=0.1")], P),
    ("train.optimizer[adamw].weight_decay", B, &[("#T", "optimizer adamw")], &[("#T", "optimizer adamw weight_decay=0.1")], P),
    ("train.optimizer[adamw].clip_norm", B, &[("#T", "optimizer adamw")], &[("#T", "optimizer adamw clip_norm=1")], P),
    ("train.optimizer[adamw].decay", B, &[("#T", "optimizer adamw")], &[("#T", "optimizer adamw decay=0.1")], P),
    ("train.optimizer[rmsprop]", B, &[("#T", "optimizer adam")], &[("#T", "optimizer rmsprop")], P),
    ("train.optimizer[rmsprop].lr", B, &[("#T", "optimizer rmsprop")], &[("#T", "optimizer rmsprop lr=0.5")], P),
    ("train.optimizer[rmsprop].rho", B, &[("#T", "optimizer rmsprop")], &[("#T", "optimizer rmsprop rho=0.5")], P),
    ("train.optimizer[rmsprop].momentum", B, &[("#T", "optimizer rmsprop")], &[("#T", "optimizer rmsprop momentum=0.5")], P),
    ("train.optimizer[rmsprop].epsilon", B, &[("#T", "optimizer rmsprop")], &[("#T", "optimizer rmsprop epsilon=0.1")], P),
    ("train.optimizer[rmsprop].clip_norm", B, &[("#T", "optimizer rmsprop")], &[("#T", "optimizer rmsprop clip_norm=1")], P),
    ("train.optimizer[rmsprop].decay", B, &[("#T", "optimizer rmsprop")], &[("#T", "optimizer rmsprop decay=0.1")], P),
    ("train.optimizer[adagrad]", B, &[("#T", "optimizer adam")], &[("#T", "optimizer adagrad")], P),
    ("train.optimizer[adagrad].lr", B, &[("#T", "optimizer adagrad")], &[("#T", "optimizer adagrad lr=0.5")], P),
    ("train.optimizer[adagrad].initial_accumulator", B, &[("#T", "optimizer adagrad")], &[("#T", "optimizer adagrad initial_accumulator=0.5")], P),
    ("train.optimizer[adagrad].epsilon", B, &[("#T", "optimizer adagrad")], &[("#T", "optimizer adagrad epsilon=0.1")], P),
    ("train.optimizer[adagrad].clip_norm", B, &[("#T", "optimizer adagrad")], &[("#T", "optimizer adagrad clip_norm=1")], P),
    ("train.optimizer[adagrad].decay", B, &[("#T", "optimizer adagrad")], &[("#T", "optimizer adagrad decay=0.1")], P),
    ("train.schedule", B, &[], &[("#T", "schedule cosine")], P),
    ("train.schedule[constant]", B, &[("#T", "schedule cosine")], &[("#T", "schedule constant")], P),
    ("train.schedule[constant].warmup", B, &[("#T", "schedule constant")], &[("#T", "schedule constant warmup=2")], P),
    ("train.schedule[step]", B, &[], &[("#T", "schedule step every=1 factor=0.5")], P),
    ("train.schedule[step].every", B, &[("#T", "schedule step every=1 factor=0.5")], &[("#T", "schedule step every=2 factor=0.5")], P),
    ("train.schedule[step].factor", B, &[("#T", "schedule step every=1 factor=0.5")], &[("#T", "schedule step every=1 factor=0.25")], P),
    ("train.schedule[step].warmup", B, &[("#T", "schedule step every=1 factor=0.5")], &[("#T", "schedule step every=1 factor=0.5 warmup=2")], P),
    ("train.schedule[exponential]", B, &[("#T", "schedule step every=1 factor=0.5")], &[("#T", "schedule exponential every=1 factor=0.5")], P),
    ("train.schedule[exponential].every", B, &[("#T", "schedule exponential every=1 factor=0.5")], &[("#T", "schedule exponential every=2 factor=0.5")], P),
    ("train.schedule[exponential].factor", B, &[("#T", "schedule exponential every=1 factor=0.5")], &[("#T", "schedule exponential every=1 factor=0.25")], P),
    ("train.schedule[exponential].warmup", B, &[("#T", "schedule exponential every=1 factor=0.5")], &[("#T", "schedule exponential every=1 factor=0.5 warmup=2")], P),
    ("train.schedule[cosine]", B, &[], &[("#T", "schedule cosine")], P),
    ("train.schedule[cosine].min", B, &[("#T", "schedule cosine")], &[("#T", "schedule cosine min=1e-4")], P),
    ("train.schedule[cosine].warmup", B, &[("#T", "schedule cosine")], &[("#T", "schedule cosine warmup=2")], P),
    ("train.schedule[linear]", B, &[], &[("#T", "schedule linear")], P),
    ("train.schedule[linear].to", B, &[("#T", "schedule linear")], &[("#T", "schedule linear to=1e-4")], P),
    ("train.schedule[linear].warmup", B, &[("#T", "schedule linear")], &[("#T", "schedule linear warmup=2")], P),
    ("train.schedule[plateau]", B, &[], &[("#T", "schedule plateau")], P),
    ("train.schedule[plateau].monitor", B, &[("#T", "schedule plateau")], &[("#T", "schedule plateau monitor=val_accuracy")], P),
    ("train.schedule[plateau].factor", B, &[("#T", "schedule plateau")], &[("#T", "schedule plateau factor=0.5")], P),
    ("train.schedule[plateau].patience", B, &[("#T", "schedule plateau")], &[("#T", "schedule plateau patience=2")], P),
    ("train.schedule[plateau].min_delta", B, &[("#T", "schedule plateau")], &[("#T", "schedule plateau min_delta=0.1")], P),
    ("train.schedule[plateau].min_lr", B, &[("#T", "schedule plateau")], &[("#T", "schedule plateau min_lr=1e-5")], P),
    ("train.schedule[plateau].mode", B, &[("#T", "schedule plateau")], &[("#T", "schedule plateau mode=max")], P),
    ("train.schedule[plateau].warmup", B, &[("#T", "schedule plateau")], &[("#T", "schedule plateau warmup=2")], P),
    ("train.schedule[constant].warmup_lr", B, &[("#T", "schedule constant warmup=1")], &[("#T", "schedule constant warmup=1 warmup_lr=0.1")], P),
    ("train.schedule[step].warmup_lr", B, &[("#T", "schedule step every=1 factor=0.5 warmup=1")], &[("#T", "schedule step every=1 factor=0.5 warmup=1 warmup_lr=0.1")], P),
    ("train.schedule[exponential].warmup_lr", B, &[("#T", "schedule exponential every=1 factor=0.5 warmup=1")], &[("#T", "schedule exponential every=1 factor=0.5 warmup=1 warmup_lr=0.1")], P),
    ("train.schedule[cosine].warmup_lr", B, &[("#T", "schedule cosine warmup=1")], &[("#T", "schedule cosine warmup=1 warmup_lr=0.1")], P),
    ("train.schedule[linear].warmup_lr", B, &[("#T", "schedule linear warmup=1")], &[("#T", "schedule linear warmup=1 warmup_lr=0.1")], P),
    ("train.schedule[plateau].warmup_lr", B, &[("#T", "schedule plateau warmup=1")], &[("#T", "schedule plateau warmup=1 warmup_lr=0.1")], P),
    ("train.schedule[milestones]", B, &[("#T", "schedule step every=1 factor=0.5")], &[("#T", "schedule milestones at=[1]")], P),
    ("train.schedule[milestones].at", B, &[("#T", "schedule milestones at=[1]")], &[("#T", "schedule milestones at=[1, 2]")], P),
    ("train.schedule[milestones].factor", B, &[("#T", "schedule milestones at=[1]")], &[("#T", "schedule milestones at=[1] factor=0.5")], P),
    ("train.schedule[milestones].warmup", B, &[("#T", "schedule milestones at=[1]")], &[("#T", "schedule milestones at=[1] warmup=1")], P),
    ("train.schedule[milestones].warmup_lr", B, &[("#T", "schedule milestones at=[1] warmup=1")], &[("#T", "schedule milestones at=[1] warmup=1 warmup_lr=0.1")], P),
    ("train.loss.label_smoothing", B, &[], &[("loss cross_entropy", "loss cross_entropy label_smoothing=0.1")], P),
    ("train.optimizer[sgd].weight_decay", B, &[("#T", "optimizer sgd")], &[("#T", "optimizer sgd weight_decay=0.1")], P),
    // --- transfer (`src/` and `src2/` hold a model.safetensors for B's model) ---
    ("transfer.from", B, &[], &[("#X", "transfer {\n  from \"src\"\n}")], P),
    ("transfer.from.run", B, &[("#X", "transfer {\n  from \"src\"\n}")], &[("#X", "transfer {\n  from \"src2\"\n}")], P),
    ("transfer.from.layers", B, &[("#X", "transfer {\n  from \"src\"\n}")], &[("#X", "transfer {\n  from \"src\" layers=[dense]\n}")], P),
    ("transfer.from.match", B, &[("#X", "transfer {\n  from \"src\"\n}")], &[("#X", "transfer {\n  from \"src\" match=position\n}")], R("match=position reads src/run.yaml")),
    ("transfer.freeze", B, &[("#X", "transfer {\n  from \"src\"\n}")], &[("#X", "transfer {\n  from \"src\"\n  freeze loaded\n}")], P),
    ("transfer.freeze.layers", B, &[("#X", "transfer {\n  from \"src\"\n  freeze loaded\n}")], &[("#X", "transfer {\n  from \"src\"\n  freeze [dense]\n}")], P),
    ("transfer.unfreeze", B, &[("#X", "transfer {\n  from \"src\"\n  freeze loaded\n}")], &[("#X", "transfer {\n  from \"src\"\n  freeze loaded\n  unfreeze after=1\n}")], P),
    ("transfer.unfreeze.after", B, &[("#X", "transfer {\n  from \"src\"\n  freeze loaded\n  unfreeze after=1\n}")], &[("#X", "transfer {\n  from \"src\"\n  freeze loaded\n  unfreeze after=2\n}")], P),
    ("transfer.unfreeze.factor", B, &[("#X", "transfer {\n  from \"src\"\n  freeze loaded\n  unfreeze after=1\n}")], &[("#X", "transfer {\n  from \"src\"\n  freeze loaded\n  unfreeze after=1 factor=0.5\n}")], P),
    ("train.batch", B, &[], &[("#T", "batch 16")], P),
    ("train.batch.size", B, &[("#T", "batch 16")], &[("#T", "batch all")], P),
    ("train.batch.drop_last", B, &[("#T", "batch 16")], &[("#T", "batch 16 drop_last=true")], P),
    ("train.batch.seed", B, &[("#T", "batch 16")], &[("#T", "batch 16 seed=3")], P),
    ("train.epochs", B, &[], &[("  epochs 2\n", "")], R("train has no epochs")),
    ("train.epochs.count", B, &[], &[("epochs 2", "epochs 3")], P),
    ("train.early_stop", B, &[], &[("#T", "early_stop")], P),
    ("train.early_stop.monitor", B, &[("#T", "early_stop")], &[("#T", "early_stop monitor=val_accuracy")], P),
    ("train.early_stop.min_delta", B, &[("#T", "early_stop")], &[("#T", "early_stop min_delta=0.1")], P),
    ("train.early_stop.patience", B, &[("#T", "early_stop")], &[("#T", "early_stop patience=3")], P),
    ("train.early_stop.restore_best", B, &[("#T", "early_stop")], &[("#T", "early_stop restore_best=true")], P),
    ("train.early_stop.mode", B, &[("#T", "early_stop")], &[("#T", "early_stop mode=max")], P),
    ("train.checkpoint", B, &[], &[("#T", "checkpoint")], P),
    ("train.checkpoint.monitor", B, &[("#T", "checkpoint")], &[("#T", "checkpoint monitor=val_accuracy")], P),
    ("train.checkpoint.best_only", B, &[("#T", "checkpoint")], &[("#T", "checkpoint best_only=true")], P),
    ("train.checkpoint.mode", B, &[("#T", "checkpoint")], &[("#T", "checkpoint mode=max")], P),
    ("train.class_weight", B, &[], &[("#T", "class_weight balanced")], P),
    ("train.class_weight.weights", B, &[("#T", "class_weight balanced")], &[("#T", "class_weight [1, 2, 3]")], P),
    ("train.device", B, &[], &[("#T", "device cpu")], P),
    ("train.device.device", B, &[("#T", "device cpu")], &[("#T", "device cuda:1")], P),
    // --- evaluate, diagnose, sweep ---
    ("evaluate.metrics", B, &[], &[("#X", "evaluate { metrics f1 }")], P),
    ("evaluate.metrics.top_k", B, &[("#X", "evaluate { metrics f1 }")], &[("#X", "evaluate { metrics f1 top_k=2 }")], P),
    ("evaluate.metrics.weights", B, &[("#T", "early_stop restore_best=true"), ("#X", "evaluate { metrics f1 }")], &[("#T", "early_stop restore_best=true"), ("#X", "evaluate { metrics f1 weights=last }")], P),
    ("evaluate.weights", B, &[("#T", "early_stop restore_best=true")], &[("#T", "early_stop restore_best=true"), ("#X", "evaluate { weights last }")], P),
    ("evaluate.weights.which", B, &[("#T", "checkpoint best_only=true"), ("#X", "evaluate { weights best }")], &[("#T", "checkpoint best_only=true"), ("#X", "evaluate { weights last }")], P),
    ("evaluate.metrics:accuracy", B, &[("#X", "evaluate { metrics f1 }")], &[("#X", "evaluate { metrics f1 accuracy }")], W("metrics accuracy changes nothing")),
    ("evaluate.metrics:precision", B, &[("#X", "evaluate { metrics f1 }")], &[("#X", "evaluate { metrics f1 precision }")], P),
    ("evaluate.metrics:recall", B, &[("#X", "evaluate { metrics f1 }")], &[("#X", "evaluate { metrics f1 recall }")], P),
    ("evaluate.metrics:f1", B, &[("#X", "evaluate { metrics recall }")], &[("#X", "evaluate { metrics recall f1 }")], P),
    ("evaluate.metrics:confusion", B, &[("#X", "evaluate { metrics f1 }")], &[("#X", "evaluate { metrics f1 confusion }")], W("metrics confusion changes nothing")),
    ("diagnose.human_error", B, &[], &[("#X", "diagnose { human_error 0.05 }")], P),
    ("diagnose.human_error.value", B, &[("#X", "diagnose { human_error 0.05 }")], &[("#X", "diagnose { human_error 0.1 }")], P),
    ("diagnose.human_error.tolerance", B, &[("#X", "diagnose { human_error 0.05 }")], &[("#X", "diagnose { human_error 0.05 tolerance=0.1 }")], P),
    ("head:sweep[grid]", B, &[], &[("#X", "sweep grid { train.epochs = [2, 3] }")], P),
    ("head:sweep[random]", B, &[("#X", "sweep grid { train.epochs = [2, 3] }")], &[("#X", "sweep random trials=2 { train.epochs = [2, 3] }")], P),
    ("head:sweep[random].trials", B, &[("#X", "sweep random trials=2 { train.epochs = [2, 3] }")], &[("#X", "sweep random trials=3 { train.epochs = [2, 3] }")], P),
    ("head:sweep[random].seed", B, &[("#X", "sweep random trials=2 { train.epochs = [2, 3] }")], &[("#X", "sweep random trials=2 seed=5 { train.epochs = [2, 3] }")], P),
    ("head:sweep[grid].monitor", B, &[("#X", "sweep grid { train.epochs = [2, 3] }")], &[("#X", "sweep grid monitor=val_accuracy { train.epochs = [2, 3] }")], P),
    ("head:sweep[grid].goal", B, &[("#X", "sweep grid { train.epochs = [2, 3] }")], &[("#X", "sweep grid goal=max { train.epochs = [2, 3] }")], P),
    ("head:sweep[grid].prune", B, &[("#X", "sweep grid { train.epochs = [2, 3] }")], &[("#X", "sweep grid prune=median { train.epochs = [2, 3] }")], P),
    ("head:sweep[grid].warmup", B, &[("#X", "sweep grid prune=median { train.epochs = [2, 3] }")], &[("#X", "sweep grid prune=median warmup=3 { train.epochs = [2, 3] }")], P),
    ("head:sweep[grid].startup", B, &[("#X", "sweep grid prune=median { train.epochs = [2, 3] }")], &[("#X", "sweep grid prune=median startup=2 { train.epochs = [2, 3] }")], P),
    ("head:sweep[random].monitor", B, &[("#X", "sweep random trials=2 { train.epochs = [2, 3] }")], &[("#X", "sweep random trials=2 monitor=val_accuracy { train.epochs = [2, 3] }")], P),
    ("head:sweep[random].goal", B, &[("#X", "sweep random trials=2 { train.epochs = [2, 3] }")], &[("#X", "sweep random trials=2 goal=max { train.epochs = [2, 3] }")], P),
    ("head:sweep[random].prune", B, &[("#X", "sweep random trials=2 { train.epochs = [2, 3] }")], &[("#X", "sweep random trials=2 prune=median { train.epochs = [2, 3] }")], P),
    ("head:sweep[random].warmup", B, &[("#X", "sweep random trials=2 prune=median { train.epochs = [2, 3] }")], &[("#X", "sweep random trials=2 prune=median warmup=3 { train.epochs = [2, 3] }")], P),
    ("head:sweep[random].startup", B, &[("#X", "sweep random trials=2 prune=median { train.epochs = [2, 3] }")], &[("#X", "sweep random trials=2 prune=median startup=2 { train.epochs = [2, 3] }")], P),
];

/// The data files `F` pipelines read: CSVs, two image folders, IDX files.
fn files(dir: &Path) {
    let w = |name: &str, text: &[u8]| {
        std::fs::write(dir.join(name), text).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    w("a.csv", b"x1,x2,y,z\n1,2,a,p\n2,1,b,q\n3,4,a,p\n4,3,b,q\n");
    // A run folder's weights for B's model (dense 8 on 2 features, dense 3).
    for run in ["src", "src2"] {
        let cpu = candle_core::Device::Cpu;
        let t = |dims: &[usize]| {
            candle_core::Tensor::zeros(dims, candle_core::DType::F32, &cpu)
                .unwrap_or_else(|e| panic!("tensor: {e}"))
        };
        let tensors = vec![
            ("dense/kernel".to_string(), t(&[2, 8])),
            ("dense/bias".to_string(), t(&[8])),
            ("dense_1/kernel".to_string(), t(&[8, 3])),
            ("dense_1/bias".to_string(), t(&[3])),
        ];
        std::fs::create_dir_all(dir.join(run)).unwrap_or_else(|e| panic!("{run}: {e}"));
        crate::records::atomic::write_safetensors(
            &dir.join(run).join("model.safetensors"),
            tensors,
            None,
        )
        .unwrap_or_else(|e| panic!("{run}: {e}"));
    }
    w("b.csv", b"x1,y\n1,a\n2,b\n3,a\n4,b\n");
    for (folder, side) in [("imgs", 4u32), ("imgs2", 6)] {
        for class in ["cat", "dog"] {
            let d = dir.join(folder).join(class);
            std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
            for i in 0..2u8 {
                let img = image::RgbImage::from_pixel(side, side, image::Rgb([i, 2, 3]));
                img.save(d.join(format!("{i}.png")))
                    .unwrap_or_else(|e| panic!("png: {e}"));
            }
        }
    }
    let idx = |name: &str, dims: &[usize]| {
        let n: usize = dims.iter().product();
        let data: Vec<u8> = (0..n).map(|i| (i % 2) as u8).collect();
        crate::data::synth::write_idx(&dir.join(name), dims, &data, false)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    };
    idx("img.idx", &[10, 4, 4]);
    idx("img2.idx", &[10, 5, 5]);
    idx("lab.idx", &[10]);
    let labels: Vec<u8> = (0..10).map(|i| ((i / 5) % 2) as u8).collect();
    crate::data::synth::write_idx(&dir.join("lab2.idx"), &[10], &labels, false)
        .unwrap_or_else(|e| panic!("lab2.idx: {e}"));
}

/// The plan as YAML without the set of defaulted paths (writing a default
/// value explicitly is not an effect).
fn yaml(plan: &Plan) -> serde_yaml_ng::Value {
    let mut v = serde_yaml_ng::to_value(plan).unwrap_or_else(|e| panic!("yaml: {e}"));
    if let serde_yaml_ng::Value::Mapping(m) = &mut v {
        m.remove("defaults");
    }
    v
}

fn apply(template: &str, edits: Edits) -> Result<String, String> {
    let mut text = template.to_string();
    for (find, replace) in edits {
        if !text.contains(find) {
            return Err(format!("{find:?} is not in the template"));
        }
        text = text.replacen(find, replace, 1);
    }
    Ok(text)
}

type Analysis = Result<(Plan, Vec<String>), String>;

fn analyse(text: &str, path: &Path) -> Analysis {
    match super::analyze_source_with_warnings(text, path, &[]) {
        Ok((plan, warnings)) => Ok((
            plan,
            warnings
                .diagnostics
                .into_iter()
                .map(|w| w.message)
                .collect(),
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// Why a case does not hold, or `None`.
fn check(effect: Effect, before: &Analysis, after: &Analysis) -> Option<String> {
    let (plan0, warnings0) = match before {
        Ok(ok) => ok,
        Err(e) => return Some(format!("the pipeline without it is invalid:\n{e}")),
    };
    if !warnings0.is_empty() {
        return Some(format!(
            "the pipeline without it warns:\n{}",
            warnings0.join("\n")
        ));
    }
    match (effect, after) {
        (Effect::Plan, Ok((plan, warnings))) if warnings.is_empty() => {
            (yaml(plan) == yaml(plan0)).then(|| "accepted and the plan is unchanged".to_string())
        }
        (Effect::Warns(m), Ok((_, warnings))) => (!warnings.iter().any(|w| w.contains(m)))
            .then(|| format!("no warning {m:?}: {warnings:?}")),
        (Effect::Rejected(m), Err(e)) => {
            (!e.contains(m)).then(|| format!("refused, but not with {m:?}:\n{e}"))
        }
        (_, Ok((_, warnings))) => Some(format!("accepted (warnings: {warnings:?})")),
        (_, Err(e)) => Some(format!("refused:\n{e}")),
    }
}

#[test]
fn every_statement_and_parameter_changes_the_plan_or_is_refused() {
    let ids = schema_ids();
    let cased: BTreeSet<&str> = CASES.iter().map(|c| c.0).collect();
    let missing: Vec<&String> = ids
        .iter()
        .filter(|id| !cased.contains(id.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "accepted by the schema but without a case (add one showing what each changes): {missing:?}"
    );
    let stale: Vec<&&str> = cased
        .iter()
        .filter(|c| !ids.iter().any(|id| id == *c))
        .collect();
    assert!(
        stale.is_empty(),
        "cases for ids the schema no longer has: {stale:?}"
    );
    assert_eq!(cased.len(), CASES.len(), "an id has two cases");

    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    files(tmp.path());
    let path = tmp.path().join("p.dlp");
    let mut failures = Vec::new();
    for &(id, template, without, with, effect) in CASES {
        let texts = apply(template, without).and_then(|a| Ok((a, apply(template, with)?)));
        let (before, after) = match texts {
            Ok(t) => t,
            Err(e) => {
                failures.push(format!("{id}: {e}"));
                continue;
            }
        };
        if let Some(why) = check(effect, &analyse(&before, &path), &analyse(&after, &path)) {
            failures.push(format!(
                "{id}: {why}\n--- without:\n{before}--- with:\n{after}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The walk itself can fail: a key that the analyzer read and dropped
/// (`train seed=` before it seeded anything) leaves the plan unchanged.
#[test]
fn the_walk_catches_an_ignored_key() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let path = tmp.path().join("p.dlp");
    // `device auto` is the default: written out it changes nothing, as an
    // ignored key would not.
    let before = apply(B, &[]).unwrap_or_default();
    let after = apply(B, &[("#T", "device auto")]).unwrap_or_default();
    let why = check(P, &analyse(&before, &path), &analyse(&after, &path));
    assert_eq!(why.as_deref(), Some("accepted and the plan is unchanged"));
}
