//! The defaults the editor's hover shows (`schema::param_doc`) against the
//! analyzer's: a pipeline that leaves a parameter out must resolve to the
//! same plan as one that writes the documented default, for every
//! parameter whose documented default is a value.

use dlp::analyze::{analyze_source, schema};
use std::path::Path;

/// An image pipeline with a statement of each kind the cases set.
const IMAGES: &str = "seed 1
data {
  source cifar10
  split train=0.9 valid=0.1 test=official
}
preprocess { normalize mean_std }
augment {
  crop 32
  rotate 10
}
model {
  conv2d 4
  batchnorm
  leaky_relu
  maxpool
  avgpool
  dropout 0.1
  flatten
  dense 10 activation=softmax
}
train {
  loss cross_entropy
  optimizer OPTIMIZER
  batch 32
  epochs 2
}
";

/// A tabular pipeline for the blobs source's and the split's parameters.
const BLOBS: &str = "data {
  source blobs
  split train=0.6 valid=0.2 test=0.2
}
model {
  dense 8
  dense 3 activation=softmax
}
train {
  loss cross_entropy
  optimizer adam
  epochs 2
}
";

/// The plan as YAML without what legitimately differs: source positions
/// and the list of parameters that took their default.
fn resolved(source: &str, set: &[String]) -> serde_yaml_ng::Value {
    fn strip(v: &mut serde_yaml_ng::Value) {
        match v {
            serde_yaml_ng::Value::Mapping(m) => {
                for key in ["loc", "source_loc", "defaults"] {
                    m.remove(key);
                }
                m.values_mut().for_each(strip);
            }
            serde_yaml_ng::Value::Sequence(s) => s.iter_mut().for_each(strip),
            serde_yaml_ng::Value::Tagged(t) => strip(&mut t.value),
            _ => {}
        }
    }
    let plan =
        analyze_source(source, Path::new("d.dlp"), set).unwrap_or_else(|e| panic!("{set:?}: {e}"));
    let mut v = serde_yaml_ng::to_value(&plan).unwrap();
    strip(&mut v);
    v
}

#[test]
fn hover_defaults_are_the_analyzers() {
    // (pipeline, --set path, statement and parameter in the hover table)
    let cases: &[(&str, &str, (&str, &str))] = &[
        (BLOBS, "seed", ("seed", "seed")),
        (BLOBS, "data.source.samples", ("source", "samples")),
        (BLOBS, "data.source.centers", ("source", "centers")),
        (BLOBS, "data.source.features", ("source", "features")),
        (BLOBS, "data.source.std", ("source", "std")),
        (BLOBS, "data.source.generator", ("source", "generator")),
        (BLOBS, "data.split.stratify", ("split", "stratify")),
        (BLOBS, "data.split.shuffle", ("split", "shuffle")),
        (BLOBS, "model.dense.activation", ("dense", "activation")),
        (BLOBS, "model.dense.l2", ("dense", "l2")),
        (
            BLOBS,
            "train.loss.label_smoothing",
            ("loss", "label_smoothing"),
        ),
        (
            IMAGES,
            "preprocess.normalize.per_channel",
            ("normalize", "per_channel"),
        ),
        (IMAGES, "augment.crop.padding", ("crop", "padding")),
        (IMAGES, "model.conv2d.kernel", ("conv2d", "kernel")),
        (IMAGES, "model.conv2d.padding", ("conv2d", "padding")),
        (IMAGES, "model.conv2d.activation", ("conv2d", "activation")),
        (IMAGES, "model.conv2d.l2", ("conv2d", "l2")),
        (IMAGES, "model.maxpool.size", ("maxpool", "size")),
        (IMAGES, "model.avgpool.size", ("avgpool", "size")),
        (
            IMAGES,
            "model.batchnorm.momentum",
            ("batchnorm", "momentum"),
        ),
        (IMAGES, "model.batchnorm.epsilon", ("batchnorm", "epsilon")),
        (IMAGES, "model.leaky_relu.alpha", ("leaky_relu", "alpha")),
    ];
    let optimizers: &[(&str, &[&str])] = &[
        (
            "sgd",
            &["momentum", "nesterov", "weight_decay", "clip_norm", "decay"],
        ),
        ("adam", &["beta1", "beta2", "epsilon"]),
        ("adamw", &["weight_decay"]),
        ("rmsprop", &["rho"]),
        ("adagrad", &["initial_accumulator"]),
    ];
    let mut checked = 0;
    let mut check = |source: &str, path: &str, (stmt, key): (&str, &str), default: &str| {
        let plain = resolved(source, &[]);
        let written = resolved(source, &[format!("{path}={default}")]);
        assert!(
            plain == written,
            "{stmt} {key}: the hover says the default is {default}, but leaving it out \
             resolves otherwise:\n{}\nagainst\n{}",
            serde_yaml_ng::to_string(&plain).unwrap(),
            serde_yaml_ng::to_string(&written).unwrap()
        );
        checked += 1;
    };
    for &(source, path, (stmt, key)) in cases {
        let (_, default) = schema::param_doc(stmt, key).unwrap_or_else(|| panic!("{stmt} {key}"));
        check(
            &source.replace("OPTIMIZER", "adam"),
            path,
            (stmt, key),
            default,
        );
    }
    for &(optimizer, keys) in optimizers {
        let source = IMAGES.replace("OPTIMIZER", optimizer);
        for &key in keys {
            let (_, default) = schema::param_doc("optimizer", key).unwrap();
            // "no clipping" is the absence of the parameter, not a value.
            if default == "no clipping" {
                continue;
            }
            // weight_decay's default names two values, as lr's does.
            let default = if key == "weight_decay" {
                assert_eq!(default, "0.004 for adamw, 0 for sgd");
                if optimizer == "adamw" { "0.004" } else { "0" }
            } else {
                default
            };
            check(
                &source,
                &format!("train.optimizer.{key}"),
                ("optimizer", key),
                default,
            );
        }
        // The learning rate's default names two values.
        let (_, lr) = schema::param_doc("optimizer", "lr").unwrap();
        assert_eq!(lr, "0.01 for sgd, 0.001 otherwise");
        let lr = if optimizer == "sgd" { "0.01" } else { "0.001" };
        check(&source, "train.optimizer.lr", ("optimizer", "lr"), lr);
    }
    assert_eq!(checked, cases.len() + 10 + optimizers.len());
}
