//! Every shipped pipeline plans; the reference models give Keras'
//! parameter counts; overrides, defaults, seeds, shapes and the `dlp
//! check` / `dlp plan` commands behave as documented.

use dlp::analyze::{self, analyze_source, load, metric_names};
use dlp::plan::summary::{describe, summary};
use dlp::plan::*;
use dlp::rng::{Stream, stream_seed};
use std::path::{Path, PathBuf};

use crate::common::fmt_keeps_meaning;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn pipeline(name: &str) -> PathBuf {
    root().join("pipelines").join(name)
}

fn plan_of(src: &str) -> Plan {
    match analyze_source(src, Path::new("t.dlp"), &[]) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn every_shipped_pipeline_plans() {
    let mut files = Vec::new();
    for dir in ["pipelines", "examples"] {
        let Ok(entries) = std::fs::read_dir(root().join(dir)) else {
            continue;
        };
        for e in entries.flatten() {
            if e.path().extension().is_some_and(|x| x == "dlp") {
                files.push(e.path());
            }
        }
    }
    assert!(files.len() >= 2, "{files:?}");
    for f in files {
        if let Err(e) = load(&f, &[]) {
            panic!("{}: {e}", f.display());
        }
        let src = std::fs::read_to_string(&f).unwrap();
        if let Err(e) = fmt_keeps_meaning(&src, &f) {
            panic!("dlp fmt {}: {e}", f.display());
        }
        // Shipped pipelines are the house style: `dlp fmt --check` passes.
        let formatted = dlp::fmt::format(&src).expect("formats");
        assert_eq!(
            formatted,
            src,
            "{} is not in dlp fmt's layout: run `dlp fmt {0}`",
            f.display()
        );
    }
}

/// Keras, for the book's 4.10 model (`model.summary()`):
///   Total params: 309,290  Trainable params: 308,394  Non-trainable: 896
/// By hand: convs 896 + 9,248 + 18,496 + 36,928 + 73,856 + 147,584,
/// dense 2,048·10 + 10 = 20,490; BN 4·C each for C = 32, 32, 64, 64,
/// 128, 128 (2·C trainable).
#[test]
fn cifar10_parameter_counts_match_keras() {
    let plan = load(&pipeline("cifar10.dlp"), &[]).unwrap();
    let m = &plan.model;
    assert_eq!(m.total_params(), 309_290);
    assert_eq!(m.trainable_params(), 308_394);
    assert_eq!(m.total_params() - m.trainable_params(), 896);
    let names: Vec<&str> = m.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "conv2d",
            "batch_normalization",
            "conv2d_1",
            "batch_normalization_1",
            "max_pooling2d",
            "dropout",
            "conv2d_2",
            "batch_normalization_2",
            "conv2d_3",
            "batch_normalization_3",
            "max_pooling2d_1",
            "dropout_1",
            "conv2d_4",
            "batch_normalization_4",
            "conv2d_5",
            "batch_normalization_5",
            "max_pooling2d_2",
            "dropout_2",
            "flatten",
            "dense",
        ]
    );
    let flatten = &m.layers[18];
    assert_eq!(
        flatten.input,
        Shape::Image {
            channels: 128,
            height: 4,
            width: 4
        }
    );
    assert_eq!(flatten.output, Shape::Flat(2048));
    assert_eq!(
        m.layers[5].layer,
        Layer::Dropout {
            rate: 0.2,
            seed: None
        }
    );
    assert_eq!(
        m.layers[17].layer,
        Layer::Dropout {
            rate: 0.4,
            seed: None
        }
    );
    let text = summary(&plan);
    assert!(
        text.contains(
            "Total params: 309,290\nTrainable params: 308,394\nNon-trainable params: 896\n"
        ),
        "{text}"
    );
    assert!(text.contains(" conv2d_5 (Conv2D)"), "{text}");
}

/// Keras: Dense(25) on 2 features = 75, Dense(3) = 78; 153 in all.
/// ResNet-20 (He et al. 2016, §4.2) with option-B projection shortcuts (a
/// 1×1 convolution with stride 2 and batch norm where a stage starts), the
/// network of `pipelines/cifar10_resnet.dlp`, built in Keras 3.15.1 (jax):
///
/// import os
/// os.environ["KERAS_BACKEND"] = "jax"
/// import keras
/// import numpy as np
/// from keras import layers
///
/// def conv(x, f, k=3, s=1):
///     return layers.Conv2D(f, k, strides=s, padding="same", use_bias=False)(x)
///
/// def block(x, f, down):
///     s = 2 if down else 1
///     y = layers.ReLU()(layers.BatchNormalization()(conv(x, f, s=s)))
///     y = layers.BatchNormalization()(conv(y, f))
///     short = layers.BatchNormalization()(conv(x, f, k=1, s=2)) if down else x
///     return layers.ReLU()(layers.Add()([y, short]))
///
/// inp = keras.Input((32, 32, 3))
/// x = layers.ReLU()(layers.BatchNormalization()(conv(inp, 16)))
/// for f in (16, 32, 64):
///     for i in range(3):
///         x = block(x, f, down=(f != 16 and i == 0))
/// x = layers.GlobalAveragePooling2D()(x)
/// out = layers.Dense(10, activation="softmax")(x)
/// m = keras.Model(inp, out)
/// print(m.count_params(), sum(int(np.prod(w.shape)) for w in m.trainable_weights))
///
/// printed `274042 272474` (total, trainable): 0.27 M, the paper's figure.
#[test]
fn cifar10_resnet_parameter_counts_match_keras() {
    let plan = load(&pipeline("cifar10_resnet.dlp"), &[]).unwrap();
    let m = &plan.model;
    assert_eq!(m.total_params(), 274_042);
    assert_eq!(m.trainable_params(), 272_474);
    // 19 convolutions and the dense layer: ResNet-20's 20 weighted layers,
    // plus the two projections.
    let weighted = m
        .layers
        .iter()
        .filter(|l| {
            matches!(
                l.layer,
                Layer::Conv2d { kernel: 3, .. } | Layer::Dense { .. }
            )
        })
        .count();
    assert_eq!(weighted, 20);
    let adds = m.layers.iter().filter(|l| l.layer == Layer::Add).count();
    assert_eq!(adds, 9);
    assert_eq!(m.output(), Shape::Flat(10));
    let text =
        String::from_utf8_lossy(&dlp(&["plan", "pipelines/cifar10_resnet.dlp"]).stdout).to_string();
    assert!(text.contains("Total params: 274,042"), "{text}");
    assert!(text.contains("Connected to"), "{text}");
    assert!(
        text.contains("batch_normalization_2[0][0], re_lu[0][0]"),
        "{text}"
    );
}

#[test]
fn blobs_plan_is_the_books_exercise() {
    let plan = load(&pipeline("blobs.dlp"), &[]).unwrap();
    assert_eq!(plan.model.total_params(), 153);
    assert_eq!(
        plan.data.source,
        Source::Blobs {
            samples: 1000,
            centers: 3,
            features: 2,
            std: 2.0,
            seed: 2,
            generator: BlobsGenerator::Numpy,
        }
    );
    let s = &plan.data.split;
    assert_eq!(
        (s.train, s.test),
        (
            SplitSize::Count(800),
            TestSplit::Size(SplitSize::Count(200))
        )
    );
    assert!(!s.shuffle && s.validate_on_test && s.valid.is_none());
    assert_eq!(s.seed, stream_seed(2, Stream::Split));
    assert_eq!(plan.model.init_seed, stream_seed(2, Stream::Init));
    assert_eq!(plan.train.shuffle_seed, stream_seed(2, Stream::Shuffle));
    assert_eq!(
        plan.train.optimizer.kind,
        Optimizer::Adam {
            lr: 0.001,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-7
        }
    );
    let es = plan.train.early_stop.as_ref().unwrap();
    assert_eq!(
        (
            es.monitor.as_str(),
            es.mode,
            es.patience,
            es.min_delta,
            es.restore_best
        ),
        ("val_loss", Mode::Min, 50, 0.0, true)
    );
    // restore_best keeps the best weights, so the test split sees them.
    assert_eq!(plan.evaluate.weights, Weights::Best);
    assert_eq!(plan.expect[0].metric, "test_accuracy");
    assert_eq!(
        plan.expect[0].loc,
        Loc {
            line: 29,
            column: 10
        }
    );
    // The Bayes error of the book's points stands in for human error.
    assert_eq!(plan.diagnose.as_ref().map(|d| d.human_error), Some(0.17));
    for d in [
        "train.optimizer.epsilon",
        "train.optimizer.beta1",
        "train.early_stop.min_delta",
        "train.device",
        "data.split.stratify",
        "evaluate.weights",
    ] {
        assert!(
            plan.defaults.contains(d),
            "{d} not marked: {:?}",
            plan.defaults
        );
    }
    for written in [
        "train.optimizer.lr",
        "data.split.shuffle",
        "train.early_stop.patience",
    ] {
        assert!(
            !plan.defaults.contains(written),
            "{written} marked as default"
        );
    }
    let text = describe(&plan);
    assert!(text.contains("epsilon=1e-7 (default)"), "{text}");
    assert!(
        text.contains("kernel_initializer=glorot_uniform (default)"),
        "{text}"
    );
}

#[test]
fn cifar10_defaults_and_seeds() {
    let plan = load(&pipeline("cifar10.dlp"), &[]).unwrap();
    assert_eq!(plan.seed, 42);
    assert_eq!(plan.vars.get("width"), Some(&Value::Int(32)));
    assert_eq!(plan.vars.get("l2"), Some(&Value::Float(1e-4)));
    assert_eq!(plan.data.split.test, TestSplit::Official);
    assert_eq!(
        plan.preprocess,
        vec![Preprocess::Normalize { per_channel: false }]
    );
    assert_eq!(plan.augment.rotate, Some(15.0));
    assert_eq!(plan.augment.shift, Some((0.1, 0.1)));
    assert_eq!(plan.augment.flip, Some(Flip::Horizontal));
    assert_eq!(plan.augment.fill, Some(FillMode::Nearest));
    assert_eq!(plan.augment.seed, stream_seed(42, Stream::Augment));
    assert_eq!(plan.model.dropout_seed, stream_seed(42, Stream::Dropout));
    assert_eq!(
        plan.model.layers[1].layer,
        Layer::BatchNorm {
            momentum: 0.99,
            epsilon: 1e-3
        }
    );
    assert_eq!(
        plan.model.layers[0].layer,
        Layer::Conv2d {
            filters: 32,
            kernel: 3,
            stride: 1,
            padding: Padding::Same,
            activation: Activation::Relu,
            l2: 1e-4,
            use_bias: true,
        }
    );
    assert_eq!(plan.train.optimizer.decay, 1e-6);
    assert_eq!(plan.train.batch, BatchSize::Size(128));
    assert_eq!(plan.evaluate.weights, Weights::Best);
    assert_eq!(
        plan.diagnose,
        Some(DiagnosePlan {
            human_error: 0.05,
            tolerance: 0.02
        })
    );
    assert!(
        plan.defaults
            .contains("model.batch_normalization_3.momentum")
    );
}

/// Keras shapes: same → ⌈n/s⌉, valid → ⌊(n−k)/s⌋+1, pools valid.
/// Conv2D(4, 3, strides=2, padding="same") on 32×32×3: 16×16×4, 112 params;
/// Conv2D(6, 3, strides=2) (valid) on 16×16: 7×7×6, 222 params;
/// MaxPooling2D(3, strides=2) on 7×7: 3×3; GlobalAveragePooling2D: 6.
#[test]
fn shapes_follow_keras() {
    let plan = plan_of(
        "data { source cifar10; split train=0.9 valid=0.1 test=official }
         preprocess { grayscale; resize 30 31; scale 1/255 }
         model {
           conv2d 4 kernel=3 stride=2 padding=same
           conv2d 6 kernel=3 stride=2
           maxpool 3 stride=2
           global_avgpool
           batchnorm
           dense 10 activation=softmax
         }
         train { loss cross_entropy; epochs 1 }",
    );
    let shapes: Vec<Shape> = plan.model.layers.iter().map(|l| l.output).collect();
    let img = |c, h, w| Shape::Image {
        channels: c,
        height: h,
        width: w,
    };
    assert_eq!(plan.model.input, img(1, 30, 31));
    assert_eq!(
        shapes,
        vec![
            img(4, 15, 16),
            img(6, 7, 7),
            img(6, 3, 3),
            Shape::Flat(6),
            Shape::Flat(6),
            Shape::Flat(10)
        ]
    );
    let params: Vec<usize> = plan.model.layers.iter().map(|l| l.params).collect();
    assert_eq!(params, vec![3 * 3 * 4 + 4, 3 * 3 * 4 * 6 + 6, 0, 0, 24, 70]);
    assert_eq!(
        plan.preprocess[2],
        Preprocess::Scale {
            factor: 1.0 / 255.0
        }
    );
}

/// `repeat` nests, binds its names over `let`s inside the body only, and
/// list elements may use spaced arithmetic.
#[test]
fn repeat_nests_and_shadows() {
    let plan = plan_of(
        "let u = 99
         data { source blobs; split train=0.5 valid=0.5 }
         model {
           repeat a=[1, 2] { repeat u=[3, $u - 95] { dense $u*$a } }
           dense $u
           dense 3
         }
         train { loss cross_entropy; epochs 1 }",
    );
    let units: Vec<usize> = plan
        .model
        .layers
        .iter()
        .map(|l| match l.layer {
            Layer::Dense { units, .. } => units,
            _ => 0,
        })
        .collect();
    assert_eq!(units, vec![3, 4, 6, 8, 99, 3]);
    let names: Vec<&str> = plan.model.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "dense", "dense_1", "dense_2", "dense_3", "dense_4", "dense_5"
        ]
    );
}

#[test]
fn optimizer_defaults_follow_keras() {
    let table: &[(&str, Optimizer)] = &[
        (
            "sgd",
            Optimizer::Sgd {
                lr: 0.01,
                momentum: 0.0,
                nesterov: false,
                weight_decay: 0.0,
            },
        ),
        (
            "adam",
            Optimizer::Adam {
                lr: 0.001,
                beta1: 0.9,
                beta2: 0.999,
                epsilon: 1e-7,
            },
        ),
        (
            "adamw",
            Optimizer::AdamW {
                lr: 0.001,
                beta1: 0.9,
                beta2: 0.999,
                epsilon: 1e-7,
                weight_decay: 0.004,
            },
        ),
        (
            "rmsprop",
            Optimizer::RmsProp {
                lr: 0.001,
                rho: 0.9,
                momentum: 0.0,
                epsilon: 1e-7,
            },
        ),
        (
            "adagrad",
            Optimizer::Adagrad {
                lr: 0.001,
                initial_accumulator: 0.1,
                epsilon: 1e-7,
            },
        ),
    ];
    for (name, want) in table {
        let plan = plan_of(&format!(
            "data {{ source blobs; split train=0.8 valid=0.2 }}
             model {{ dense 3 }}
             train {{ loss cross_entropy; optimizer {name}; epochs 1
                      schedule plateau; early_stop; checkpoint }}"
        ));
        assert_eq!(plan.train.optimizer.kind, *want, "{name}");
        assert_eq!(plan.train.optimizer.decay, 0.0);
        assert_eq!(
            plan.train.schedule.kind,
            Schedule::Plateau {
                monitor: "val_loss".into(),
                mode: Mode::Min,
                factor: 0.1,
                patience: 10,
                min_delta: 1e-4,
                min_lr: 0.0
            }
        );
        let es = plan.train.early_stop.unwrap();
        assert_eq!(
            (es.min_delta, es.patience, es.restore_best),
            (0.0, 0, false)
        );
        assert!(!plan.train.checkpoint.unwrap().best_only);
        assert_eq!(plan.evaluate.weights, Weights::Last);
        assert_eq!(plan.train.device, DeviceSpec::Auto);
        assert!(!plan.train.drop_last);
        assert_eq!(plan.train.batch, BatchSize::Size(32));
    }
}

#[test]
fn overrides_set_variables_and_paths() {
    let sets: Vec<String> = [
        "width=16",
        "train.optimizer.lr=0.01",
        "train.batch=64",
        "data.split.train=40000",
        "train.optimizer.beta1=0.8",
        "seed=5",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let plan = load(&pipeline("cifar10.dlp"), &sets).unwrap();
    // Keras for width 16: convs 448 + 2,320 + 4,640 + 9,248 + 18,496 +
    // 36,928, dense 10,250, BN 4·(16+16+32+32+64+64) = 896.
    assert_eq!(plan.model.total_params(), 83_226);
    assert_eq!(plan.vars.get("width"), Some(&Value::Int(16)));
    assert_eq!(plan.train.optimizer.lr(), 0.01);
    assert_eq!(plan.train.batch, BatchSize::Size(64));
    assert_eq!(plan.data.split.train, SplitSize::Count(40000));
    assert!(!plan.defaults.contains("train.optimizer.beta1"));
    assert_eq!(plan.seed, 5);
    // Unknown names are usage errors (exit 2) that list the valid ones.
    for bad in [
        "widht=3",
        "train.optimizer.momentum=0.9",
        "train.nothing=1",
        "noequals",
    ] {
        let err = load(&pipeline("cifar10.dlp"), &[bad.to_string()]).unwrap_err();
        assert!(matches!(err, dlp::error::Error::Usage(_)), "{bad}: {err:?}");
    }
    assert!(
        analyze::valid_targets(&dlp::syntax::parse("let a = 1\ntrain { epochs 3 }").unwrap())
            .contains(&"train.epochs".to_string())
    );
}

#[test]
fn metric_names_follow_the_split() {
    let blobs = load(&pipeline("blobs.dlp"), &[]).unwrap();
    let names = metric_names(&blobs);
    for n in [
        "loss",
        "accuracy",
        "val_loss",
        "val_f1",
        "test_f1_weighted",
        "test_recall_2",
        "test_precision_0",
    ] {
        assert!(names.iter().any(|m| m == n), "{n} missing from {names:?}");
    }
    for n in ["test_recall_3", "test_top_k", "val_error"] {
        assert!(!names.iter().any(|m| m == n), "{n} should not exist");
    }
    let mnist = load(&root().join("examples/mnist_sweep.dlp"), &[]).unwrap();
    assert!(metric_names(&mnist).iter().any(|m| m == "test_top_k"));
    assert_eq!(analyze::num_classes(&mnist), 10);
}

#[test]
fn yaml_round_trips() {
    for f in [
        "pipelines/blobs.dlp",
        "pipelines/cifar10.dlp",
        "examples/mnist_sweep.dlp",
        "examples/binary_grid.dlp",
    ] {
        let plan = load(&root().join(f), &[]).unwrap();
        let text = serde_yaml_ng::to_string(&plan).unwrap();
        let back: Plan = serde_yaml_ng::from_str(&text).unwrap();
        assert_eq!(back, plan, "{f}");
    }
}

/// Relative data paths resolve against the pipeline's folder; a source
/// that cannot be probed is reported at the `source` line.
#[test]
fn unreadable_source_is_reported_at_its_line() {
    let src = "data {\n  source csv \"no/such.csv\" label=y\n  split train=0.8 test=0.2\n}\nmodel { dense 2 }\ntrain { loss cross_entropy; epochs 1 }\n";
    let d = match analyze::diagnose_source(src, Path::new("dir/p.dlp"), &[]) {
        Ok(Err(d)) => d,
        other => panic!("{other:?}"),
    };
    assert_eq!((d[0].line, d[0].column), (2, 3));
    assert!(
        d[0].message.starts_with("cannot read the source: "),
        "{}",
        d[0].message
    );
}

fn dlp(args: &[&str]) -> std::process::Output {
    crate::common::dlp()
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

#[test]
fn check_and_plan_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.dlp");
    std::fs::write(&bad, "model { conv2 3 }\n").unwrap();
    let bad = bad.to_str().unwrap();

    let ok = dlp(&["check", "pipelines/blobs.dlp", "pipelines/cifar10.dlp"]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let out = dlp(&["check", "pipelines/blobs.dlp", bad]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown layer \"conv2\" — did you mean \"conv2d\"?"),
        "{err}"
    );
    assert!(err.contains("bad.dlp:1:9"), "{err}");
    assert_eq!(
        dlp(&["check", "pipelines/blobs.dlp", "--set", "nope=1"])
            .status
            .code(),
        Some(2)
    );

    let plan = dlp(&["plan", "pipelines/cifar10.dlp"]);
    assert_eq!(plan.status.code(), Some(0));
    let text = String::from_utf8_lossy(&plan.stdout);
    assert!(text.contains("Total params: 309,290"), "{text}");
    assert!(text.contains("momentum=0.99 (default)"), "{text}");
    let yaml = dlp(&[
        "plan",
        "pipelines/blobs.dlp",
        "--format",
        "yaml",
        "--set",
        "train.epochs=7",
    ]);
    assert_eq!(yaml.status.code(), Some(0));
    let back: Plan = serde_yaml_ng::from_slice(&yaml.stdout).unwrap();
    assert_eq!(back.train.epochs, 7);
}

// --- Every example in the README is real --------------------------------

/// Files every data source the README shows can be probed against:
/// `dir/` (an image folder, classes a and b, with an official test part),
/// `f.csv` and four IDX files; the quick start's `wines.csv` and `photos/`.
fn readme_fixtures(dir: &Path) {
    for part in ["train", "test"] {
        for class in ["a", "b"] {
            let p = dir.join("dir").join(part).join(class);
            std::fs::create_dir_all(&p).unwrap();
            image::RgbImage::from_pixel(8, 8, image::Rgb([1, 2, 3]))
                .save(p.join("1.png"))
                .unwrap();
        }
    }
    std::fs::write(dir.join("f.csv"), "x1,x2,label\n1,2,a\n3,4,b\n").unwrap();
    // The quick start's own files.
    std::fs::write(
        dir.join("wines.csv"),
        "alcohol,ash,class\n13.2,2.4,a\n12.1,2.2,b\n",
    )
    .unwrap();
    for class in ["cat", "dog"] {
        let p = dir.join("photos").join(class);
        std::fs::create_dir_all(&p).unwrap();
        image::RgbImage::from_pixel(8, 8, image::Rgb([1, 2, 3]))
            .save(p.join("1.png"))
            .unwrap();
    }
    for (name, dims) in [
        ("i.idx", vec![2, 8, 8]),
        ("ti.idx", vec![2, 8, 8]),
        ("l.idx", vec![2]),
        ("tl.idx", vec![2]),
    ] {
        let n: usize = dims.iter().product();
        let data: Vec<u8> = (0..n).map(|i| (i % 2) as u8).collect();
        dlp::data::synth::write_idx(&dir.join(name), &dims, &data, false).unwrap();
    }
}

/// Examples that are templates too loose to fill in mechanically, and the
/// statements that stand for them.
fn readme_exact(example: &str) -> Option<Vec<&'static str>> {
    Some(match example {
        "repeat NAME=[…] { … }" => vec!["repeat u=[4, 8] { conv2d $u }"],
        "repeat N { … }" => vec!["repeat 3 { conv2d 4 }"],
        "block NAME PARAM… { … }" | "block NAME PARAM PARAM=DEFAULT { … }" => {
            vec![
                "block pair u v=2 { conv2d $u; conv2d $v }",
                "block pair u { conv2d $u }",
            ]
        }
        "add { branch { … } … }" | "add { … }" => {
            vec!["add { branch { conv2d 3 padding=same }; branch {} }"]
        }
        "concat { branch { … } … }" | "concat { … }" => {
            vec!["concat { branch { conv2d 4 padding=same }; branch {}; branch { relu } }"]
        }
        "branch { … }" | "branch {}" => vec!["add { branch { relu }; branch {} }"],
        "METRIC OP NUMBER" => vec!["test_accuracy >= 0.5"],
        ">= > <= < ==" => vec![
            "test_accuracy >= 0.5",
            "test_accuracy > 0.5",
            "test_accuracy <= 0.99",
            "test_accuracy < 0.99",
            "test_accuracy == 0.5",
        ],
        "sweep grid { PATH = [..] }" => vec!["sweep grid { train.epochs = [1, 2] }"],
        "sweep random trials=N seed=S { PATH = [..] | uniform(a, b) | loguniform(a, b) }" => vec![
            "sweep random trials=2 seed=1 { train.epochs = [1, 2] }",
            "sweep random trials=2 seed=1 { train.early_stop.patience = uniform(1, 5) }",
            "sweep random trials=2 seed=1 { train.early_stop.min_delta = loguniform(1e-4, 1e-2) }",
        ],
        _ => return None,
    })
}

/// The value for a placeholder: `value` in upper case (`N`, `H`), or an
/// empty `key=`.
fn readme_fill(stmt: &str, key: &str, value: &str) -> Result<String, String> {
    if value.is_empty() {
        let v = match key {
            "samples" => "100",
            "centers" | "features" => "2",
            "std" => "1.5",
            "seed" => "1",
            "images" => "\"i.idx\"",
            "labels" => "\"l.idx\"",
            "test_images" => "\"ti.idx\"",
            "test_labels" => "\"tl.idx\"",
            "train" => "0.6",
            "valid" | "test" => "0.2",
            "every" => "2",
            "factor" => "0.5",
            "min" | "to" => "0.0001",
            "monitor" => "val_loss",
            "drop_last" => "true",
            _ => return Err(format!("no value for `{key}=`: add one to readme_fill")),
        };
        return Ok(v.to_string());
    }
    if !value.chars().all(|c| c.is_ascii_uppercase()) {
        return Ok(value.to_string());
    }
    let v = match (stmt, value) {
        ("shift", "W") => "0.1",
        ("shift", "H") => "0.2",
        (_, "H" | "W") => "4",
        (_, "N") => "3",
        (_, "DEG") => "15",
        (_, "F") => "0.2",
        (_, "LO") => "0.8",
        (_, "HI") => "1.2",
        (_, "SIZE") => "8",
        (_, "P") => "2",
        (_, "E") => "0.05",
        (_, "K") => "1",
        (_, "COL") => "label",
        (_, "RATE") => "0.5",
        (_, "ALPHA") => "0.1",
        (_, "S") => "3",
        (_, "FILTERS") => "4",
        (_, "NAME") => "u",
        (_, "EXPR") => "2 * 3",
        _ => {
            return Err(format!(
                "no value for the placeholder {value}: add one to readme_fill"
            ));
        }
    };
    Ok(v.to_string())
}

/// The concrete statements one example stands for: `a|b` alternatives and
/// `[optional]` words expanded, placeholders filled in.
fn readme_expand(example: &str) -> Result<Vec<String>, String> {
    if let Some(v) = readme_exact(example) {
        return Ok(v.into_iter().map(String::from).collect());
    }
    let text = example.replace(" | ", "|");
    let stmt = text.split_whitespace().next().unwrap_or("").to_string();
    let is_word =
        |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let mut out = vec![String::new()];
    for token in text.split_whitespace() {
        let alts: Vec<String> = match token.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            Some(inner) if is_word(inner) => vec![inner.to_string(), String::new()],
            _ => match token.split_once('=') {
                Some((key, value)) if is_word(key) => value
                    .split('|')
                    .map(|v| Ok(format!("{key}={}", readme_fill(&stmt, key, v)?)))
                    .collect::<Result<_, String>>()?,
                _ => token
                    .split('|')
                    .map(|v| readme_fill(&stmt, "", v))
                    .collect::<Result<_, String>>()?,
            },
        };
        out = out
            .iter()
            .flat_map(|o| {
                alts.iter()
                    .map(move |a| match (o.is_empty(), a.is_empty()) {
                        (_, true) => o.clone(),
                        (true, false) => a.clone(),
                        (false, false) => format!("{o} {a}"),
                    })
            })
            .collect();
    }
    Ok(out)
}

/// A pipeline that is valid on its own, with `stmt` placed in `section`.
fn readme_pipeline(section: &str, stmt: &str) -> String {
    let head = stmt.split_whitespace().next().unwrap_or("");
    let block = |name: &str, lines: &[String]| format!("{name} {{\n  {}\n}}\n", lines.join("\n  "));
    let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut data = own(&[
        "source images \"dir/\"",
        "split train=0.6 valid=0.2 test=0.2",
    ]);
    let mut model = own(&["flatten", "dense 2 activation=softmax"]);
    let mut train = own(&[
        "loss cross_entropy",
        "epochs 1",
        "early_stop restore_best=true",
    ]);
    let (mut top, mut extra) = (String::new(), String::new());
    match section {
        "top level" | "sweep" => top = format!("{stmt}\n"),
        "data" => {
            let at = usize::from(head != "source");
            data[at] = stmt.to_string();
            // One output per class: 10 in the built-in sets, make_blobs'
            // default 3 centers, 2 in the fixtures.
            let classes = match stmt.split_whitespace().nth(1) {
                Some("cifar10" | "mnist" | "fashion_mnist") => 10,
                Some("blobs") if !stmt.contains("centers=") => 3,
                _ => 2,
            };
            model[1] = format!("dense {classes} activation=softmax");
        }
        "model" => {
            model.insert(0, stmt.to_string());
            if head == "dense" {
                model.insert(0, "flatten".into());
            }
        }
        "train" => {
            train.retain(|t| t.split_whitespace().next() != Some(head));
            train.push(stmt.to_string());
        }
        _ => extra = block(section, &[stmt.to_string()]),
    }
    format!(
        "{top}{}{}{}{extra}",
        block("data", &data),
        block("model", &model),
        block("train", &train)
    )
}

/// The section a statement written in prose belongs in (optimizer and
/// schedule kinds stand for `optimizer KIND …` and `schedule KIND …`).
fn readme_home(example: &str) -> Option<(&'static str, String)> {
    use dlp::analyze::schema;
    let head = example.split_whitespace().next()?;
    if !example.contains(' ') {
        return None;
    }
    if schema::OPTIMIZERS.contains(&head) {
        Some(("train", format!("optimizer {example}")))
    } else if schema::SCHEDULES.contains(&head) {
        Some(("train", format!("schedule {example}")))
    } else if schema::TOP_LEVEL.contains(&head) || head == "sweep" {
        Some(("top level", example.to_string()))
    } else {
        schema::home_section(head).map(|s| (s, example.to_string()))
    }
}

/// The `…` spans of a text.
fn backticked(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(|s| s.replace("\\|", "|"))
        .collect()
}

/// Every fenced `dlp` block of the README analyzes, and every statement
/// example of "The language" — each backticked span of the statement
/// table (checked against the row's section) and each backticked statement
/// in its prose (templates filled in, alternatives and optional words
/// expanded) — analyzes inside an otherwise valid pipeline. A name listed
/// alone must be a statement of its row's section.
#[test]
fn every_readme_example_analyzes() {
    use dlp::analyze::schema;
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    readme_fixtures(dir.path());
    let file = dir.path().join("readme.dlp");
    let mut failures = Vec::new();
    // (README line, example, section, statement) to analyze; names checked.
    let mut cases: Vec<(usize, String, String, String)> = Vec::new();
    let mut names = 0;

    // Fenced blocks: each has a language; the `dlp` ones are pipelines.
    let lines: Vec<&str> = readme.lines().collect();
    let mut fenced = vec![false; lines.len()];
    let mut pipelines = 0;
    let mut i = 0;
    while i < lines.len() {
        if let Some(lang) = lines[i].strip_prefix("```") {
            let end = (i + 1..lines.len())
                .find(|&j| lines[j].starts_with("```"))
                .unwrap_or_else(|| panic!("README.md:{}: unclosed code block", i + 1));
            assert!(
                !lang.trim().is_empty(),
                "README.md:{}: a code block without a language (dlp, sh, text)",
                i + 1
            );
            if lang.trim() == "dlp" {
                pipelines += 1;
                let body = lines[i + 1..end].join("\n");
                if let Err(e) = analyze_source(&body, &file, &[]) {
                    failures.push(format!("README.md:{}: the dlp block: {e}", i + 1));
                }
                if let Err(e) = fmt_keeps_meaning(&body, &file) {
                    failures.push(format!(
                        "README.md:{}: dlp fmt of the dlp block: {e}",
                        i + 1
                    ));
                }
            }
            fenced[i..=end].iter_mut().for_each(|f| *f = true);
            i = end;
        }
        i += 1;
    }
    assert!(pipelines >= 1, "no ```dlp block in the README");

    // "The language", up to the next level-2 heading.
    let start = lines
        .iter()
        .position(|l| *l == "## The language")
        .expect("README has ## The language");
    let end = (start + 1..lines.len())
        .find(|&j| lines[j].starts_with("## "))
        .unwrap_or(lines.len());
    let mut rows = 0;
    let mut prose: Vec<(usize, &str)> = Vec::new();
    for n in start..end {
        let line = lines[n];
        if fenced[n] {
            continue;
        }
        if !line.starts_with('|') {
            prose.push((n + 1, line));
            continue;
        }
        // A table row: cells split at unescaped pipes.
        let mut cells = vec![String::new()];
        let mut prev = ' ';
        for c in line.chars() {
            if c == '|' && prev != '\\' {
                cells.push(String::new());
            } else if let Some(cell) = cells.last_mut() {
                cell.push(c);
            }
            prev = c;
        }
        let section = cells[1].trim().trim_matches('`').to_string();
        if cells.len() < 4 || section == "section" || section.starts_with("---") {
            continue;
        }
        rows += 1;
        let known: Vec<&str> = if section == "top level" {
            schema::SECTIONS
                .iter()
                .chain(schema::TOP_LEVEL)
                .copied()
                .collect()
        } else {
            schema::statements(&section).to_vec()
        };
        for example in backticked(&cells[2]) {
            let head = example.split_whitespace().next().unwrap_or("");
            if readme_exact(&example).is_none() {
                if !example.contains(' ') && known.contains(&head) {
                    names += 1;
                    continue;
                }
                if head.contains('=') || head.contains('/') {
                    continue; // a parameter or path fragment
                }
                let is_stmt = known.contains(&head) || (section == "top level" && head == "seed");
                if !is_stmt {
                    failures.push(format!(
                        "README.md:{}: `{example}`: {section} has no statement {head}",
                        n + 1
                    ));
                    continue;
                }
            }
            match readme_expand(&example) {
                Ok(stmts) => stmts
                    .into_iter()
                    .for_each(|s| cases.push((n + 1, example.clone(), section.clone(), s))),
                Err(e) => failures.push(format!("README.md:{}: `{example}`: {e}", n + 1)),
            }
        }
    }
    assert!(rows >= 10, "the statement table has {rows} rows");

    // Prose: backticked spans that start with a statement (spans may wrap).
    let mut text = String::new();
    let mut starts = Vec::new();
    for (n, l) in &prose {
        starts.push((text.len(), *n));
        text.push_str(l);
        text.push(' ');
    }
    let mut at = 0;
    for (k, part) in text.split('`').enumerate() {
        let line = starts
            .iter()
            .rev()
            .find(|(s, _)| *s <= at)
            .map_or(0, |(_, n)| *n);
        at += part.len() + 1;
        if k % 2 == 0 {
            continue;
        }
        let example = part.split_whitespace().collect::<Vec<_>>().join(" ");
        let Some((section, example)) = readme_home(&example) else {
            continue;
        };
        match readme_expand(&example) {
            Ok(stmts) => stmts
                .into_iter()
                .for_each(|s| cases.push((line, example.clone(), section.into(), s))),
            Err(e) => failures.push(format!("README.md:{line}: `{example}`: {e}")),
        }
    }
    for (line, example, section, stmt) in &cases {
        let src = readme_pipeline(section, stmt);
        if let Err(e) = analyze_source(&src, &file, &[]) {
            failures.push(format!(
                "README.md:{line}: `{example}` as `{stmt}` in {section}: {e}\n{src}"
            ));
        }
        if let Err(e) = fmt_keeps_meaning(&src, &file) {
            failures.push(format!(
                "README.md:{line}: dlp fmt of `{stmt}` in {section}: {e}\n{src}"
            ));
        }
    }
    assert!(
        cases.len() >= 60 && names >= 30,
        "only {} README statements and {names} names found",
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} README examples fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// `normalize` in every spelling the README and `dlp plan` use, and the
/// two contradictions.
#[test]
fn normalize_spellings() {
    let src = |stmt: &str| {
        format!(
            "data {{ source cifar10; split train=0.9 test=official }}
             preprocess {{ {stmt} }}
             model {{ flatten; dense 10 activation=softmax }}
             train {{ loss cross_entropy; epochs 1 }}"
        )
    };
    let table: &[(&str, bool)] = &[
        ("normalize", false),
        ("normalize mean_std", false),
        ("normalize mean_std per_channel", true),
        ("normalize per_channel", true),
        ("normalize per_channel=true", true),
        ("normalize mean_std per_channel=false", false),
        ("normalize method=mean_std per_channel=true", true),
    ];
    for &(stmt, per_channel) in table {
        let plan = plan_of(&src(stmt));
        assert_eq!(
            plan.preprocess,
            vec![Preprocess::Normalize { per_channel }],
            "{stmt}"
        );
        assert_eq!(
            plan.defaults.contains("preprocess.normalize.per_channel"),
            !stmt.contains("per_channel"),
            "{stmt}"
        );
    }
    let set = ["preprocess.normalize.per_channel=true".to_string()];
    let plan = analyze_source(&src("normalize mean_std"), Path::new("t.dlp"), &set).unwrap();
    assert_eq!(
        plan.preprocess,
        vec![Preprocess::Normalize { per_channel: true }]
    );
    for (stmt, want) in [
        (
            "normalize mean_std mean_std",
            "normalize per_channel must be true, false or the word per_channel, got \"mean_std\"",
        ),
        (
            "normalize per_channel per_channel=false",
            "normalize per_channel contradicts per_channel=false",
        ),
    ] {
        let d = match analyze::diagnose_source(&src(stmt), Path::new("t.dlp"), &[]) {
            Ok(Err(d)) => d,
            other => panic!("{stmt}: {other:?}"),
        };
        assert_eq!(d.len(), 1, "{stmt}: {d:?}");
        assert_eq!(d[0].message, want, "{stmt}");
        assert_eq!(d[0].line, 2, "{stmt}");
    }
}

/// A folder mixing grayscale and colour images fails `dlp check` at its
/// `source` line, naming the first file that differs (it used to pass and
/// die in training with a conv2d channel error naming no file); `rgb` or
/// `grayscale` in preprocess says what the model gets.
#[test]
fn mixed_image_folder_is_caught_by_check() {
    let dir = tempfile::tempdir().unwrap();
    for (f, colour) in [("a/1.png", false), ("a/2.png", true), ("b/1.png", true)] {
        let p = dir.path().join("imgs").join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        if colour {
            image::RgbImage::from_pixel(4, 4, image::Rgb([9, 8, 7]))
                .save(&p)
                .unwrap();
        } else {
            image::GrayImage::from_pixel(4, 4, image::Luma([5]))
                .save(&p)
                .unwrap();
        }
    }
    let pipeline = |pre: &str| {
        let p = dir.path().join("p.dlp");
        std::fs::write(
            &p,
            format!(
                "data {{\n  source images \"imgs\"\n  split train=0.5 test=0.5\n}}\n{pre}model {{ conv2d 2; flatten; dense 2 activation=softmax }}\ntrain {{ loss cross_entropy; epochs 1 }}\n"
            ),
        )
        .unwrap();
        p
    };
    let p = pipeline("");
    let out = dlp(&["check", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let imgs = dir.path().join("imgs");
    assert!(
        err.contains(&format!(
            "error: {}: image is colour (3 channels) but {} is grayscale (1 channel): the folder mixes 1 grayscale and 2 colour images; add `grayscale` (every image to 1 channel) or `rgb` (every image to 3) to preprocess\n --> {}:2:3\n",
            imgs.join("a/2.png").display(),
            imgs.join("a/1.png").display(),
            p.display()
        )),
        "{err}"
    );
    for (pre, channels) in [
        ("preprocess { rgb }\n", 3),
        ("preprocess { grayscale }\n", 1),
    ] {
        let plan = load(&pipeline(pre), &[]).unwrap_or_else(|e| panic!("{pre}: {e}"));
        assert_eq!(
            plan.model.input,
            Shape::Image {
                channels,
                height: 4,
                width: 4
            },
            "{pre}"
        );
    }
    let err = load(&pipeline("preprocess { grayscale; rgb }\n"), &[])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("rgb and grayscale are exclusive: images become 1 channel or 3"),
        "{err}"
    );
    let d = match analyze::diagnose_source(
        "data { source blobs; split train=0.5 test=0.5 }\npreprocess { rgb }\nmodel { dense 3 }\ntrain { loss cross_entropy; epochs 1 }\n",
        Path::new("t.dlp"),
        &[],
    ) {
        Ok(Err(d)) => d,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        (d[0].line, d[0].message.as_str()),
        (2, "rgb needs images, but the input is 2 features")
    );
}

// --- The language server, over stdio as an editor drives it -------------

/// A `dlp lsp` child process and a reader thread for its messages.
struct LspSession {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    messages: std::sync::mpsc::Receiver<lsp_server::Message>,
    next_id: i32,
}

impl LspSession {
    fn start() -> LspSession {
        use std::process::Stdio;
        let mut child = crate::common::dlp()
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let (tx, messages) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            while let Ok(Some(m)) = lsp_server::Message::read(&mut stdout) {
                if tx.send(m).is_err() {
                    break;
                }
            }
        });
        LspSession {
            child,
            stdin,
            messages,
            next_id: 0,
        }
    }

    fn send(&mut self, m: lsp_server::Message) {
        m.write(&mut self.stdin).unwrap();
    }

    fn notify(&mut self, method: &str, params: serde_json::Value) {
        self.send(lsp_server::Notification::new(method.into(), params).into());
    }

    fn recv(&mut self) -> lsp_server::Message {
        self.messages
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("dlp lsp answered within 30 s")
    }

    /// Sends a request and returns its result (notifications in between
    /// are dropped).
    fn request(&mut self, method: &str, params: serde_json::Value) -> serde_json::Value {
        self.next_id += 1;
        let id = lsp_server::RequestId::from(self.next_id);
        self.send(lsp_server::Request::new(id.clone(), method.into(), params).into());
        loop {
            if let lsp_server::Message::Response(r) = self.recv()
                && r.id == id
            {
                return match r.response_result {
                    Ok(v) => v,
                    Err(e) => panic!("{method}: {e:?}"),
                };
            }
        }
    }

    /// The next diagnostics published.
    fn diagnostics(&mut self) -> serde_json::Value {
        loop {
            if let lsp_server::Message::Notification(n) = self.recv()
                && n.method == "textDocument/publishDiagnostics"
            {
                return n.params;
            }
        }
    }

    fn open(&mut self, uri: &str, text: &str) -> serde_json::Value {
        self.notify(
            "textDocument/didOpen",
            serde_json::json!({"textDocument": {"uri": uri, "languageId": "dlp", "version": 1, "text": text}}),
        );
        self.diagnostics()
    }
}

/// `[line, character, line, character]` of a protocol range.
fn range(v: &serde_json::Value) -> [u64; 4] {
    let n = |p: &str, k: &str| v[p][k].as_u64().unwrap();
    [
        n("start", "line"),
        n("start", "character"),
        n("end", "line"),
        n("end", "character"),
    ]
}

/// A scripted session: initialize, diagnostics of an erroneous file with
/// exact ranges, hover on `conv2d`, completion, definition, rename, inlay
/// hints, formatting, the latency of diagnostics after an edit, shutdown.
#[test]
fn language_server_session() {
    use serde_json::json;
    let mut lsp = LspSession::start();
    let init = lsp.request(
        "initialize",
        json!({"processId": null, "rootUri": null, "capabilities": {}}),
    );
    let caps = &init["capabilities"];
    for cap in [
        "hoverProvider",
        "completionProvider",
        "definitionProvider",
        "renameProvider",
        "documentFormattingProvider",
        "inlayHintProvider",
    ] {
        assert!(!caps[cap].is_null(), "{cap} missing: {caps}");
    }
    lsp.notify("initialized", json!({}));

    // Every error at once, with exact ranges, kinds and related spans; the
    // warning too.
    let bad = "\
data {
  source blobs centers=3
  split train=0.8 test=0.2
}
model {
  dense 8 activation=rel
  dens 3
}
train {
  loss cross_entropy
  optimizer adam lr=-1
  batch 8
  batch 16
  epochs 2
}
evaluate { metrics accuracy }
";
    let d = lsp.open("file:///nowhere/bad.dlp", bad);
    assert_eq!(d["uri"], "file:///nowhere/bad.dlp");
    let got: Vec<(String, u64, [u64; 4])> = d["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["code"].as_str().unwrap().to_string(),
                x["severity"].as_u64().unwrap(),
                range(&x["range"]),
            )
        })
        .collect();
    let want: Vec<(String, u64, [u64; 4])> = vec![
        ("unknown-value".into(), 1, [5, 21, 5, 24]),
        ("unknown-statement".into(), 1, [6, 2, 6, 6]),
        ("range".into(), 1, [10, 20, 10, 22]),
        ("duplicate".into(), 1, [12, 2, 12, 7]),
        ("no-effect".into(), 2, [15, 19, 15, 27]),
    ];
    assert_eq!(got, want, "{d}");
    let dup = &d["diagnostics"][3];
    assert_eq!(
        range(&dup["relatedInformation"][0]["location"]["range"]),
        [11, 2, 11, 7]
    );
    assert!(
        d["diagnostics"][1]["message"]
            .as_str()
            .unwrap()
            .contains("did you mean \"dense\"?"),
        "{d}"
    );

    // Hover on the first conv2d of the CIFAR-10 pipeline: its output shape
    // and parameters (the first of the three passes of its repeat).
    let path = pipeline("cifar10.dlp");
    let cifar = std::fs::read_to_string(&path).unwrap();
    let uri = format!("file://{}", path.display());
    let d = lsp.open(&uri, &cifar);
    assert_eq!(d["diagnostics"], json!([]), "{d}");
    let (line, col) = cifar
        .lines()
        .enumerate()
        .find_map(|(i, l)| l.find("conv2d").map(|c| (i, c)))
        .unwrap();
    let hover = lsp.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": col + 2}}),
    );
    let text = hover["contents"]["value"].as_str().unwrap();
    assert!(
        text.contains("output `(None, 32, 32, 32)`, 896 parameters"),
        "{text}"
    );
    assert_eq!(
        range(&hover["range"]),
        [line as u64, col as u64, line as u64, col as u64 + 6]
    );

    // Hover on a key: its meaning and default.
    let kcol = cifar.lines().nth(line).unwrap().find("padding").unwrap();
    let hover = lsp.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": kcol}}),
    );
    assert_eq!(
        hover["contents"]["value"],
        "**padding**: same (output keeps the size) or valid (no padding)\n\ndefault: valid"
    );

    // The graph forms of ResNet-20: a merge's statement doc and its
    // layer, and a block's parameter where it is declared.
    let rpath = pipeline("cifar10_resnet.dlp");
    let resnet = std::fs::read_to_string(&rpath).unwrap();
    let ruri = format!("file://{}", rpath.display());
    let d = lsp.open(&ruri, &resnet);
    assert_eq!(d["diagnostics"], json!([]), "{d}");
    let at = |needle: &str| {
        resnet
            .lines()
            .enumerate()
            .find_map(|(i, l)| l.find(needle).map(|c| (i, c)))
            .unwrap()
    };
    let hover_at = |lsp: &mut LspSession, (l, c): (usize, usize)| -> String {
        let h = lsp.request(
            "textDocument/hover",
            json!({"textDocument": {"uri": ruri}, "position": {"line": l, "character": c}}),
        );
        h["contents"]["value"].as_str().unwrap_or("").to_string()
    };
    let text = hover_at(&mut lsp, at("add {"));
    assert!(
        text.starts_with("**add**: Adds its branches element-wise"),
        "{text}"
    );
    assert!(
        text.contains("`add`: output `(None, 32, 32, 16)`, 0 parameters"),
        "{text}"
    );
    let (l, c) = at("basic filters");
    let text = hover_at(&mut lsp, (l, c + 7));
    assert_eq!(text, "**$filters**: a parameter of block `basic`");

    // Inlay hints: each layer's output shape at the end of its line.
    let hints = lsp.request(
        "textDocument/inlayHint",
        json!({"textDocument": {"uri": uri}, "range": {"start": {"line": 0, "character": 0}, "end": {"line": 999, "character": 0}}}),
    );
    let hints = hints.as_array().unwrap();
    assert_eq!(hints.len(), 8, "{hints:?}");
    assert_eq!(
        hints[0]["label"],
        "→ (None, 32, 32, 32) | (None, 16, 16, 64) | (None, 8, 8, 128)"
    );
    assert_eq!(hints[0]["position"]["line"], line);
    assert_eq!(hints[7]["label"], "→ (None, 10)");

    // Go to definition and rename of a `let`.
    let (vline, vcol) = cifar
        .lines()
        .enumerate()
        .find_map(|(i, l)| l.find("$width").map(|c| (i, c)))
        .unwrap();
    let def = lsp.request(
        "textDocument/definition",
        json!({"textDocument": {"uri": uri}, "position": {"line": vline, "character": vcol + 1}}),
    );
    assert_eq!(range(&def["range"]), [2, 4, 2, 9]);
    let edit = lsp.request(
        "textDocument/rename",
        json!({"textDocument": {"uri": uri}, "position": {"line": vline, "character": vcol + 3}, "newName": "base"}),
    );
    let mut edits: Vec<([u64; 4], String)> = edit["changes"][uri.as_str()]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                range(&e["range"]),
                e["newText"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    edits.sort();
    let repeat = cifar.lines().nth(vline).unwrap();
    let at: Vec<u64> = repeat
        .match_indices("$width")
        .map(|(i, _)| i as u64 + 1)
        .collect();
    let v = vline as u64;
    let mut want: Vec<([u64; 4], String)> = vec![([2, 4, 2, 9], "base".into())];
    want.extend(at.iter().map(|&c| ([v, c, v, c + 5], "base".to_string())));
    assert_eq!(edits, want);

    // Completion inside `train { optimizer | }`: the optimizers and the
    // keys every optimizer takes.
    let text = "train { optimizer  }\n";
    lsp.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": text}]}),
    );
    lsp.diagnostics();
    let items = lsp.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 18}}),
    );
    let labels: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        [
            "sgd",
            "adam",
            "adamw",
            "rmsprop",
            "adagrad",
            "clip_norm=",
            "decay="
        ]
    );
    // … after `adam `, adam's own keys; after `activation=`, the
    // activations; after `$`, the variables; a statement name by section.
    let text = "let w = 8\ntrain { optimizer adam  }\nmodel { dense $ activation=s\n  ma";
    lsp.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"text": text}]}),
    );
    lsp.diagnostics();
    let mut complete = |line: u32, character: u32| -> Vec<String> {
        lsp.request(
            "textDocument/completion",
            json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}),
        )
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap().to_string())
        .collect()
    };
    assert_eq!(
        complete(1, 23),
        [
            "lr=",
            "beta1=",
            "beta2=",
            "epsilon=",
            "clip_norm=",
            "decay="
        ]
    );
    assert_eq!(
        complete(2, 28),
        ["linear", "relu", "leaky_relu", "sigmoid", "tanh", "softmax"]
    );
    assert_eq!(complete(2, 15), ["$w"]);
    assert!(complete(3, 4).iter().any(|l| l == "maxpool"));
    assert!(complete(3, 4).iter().all(|l| l != "loss"));

    // In a sweep, the paths it can vary in this file, while the line being
    // typed does not parse yet.
    let text = "let w = 8\ndata {\n  source blobs\n  split train=0.8 test=0.2\n}\n\
                model { dense $w activation=relu; dense 3 activation=softmax }\n\
                train {\n  loss cross_entropy\n  optimizer adam\n  epochs 2\n}\n\
                sweep grid {\n  train.opt\n}\n";
    lsp.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 4}, "contentChanges": [{"text": text}]}),
    );
    lsp.diagnostics();
    let items = lsp.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": uri}, "position": {"line": 12, "character": 11}}),
    );
    let items = items.as_array().unwrap();
    let labels: Vec<&str> = items.iter().map(|i| i["label"].as_str().unwrap()).collect();
    for want in [
        "w",
        "seed",
        "train.optimizer.lr",
        "train.epochs",
        "model.dense.units",
    ] {
        assert!(labels.contains(&want), "{want} not in {labels:?}");
    }
    let lr = items
        .iter()
        .find(|i| i["label"] == "train.optimizer.lr")
        .unwrap();
    assert_eq!(lr["documentation"], "learning rate");
    assert_eq!(range(&lr["textEdit"]["range"]), [12, 2, 12, 11]);

    // Formatting: one edit, `dlp fmt`'s text.
    lsp.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 5}, "contentChanges": [{"text": "train{optimizer   adam}"}]}),
    );
    lsp.diagnostics();
    let edits = lsp.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    assert_eq!(edits[0]["newText"], "train { optimizer adam }\n");

    // Work per edit, counted rather than timed (a shared machine's clock
    // proves nothing): 30 edits of the CIFAR-10 pipeline sent at once give
    // exactly 30 publications, each of the whole (clean) document, before
    // the answer to a request sent after them. The time per edit is
    // printed as a figure (`--nocapture`), not asserted.
    let started = std::time::Instant::now();
    for v in 0..30 {
        lsp.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": 6 + v}, "contentChanges": [{"text": cifar}]}),
        );
    }
    lsp.next_id += 1;
    let barrier = lsp_server::RequestId::from(lsp.next_id);
    lsp.send(
        lsp_server::Request::new(
            barrier.clone(),
            "textDocument/formatting".into(),
            json!({"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": true}}),
        )
        .into(),
    );
    let mut published = 0;
    loop {
        match lsp.recv() {
            lsp_server::Message::Notification(n) => {
                assert_eq!(n.method, "textDocument/publishDiagnostics");
                assert_eq!(n.params["diagnostics"], json!([]));
                published += 1;
            }
            lsp_server::Message::Response(r) if r.id == barrier => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(published, 30, "one analysis and one publication per edit");
    eprintln!(
        "lsp: 30 edits of cifar10.dlp analysed and published in {:?}",
        started.elapsed()
    );

    // Shutdown, exit: the process ends with 0.
    assert_eq!(lsp.request("shutdown", json!(null)), json!(null));
    lsp.notify("exit", json!(null));
    let status = lsp.child.wait().unwrap();
    assert!(status.success(), "{status}");
}

/// `run.yaml` and `sweep.yaml` spell layers, optimizers and sweep
/// distributions as the language does (`maxpool`, `rmsprop`,
/// `loguniform`), and still read the spellings of earlier versions
/// (`max_pool`, `rms_prop`, `log_uniform`).
#[test]
fn resolved_plans_use_the_language_words_and_read_the_old_ones() {
    for (optimizer, old_optimizer) in [("rmsprop", "rms_prop"), ("adamw", "adam_w")] {
        let text = format!(
            "data {{\n  source cifar10\n  split train=0.9 valid=0.1 test=official\n}}\n\
             model {{\n  conv2d 4\n  batchnorm\n  maxpool\n  avgpool\n  global_avgpool\n  dense 10 activation=softmax\n}}\n\
             train {{\n  loss cross_entropy\n  optimizer {optimizer}\n  epochs 2\n}}\n\
             sweep random trials=2 seed=1 {{\n  train.optimizer.lr = loguniform(1e-4, 1e-2)\n}}\n"
        );
        let plan = analyze_source(&text, Path::new("w.dlp"), &[]).unwrap();
        let yaml = serde_yaml_ng::to_string(&plan).unwrap();
        let words = [
            ("batchnorm:", "batch_norm:"),
            ("maxpool:", "max_pool:"),
            ("avgpool:", "avg_pool:"),
            ("global_avgpool", "global_avg_pool"),
            (&format!("{optimizer}:"), &format!("{old_optimizer}:")),
            ("loguniform:", "log_uniform:"),
        ];
        let mut old = yaml.clone();
        for (new, was) in words {
            assert!(yaml.contains(new), "no {new} in\n{yaml}");
            assert!(!yaml.contains(was), "{was} in\n{yaml}");
            old = old.replace(new, was);
        }
        let read: Plan = serde_yaml_ng::from_str(&old).unwrap();
        assert_eq!(read, plan);
    }
}
