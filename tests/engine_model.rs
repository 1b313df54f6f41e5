//! The model built from a plan: parameter counts against Keras' summaries,
//! deterministic Glorot initialisation, train/eval behaviour, fused losses,
//! weights round trip and bad weight files, and a short training run.

use candle_core::{DType, Device, Tensor};
use dlp::nn::{self, ForwardMode, Model};
use dlp::plan::{
    Activation, Layer, LayerPlan, Loc, Loss, ModelPlan, Optimizer, OptimizerPlan, Padding, Shape,
};
use std::collections::HashMap;

/// A plan with shapes and parameter counts inferred as the analyzer does
/// (Keras' arithmetic), so the tests do not depend on the analyzer.
fn model_plan(input: Shape, layers: Vec<Layer>, init_seed: u64) -> ModelPlan {
    let mut shape = input;
    let mut counts: HashMap<&str, usize> = HashMap::new();
    let mut out = Vec::new();
    for layer in layers {
        let keras = match &layer {
            Layer::Dense { .. } => "dense",
            Layer::Conv2d { .. } => "conv2d",
            Layer::BatchNorm { .. } => "batch_normalization",
            Layer::MaxPool { .. } => "max_pooling2d",
            Layer::Dropout { .. } => "dropout",
            Layer::Flatten => "flatten",
            _ => "layer",
        };
        let n = counts.entry(keras).or_insert(0);
        let name = if *n == 0 {
            keras.to_string()
        } else {
            format!("{keras}_{n}")
        };
        *n += 1;
        let (output, params, trainable) = match (&layer, shape) {
            (Layer::Dense { units, .. }, s) => {
                let p = s.numel() * units + units;
                (Shape::Flat(*units), p, p)
            }
            (
                Layer::Conv2d {
                    filters,
                    kernel,
                    stride,
                    padding,
                    ..
                },
                Shape::Image {
                    channels,
                    height,
                    width,
                },
            ) => {
                let o = |x: usize| match padding {
                    Padding::Same => x.div_ceil(*stride),
                    Padding::Valid => (x - kernel) / stride + 1,
                };
                let p = kernel * kernel * channels * filters + filters;
                (
                    Shape::Image {
                        channels: *filters,
                        height: o(height),
                        width: o(width),
                    },
                    p,
                    p,
                )
            }
            (
                Layer::MaxPool { size, stride },
                Shape::Image {
                    channels,
                    height,
                    width,
                },
            ) => (
                Shape::Image {
                    channels,
                    height: (height - size) / stride + 1,
                    width: (width - size) / stride + 1,
                },
                0,
                0,
            ),
            (Layer::BatchNorm { .. }, s) => {
                let c = match s {
                    Shape::Flat(n) => n,
                    Shape::Image { channels, .. } => channels,
                };
                (s, 4 * c, 2 * c)
            }
            (Layer::Flatten, s) => (Shape::Flat(s.numel()), 0, 0),
            (_, s) => (s, 0, 0),
        };
        out.push(LayerPlan {
            name,
            layer,
            input: shape,
            output,
            params,
            trainable,
            loc: Loc::default(),
        });
        shape = output;
    }
    ModelPlan {
        input,
        layers: out,
        init_seed,
        dropout_seed: 11,
    }
}

fn dense(units: usize, activation: Activation) -> Layer {
    Layer::Dense {
        units,
        activation,
        l2: 0.0,
    }
}

/// The book's blobs model: Dense(25, relu) → Dense(3, softmax).
fn blobs_plan(seed: u64) -> ModelPlan {
    model_plan(
        Shape::Flat(2),
        vec![dense(25, Activation::Relu), dense(3, Activation::Softmax)],
        seed,
    )
}

/// The book's CIFAR-10 model (section 4.10).
fn cifar_plan() -> ModelPlan {
    let mut layers = Vec::new();
    for (filters, rate) in [(32, 0.2), (64, 0.3), (128, 0.4)] {
        for _ in 0..2 {
            layers.push(Layer::Conv2d {
                filters,
                kernel: 3,
                stride: 1,
                padding: Padding::Same,
                activation: Activation::Relu,
                l2: 1e-4,
            });
            layers.push(Layer::BatchNorm {
                momentum: 0.99,
                epsilon: 1e-3,
            });
        }
        layers.push(Layer::MaxPool { size: 2, stride: 2 });
        layers.push(Layer::Dropout { rate });
    }
    layers.push(Layer::Flatten);
    layers.push(dense(10, Activation::Softmax));
    model_plan(
        Shape::Image {
            channels: 3,
            height: 32,
            width: 32,
        },
        layers,
        42,
    )
}

fn values(t: &Tensor) -> Vec<f32> {
    t.flatten_all()
        .and_then(|t| t.to_dtype(DType::F32))
        .and_then(|t| t.to_vec1::<f32>())
        .unwrap_or_default()
}

// Keras' model.summary(): blobs 153 parameters (2·25 + 25 + 25·3 + 3); the book's CIFAR
// model 309,290 in all, 308,394 trainable (the difference, 896, is the 2·(32+32+64+64+128+128)
// moving statistics).
#[test]
fn parameter_counts_match_keras() -> dlp::error::Result<()> {
    let dev = Device::Cpu;
    let m = Model::new(&blobs_plan(1), Loss::CrossEntropy, &dev)?;
    assert_eq!((m.param_count(), m.trainable_count()), (153, 153));
    let plan = cifar_plan();
    assert_eq!(plan.total_params(), 309_290);
    let m = Model::new(&plan, Loss::CrossEntropy, &dev)?;
    assert_eq!(m.param_count(), 309_290);
    assert_eq!(m.trainable_count(), 308_394);
    let names: Vec<String> = m.trainable().into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        &names[..4],
        &[
            "conv2d/kernel",
            "conv2d/bias",
            "batch_normalization/gamma",
            "batch_normalization/beta"
        ]
    );
    assert!(!names.iter().any(|n| n.contains("moving")));
    // A forward pass keeps the shapes the plan inferred.
    let x = Tensor::zeros((2, 3, 32, 32), DType::F32, &dev)?;
    assert_eq!(m.forward(&x, ForwardMode::Eval)?.dims(), &[2, 10]);
    Ok(())
}

// Glorot-uniform: dense 2→25 within ±√(6/27) = 0.4714, 25→3 within ±√(6/28) = 0.4629;
// the first conv (3→32, 3×3) within ±√(6/(27+288)) = 0.1380; biases zero; BN γ 1, β 0,
// moving mean 0, moving variance 1.
#[test]
fn initialisation_is_keras_and_deterministic() -> dlp::error::Result<()> {
    let dev = Device::Cpu;
    let m = Model::new(&blobs_plan(5), Loss::CrossEntropy, &dev)?;
    let state: HashMap<String, Tensor> = m.state()?.into_iter().collect();
    let limits = [("dense/kernel", 0.471_405), ("dense_1/kernel", 0.462_910)];
    for (name, limit) in limits {
        let v = values(&state[name]);
        assert!(v.iter().all(|x| x.abs() <= limit), "{name}");
        assert!(
            v.iter().any(|x| x.abs() > limit / 2.0),
            "{name} barely spread"
        );
    }
    assert!(values(&state["dense/bias"]).iter().all(|&b| b == 0.0));
    let again = Model::new(&blobs_plan(5), Loss::CrossEntropy, &dev)?;
    let other = Model::new(&blobs_plan(6), Loss::CrossEntropy, &dev)?;
    for (name, t) in again.state()? {
        assert_eq!(values(&t), values(&state[&name]), "{name}");
    }
    let other: HashMap<String, Tensor> = other.state()?.into_iter().collect();
    assert_ne!(
        values(&other["dense/kernel"]),
        values(&state["dense/kernel"])
    );

    let c = Model::new(&cifar_plan(), Loss::CrossEntropy, &dev)?;
    let cs: HashMap<String, Tensor> = c.state()?.into_iter().collect();
    assert_eq!(cs["conv2d/kernel"].dims(), &[32, 3, 3, 3]);
    assert!(
        values(&cs["conv2d/kernel"])
            .iter()
            .all(|x| x.abs() <= 0.138_013)
    );
    assert!(
        values(&cs["batch_normalization/gamma"])
            .iter()
            .all(|&g| g == 1.0)
    );
    assert!(
        values(&cs["batch_normalization/beta"])
            .iter()
            .all(|&g| g == 0.0)
    );
    assert!(
        values(&cs["batch_normalization/moving_mean"])
            .iter()
            .all(|&g| g == 0.0)
    );
    assert!(
        values(&cs["batch_normalization/moving_variance"])
            .iter()
            .all(|&g| g == 1.0)
    );
    Ok(())
}

// The fused loss: forward returns logits, probabilities applies softmax, and the loss
// equals −mean log p[label] computed from those probabilities.
#[test]
fn softmax_is_fused_into_cross_entropy() -> dlp::error::Result<()> {
    let dev = Device::Cpu;
    let m = Model::new(&blobs_plan(3), Loss::CrossEntropy, &dev)?;
    let x = Tensor::new(&[[1f32, -2.], [0.5, 3.], [-1., -1.]], &dev)?;
    let labels = Tensor::new(&[0u32, 2, 1], &dev)?;
    let logits = m.forward(&x, ForwardMode::Eval)?;
    let p = values(&m.probabilities(&logits)?);
    for row in p.chunks(3) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }
    let want = -(p[0].ln() + p[5].ln() + p[7].ln()) / 3.0;
    let got = values(&nn::loss(Loss::CrossEntropy, &logits, &labels, None)?)[0];
    assert!((got - want).abs() < 1e-5, "{got} vs {want}");
    // Without fusion (MSE), forward is the softmax output itself.
    let mse = Model::new(&blobs_plan(3), Loss::Mse, &dev)?;
    let out = values(&mse.forward(&x, ForwardMode::Eval)?);
    for (a, b) in out.iter().zip(&p) {
        assert!((a - b).abs() < 1e-6);
    }
    Ok(())
}

#[test]
fn dropout_and_batchnorm_follow_the_mode() -> dlp::error::Result<()> {
    let dev = Device::Cpu;
    let plan = model_plan(
        Shape::Flat(4),
        vec![
            Layer::BatchNorm {
                momentum: 0.9,
                epsilon: 1e-3,
            },
            Layer::Dropout { rate: 0.5 },
        ],
        1,
    );
    let m = Model::new(&plan, Loss::Mse, &dev)?;
    let x = Tensor::new(&[[1f32, 2., 3., 4.], [3., 2., 1., 0.]], &dev)?;
    // Eval: moving stats (0, 1) and no dropout → x/√(1 + 1e-3).
    let e = values(&m.forward(&x, ForwardMode::Eval)?);
    for (a, b) in e.iter().zip(values(&x)) {
        assert!((a - b / 1.001f32.sqrt()).abs() < 1e-5);
    }
    let before = m.state()?;
    let a = values(&m.forward(&x, ForwardMode::Train { step: 3 })?);
    let b = values(&m.forward(&x, ForwardMode::Train { step: 3 })?);
    let c = values(&m.forward(&x, ForwardMode::Train { step: 4 })?);
    assert_eq!(a, b, "same step, same mask");
    assert_ne!(a, c, "another step, another mask");
    // Train outputs are batch-normalised values (±1, or 0 for the constant second
    // feature) scaled by 1/(1 − 0.5) = 2, or dropped.
    assert!(
        a.iter().all(|v| *v == 0.0 || (v.abs() - 2.0).abs() < 0.01),
        "{a:?}"
    );
    // Training moved the moving mean: 0.9·0 + 0.1·2 = 0.2 per feature after one pass,
    // three passes: 0.2 + 0.18 + 0.162 = 0.542.
    let after: HashMap<String, Tensor> = m.state()?.into_iter().collect();
    let mm = values(&after["batch_normalization/moving_mean"]);
    assert!(mm.iter().all(|v| (v - 0.542).abs() < 1e-5), "{mm:?}");
    let before: HashMap<String, Tensor> = before.into_iter().collect();
    assert!(
        values(&before["batch_normalization/moving_mean"])
            .iter()
            .all(|&v| v == 0.0)
    );
    Ok(())
}

// Keras' l2(λ): λ·Σ K² per regularised layer.
#[test]
fn l2_penalty_sums_lambda_times_squared_kernels() -> dlp::error::Result<()> {
    let dev = Device::Cpu;
    let plan = model_plan(
        Shape::Flat(2),
        vec![
            Layer::Dense {
                units: 3,
                activation: Activation::Relu,
                l2: 0.01,
            },
            dense(2, Activation::Softmax),
        ],
        9,
    );
    let m = Model::new(&plan, Loss::CrossEntropy, &dev)?;
    let state: HashMap<String, Tensor> = m.state()?.into_iter().collect();
    let want: f32 = 0.01
        * values(&state["dense/kernel"])
            .iter()
            .map(|w| w * w)
            .sum::<f32>();
    let got = m.l2_penalty()?.map(|t| values(&t)[0]);
    assert!(
        got.is_some_and(|g| (g - want).abs() < 1e-7),
        "{got:?} vs {want}"
    );
    assert!(
        Model::new(&blobs_plan(1), Loss::CrossEntropy, &dev)?
            .l2_penalty()?
            .is_none()
    );
    Ok(())
}

#[test]
fn weights_round_trip_and_bad_files_are_errors() -> dlp::error::Result<()> {
    let dev = Device::Cpu;
    let dir = tempfile::tempdir().map_err(|e| dlp::error::Error::io("tempdir", e))?;
    let path = dir.path().join("weights.safetensors");
    let plan = cifar_plan();
    let a = Model::new(&plan, Loss::CrossEntropy, &dev)?;
    // Move the BN statistics so the round trip covers them.
    let x = Tensor::ones((2, 3, 32, 32), DType::F32, &dev)?;
    a.forward(&x, ForwardMode::Train { step: 0 })?;
    a.save(&path)?;
    let mut other = plan.clone();
    other.init_seed = 43;
    let b = Model::new(&other, Loss::CrossEntropy, &dev)?;
    b.load(&path)?;
    let sa: HashMap<String, Tensor> = a.state()?.into_iter().collect();
    for (name, t) in b.state()? {
        assert_eq!(values(&t), values(&sa[&name]), "{name}");
    }

    // Missing file.
    let missing = dir.path().join("nope.safetensors");
    let e = b
        .load(&missing)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.contains("nope.safetensors") && e.contains("not found"),
        "{e}"
    );
    // Garbage and truncated files.
    let garbage = dir.path().join("garbage.safetensors");
    std::fs::write(&garbage, b"this is not safetensors")
        .map_err(|e| dlp::error::Error::io(&garbage, e))?;
    let e = b.load(&garbage).err();
    assert!(matches!(e, Some(dlp::error::Error::File { .. })), "{e:?}");
    let bytes = std::fs::read(&path).map_err(|e| dlp::error::Error::io(&path, e))?;
    let truncated = dir.path().join("truncated.safetensors");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2])
        .map_err(|e| dlp::error::Error::io(&truncated, e))?;
    let e = b.load(&truncated).err();
    assert!(matches!(e, Some(dlp::error::Error::File { .. })), "{e:?}");
    // Weights of another model: names the missing and extra tensors.
    let small = dir.path().join("blobs.safetensors");
    Model::new(&blobs_plan(1), Loss::CrossEntropy, &dev)?.save(&small)?;
    let e = b
        .load(&small)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("missing tensor `conv2d/kernel`"), "{e}");
    assert!(e.contains("blobs.safetensors"), "{e}");
    // Mis-shaped tensor.
    let mut state: HashMap<String, Tensor> = a.state()?.into_iter().collect();
    state.insert("dense/bias".into(), Tensor::zeros(7, DType::F32, &dev)?);
    let e = b
        .load_state(&state)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("`dense/bias` has shape [7]"), "{e}");
    Ok(())
}

/// Two Gaussian clusters per class, well apart: a 2-layer MLP with Adam
/// must drive the loss down within a few dozen full-batch steps.
#[test]
fn mlp_with_adam_learns_a_separable_toy_set() -> dlp::error::Result<()> {
    let dev = Device::Cpu;
    let plan = model_plan(
        Shape::Flat(2),
        vec![dense(16, Activation::Relu), dense(3, Activation::Softmax)],
        7,
    );
    let m = Model::new(&plan, Loss::CrossEntropy, &dev)?;
    let centers = [(-4.0f32, 0.0f32), (4.0, 0.0), (0.0, 4.0)];
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for i in 0..60u32 {
        let c = (i % 3) as usize;
        // Deterministic jitter in [-1, 1].
        let j = ((i * 37 % 17) as f32 / 8.0) - 1.0;
        let k = ((i * 53 % 13) as f32 / 6.0) - 1.0;
        xs.extend([centers[c].0 + j, centers[c].1 + k]);
        ys.push(c as u32);
    }
    let x = Tensor::from_vec(xs, (60, 2), &dev)?;
    let y = Tensor::from_vec(ys.clone(), 60, &dev)?;
    let opt_plan = OptimizerPlan {
        kind: Optimizer::Adam {
            lr: 0.01,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-7,
        },
        clip_norm: None,
        decay: 0.0,
    };
    let mut opt = dlp::optim::build(&opt_plan, m.trainable())?;
    let loss_at = |m: &Model| -> dlp::error::Result<f32> {
        let out = m.forward(&x, ForwardMode::Eval)?;
        Ok(values(&nn::loss(Loss::CrossEntropy, &out, &y, None)?)[0])
    };
    let first = loss_at(&m)?;
    for step in 0..50 {
        let out = m.forward(&x, ForwardMode::Train { step })?;
        let l = nn::loss(Loss::CrossEntropy, &out, &y, None)?;
        opt.step(&l.backward()?, 0.01)?;
    }
    let last = loss_at(&m)?;
    assert!(last < 0.5 * first, "loss {first} → {last}");
    let probs = values(&m.probabilities(&m.forward(&x, ForwardMode::Eval)?)?);
    let pred = dlp::metrics::predicted_classes(&probs, 3);
    let acc = dlp::metrics::Confusion::from_predictions(3, &ys, &pred).accuracy();
    assert!(acc > 0.95, "accuracy {acc}");
    Ok(())
}
