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
            inputs: Vec::new(),
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
                use_bias: true,
            });
            layers.push(Layer::BatchNorm {
                momentum: 0.99,
                epsilon: 1e-3,
            });
        }
        layers.push(Layer::MaxPool { size: 2, stride: 2 });
        layers.push(Layer::Dropout { rate, seed: None });
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

/// A tensor's values, flattened. An error is an error, never an empty
/// vector that would make `.all(…)` and element-wise loops pass vacuously.
fn values(t: &Tensor) -> dlp::error::Result<Vec<f32>> {
    Ok(t.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()?)
}

/// `values` of a named tensor of a model's state, checked to have `len`
/// elements.
fn named(state: &HashMap<String, Tensor>, name: &str, len: usize) -> dlp::error::Result<Vec<f32>> {
    let t = state
        .get(name)
        .ok_or_else(|| dlp::error::Error::Runtime(format!("no tensor {name}")))?;
    let v = values(t)?;
    assert_eq!(v.len(), len, "{name}");
    Ok(v)
}

/// Asserts `got` equals `want` element by element within `tol`, lengths
/// included.
fn assert_close(got: &[f32], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: {got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!(
            (f64::from(*g) - w).abs() < tol,
            "{what}: {got:?} vs {want:?}"
        );
    }
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
    let limits = [
        ("dense/kernel", 2 * 25, 0.471_405),
        ("dense_1/kernel", 25 * 3, 0.462_910),
    ];
    for (name, len, limit) in limits {
        let v = named(&state, name, len)?;
        assert!(v.iter().all(|x| x.abs() <= limit), "{name}");
        assert!(
            v.iter().any(|x| x.abs() > limit / 2.0),
            "{name} barely spread"
        );
    }
    assert!(named(&state, "dense/bias", 25)?.iter().all(|&b| b == 0.0));
    assert!(named(&state, "dense_1/bias", 3)?.iter().all(|&b| b == 0.0));
    let again = Model::new(&blobs_plan(5), Loss::CrossEntropy, &dev)?;
    let other = Model::new(&blobs_plan(6), Loss::CrossEntropy, &dev)?;
    let again = again.state()?;
    assert_eq!(again.len(), 4);
    for (name, t) in again {
        let v = values(&t)?;
        assert_eq!(v, named(&state, &name, v.len())?, "{name}");
    }
    let other: HashMap<String, Tensor> = other.state()?.into_iter().collect();
    assert_ne!(
        named(&other, "dense/kernel", 50)?,
        named(&state, "dense/kernel", 50)?
    );

    let c = Model::new(&cifar_plan(), Loss::CrossEntropy, &dev)?;
    let cs: HashMap<String, Tensor> = c.state()?.into_iter().collect();
    assert_eq!(cs["conv2d/kernel"].dims(), &[32, 3, 3, 3]);
    assert!(
        named(&cs, "conv2d/kernel", 32 * 3 * 3 * 3)?
            .iter()
            .all(|x| x.abs() <= 0.138_013)
    );
    let bn = |suffix: &str| named(&cs, &format!("batch_normalization/{suffix}"), 32);
    assert!(bn("gamma")?.iter().all(|&g| g == 1.0));
    assert!(bn("beta")?.iter().all(|&g| g == 0.0));
    assert!(bn("moving_mean")?.iter().all(|&g| g == 0.0));
    assert!(bn("moving_variance")?.iter().all(|&g| g == 1.0));
    Ok(())
}

/// One dense layer 2 → 3 with the given final activation and fixed weights:
/// K = [[0.2, −0.5, 1], [0.3, 0.8, −0.4]], b = [0.1, −0.2, 0.05].
fn fixed_dense3(loss: Loss, dev: &Device) -> dlp::error::Result<Model> {
    let plan = model_plan(Shape::Flat(2), vec![dense(3, Activation::Softmax)], 3);
    let m = Model::new(&plan, loss, dev)?;
    let state = HashMap::from([
        (
            "dense/kernel".to_string(),
            Tensor::new(&[[0.2f32, -0.5, 1.0], [0.3, 0.8, -0.4]], dev)?,
        ),
        (
            "dense/bias".to_string(),
            Tensor::new(&[0.1f32, -0.2, 0.05], dev)?,
        ),
    ]);
    m.load_state(&state)?;
    Ok(m)
}

// The fused loss against an independent computation (NumPy 2.4, float64):
//
//   import numpy as np
//   x = np.array([[1, -2], [0.5, 3], [-1, -1]], dtype=np.float64)
//   K = np.array([[0.2, -0.5, 1.0], [0.3, 0.8, -0.4]]); b = np.array([0.1, -0.2, 0.05])
//   y = np.array([0, 2, 1])
//   z = x @ K + b
//   p = np.exp(z - z.max(1, keepdims=True)); p /= p.sum(1, keepdims=True)
//   ce = -np.log(p[np.arange(3), y]).mean()                # 2.1326778525245027
//   mse = ((p - np.eye(3)[y]) ** 2).mean(1).mean()         # 0.41037063926796663
//
// z = [[-0.3, -2.3, 1.85], [1.1, 1.95, -0.65], [-0.4, -0.5, -0.55]] (by hand too),
// p = [[0.1028786, 0.0139231, 0.8831983], [0.2846229, 0.6659171, 0.0494600],
//      [0.3615923, 0.3271823, 0.3112254]].
// With cross_entropy, forward returns the logits z and the loss is CE; with MSE the
// softmax is not fused, forward returns p and the loss compares p with the one-hot target.
#[test]
fn softmax_is_fused_into_cross_entropy() -> dlp::error::Result<()> {
    let dev = Device::Cpu;
    let x = Tensor::new(&[[1f32, -2.], [0.5, 3.], [-1., -1.]], &dev)?;
    let labels = Tensor::new(&[0u32, 2, 1], &dev)?;
    let logits_want = [-0.3, -2.3, 1.85, 1.1, 1.95, -0.65, -0.4, -0.5, -0.55];
    let p_want = [
        0.102_878_6,
        0.013_923_1,
        0.883_198_3,
        0.284_622_9,
        0.665_917_1,
        0.049_460_0,
        0.361_592_3,
        0.327_182_3,
        0.311_225_4,
    ];

    let m = fixed_dense3(Loss::CrossEntropy, &dev)?;
    let logits = m.forward(&x, ForwardMode::Eval)?;
    assert_close(&values(&logits)?, &logits_want, 1e-6, "logits");
    assert_close(&values(&m.probabilities(&logits)?)?, &p_want, 1e-6, "p");
    let ce = values(&nn::loss(Loss::CrossEntropy, &logits, &labels, None)?)?;
    assert_close(&ce, &[2.132_677_9], 1e-5, "cross-entropy");

    let mse = fixed_dense3(Loss::Mse, &dev)?;
    let out = mse.forward(&x, ForwardMode::Eval)?;
    assert_close(&values(&out)?, &p_want, 1e-6, "unfused softmax");
    assert_close(&values(&mse.probabilities(&out)?)?, &p_want, 1e-6, "p");
    let l = values(&nn::loss(Loss::Mse, &out, &labels, None)?)?;
    assert_close(&l, &[0.410_370_6], 1e-6, "mse");
    Ok(())
}

// Keras 3 gives the string activation and the layer different slopes:
// keras/src/activations/activations.py `def leaky_relu(x, negative_slope=0.2)` and
// keras/src/layers/activations/leaky_relu.py `LeakyReLU(negative_slope=0.3)`.
// Model: dense 2 activation=leaky_relu → leaky_relu → dense 2 (linear), with
// K₁ = [[1, 0], [0.5, −1]], b₁ = [0, 0.5], K₂ = I, b₂ = 0. By hand:
//   x = [−1, 2]: x·K₁ + b₁ = [0, −1.5] → ×0.2 below 0 → [0, −0.3] → ×0.3 → [0, −0.09]
//   x = [3, 1]:  x·K₁ + b₁ = [3.5, −0.5] → [3.5, −0.1] → [3.5, −0.03]
#[test]
fn leaky_relu_slopes_follow_keras_activation_and_layer() -> dlp::error::Result<()> {
    let text = "data {\n  source blobs centers=2\n  split train=0.8 test=0.2\n}\n\
        model {\n  dense 2 activation=leaky_relu\n  leaky_relu\n  dense 2\n}\n\
        train {\n  loss mse\n  epochs 1\n}\n";
    let plan = dlp::analyze::analyze_source(text, std::path::Path::new("l.dlp"), &[])?;
    let kinds: Vec<&Layer> = plan.model.layers.iter().map(|l| &l.layer).collect();
    assert_eq!(
        kinds[..2],
        [
            &dense(2, Activation::LeakyRelu { alpha: 0.2 }),
            &Layer::Activation(Activation::LeakyRelu { alpha: 0.3 }),
        ]
    );
    // `dlp plan` shows each slope.
    let shown = dlp::plan::summary::describe(&plan);
    assert!(
        shown.contains("dense 2 activation=leaky_relu(alpha=0.2) l2=0 (default)"),
        "{shown}"
    );
    assert!(shown.contains("leaky_relu alpha=0.3 (default)"), "{shown}");

    let dev = Device::Cpu;
    let m = Model::new(&plan.model, plan.train.loss, &dev)?;
    let state = HashMap::from([
        (
            "dense/kernel".to_string(),
            Tensor::new(&[[1f32, 0.], [0.5, -1.]], &dev)?,
        ),
        ("dense/bias".to_string(), Tensor::new(&[0f32, 0.5], &dev)?),
        (
            "dense_1/kernel".to_string(),
            Tensor::new(&[[1f32, 0.], [0., 1.]], &dev)?,
        ),
        ("dense_1/bias".to_string(), Tensor::new(&[0f32, 0.], &dev)?),
    ]);
    m.load_state(&state)?;
    let x = Tensor::new(&[[-1f32, 2.], [3., 1.]], &dev)?;
    let y = values(&m.forward(&x, ForwardMode::Eval)?)?;
    assert_close(&y, &[0.0, -0.09, 3.5, -0.03], 1e-6, "leaky outputs");
    Ok(())
}

// Keras 3 `binary_accuracy`: `y_pred > threshold` (0.5), so a sigmoid output of
// exactly 0.5 is class 0; with several units, the arg-max.
#[test]
fn a_sigmoid_output_of_exactly_one_half_is_class_zero() -> dlp::error::Result<()> {
    use dlp::run::evaluate::predict;
    let dev = Device::Cpu;
    let p = Tensor::new(&[[0.5f32], [0.499_999], [0.500_001], [1.0], [0.0]], &dev)?;
    assert_eq!(predict(&p)?, vec![0, 0, 1, 1, 0]);
    let p = Tensor::new(&[[0.2f32, 0.7, 0.1], [0.6, 0.3, 0.1]], &dev)?;
    assert_eq!(predict(&p)?, vec![1, 0]);
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
            Layer::Dropout {
                rate: 0.5,
                seed: None,
            },
        ],
        1,
    );
    let m = Model::new(&plan, Loss::Mse, &dev)?;
    let x = Tensor::new(&[[1f32, 2., 3., 4.], [3., 2., 1., 0.]], &dev)?;
    // Eval: moving stats (0, 1) and no dropout → x/√(1 + 1e-3).
    let e = values(&m.forward(&x, ForwardMode::Eval)?)?;
    let want: Vec<f64> = [1., 2., 3., 4., 3., 2., 1., 0.]
        .iter()
        .map(|v| v / 1.001f64.sqrt())
        .collect();
    assert_close(&e, &want, 1e-5, "eval");
    let before = m.state()?;
    let a = values(&m.forward(&x, ForwardMode::Train { step: 3 })?)?;
    let b = values(&m.forward(&x, ForwardMode::Train { step: 3 })?)?;
    let c = values(&m.forward(&x, ForwardMode::Train { step: 4 })?)?;
    assert_eq!((a.len(), c.len()), (8, 8));
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
    let mm = named(&after, "batch_normalization/moving_mean", 4)?;
    assert!(mm.iter().all(|v| (v - 0.542).abs() < 1e-5), "{mm:?}");
    let before: HashMap<String, Tensor> = before.into_iter().collect();
    assert!(
        named(&before, "batch_normalization/moving_mean", 4)?
            .iter()
            .all(|&v| v == 0.0)
    );
    Ok(())
}

// `dropout RATE seed=S` seeds that layer only: each layer's mask derives from its own
// seed (or the model's dropout stream) and its position, so the output of two
// stacked dropouts is x · mask(seed₁, step, 0) · mask(seed₂, step, 1). Before, the
// last `seed=` written replaced the stream of every dropout layer.
#[test]
fn each_dropout_layer_draws_from_its_own_seed() -> dlp::error::Result<()> {
    let text = "seed 5\ndata {\n  source blobs features=64 centers=2\n  split train=0.8 test=0.2\n}\n\
        model {\n  dropout 0.5 seed=3\n  dropout 0.5\n  dropout 0.5 seed=9\n  dense 2 activation=softmax\n}\n\
        train {\n  loss cross_entropy\n  epochs 1\n}\n";
    let plan = dlp::analyze::analyze_source(text, std::path::Path::new("d.dlp"), &[])?;
    let seeds: Vec<Option<u64>> = plan.model.layers[..3]
        .iter()
        .map(|l| match l.layer {
            Layer::Dropout { seed, .. } => seed,
            _ => panic!("not a dropout: {l:?}"),
        })
        .collect();
    assert_eq!(seeds, [Some(3), None, Some(9)]);
    use dlp::rng::{Stream, stream_seed};
    assert_eq!(plan.model.dropout_seed, stream_seed(5, Stream::Dropout));

    let dev = Device::Cpu;
    let mut m_plan = plan.model.clone();
    m_plan.layers.truncate(3);
    let m = Model::new(&m_plan, Loss::Mse, &dev)?;
    let x = Tensor::ones((2, 64), DType::F32, &dev)?;
    let step = 7;
    let got = values(&m.forward(&x, ForwardMode::Train { step })?)?;
    let mask = |index: usize, seed: u64| -> dlp::error::Result<Vec<f32>> {
        let d = dlp::nn::dropout::Dropout { rate: 0.5, index };
        values(&d.mask(&[2, 64], seed, step)?)
    };
    let (a, b, c) = (mask(0, 3)?, mask(1, plan.model.dropout_seed)?, mask(2, 9)?);
    let want: Vec<f64> = (0..128).map(|i| f64::from(a[i] * b[i] * c[i])).collect();
    assert_close(&got, &want, 1e-6, "three masks");
    // Not what one shared seed gives (the old behaviour: 9 for every layer).
    let (a9, b9) = (mask(0, 9)?, mask(1, 9)?);
    let shared: Vec<f32> = (0..128).map(|i| a9[i] * b9[i] * c[i]).collect();
    assert_ne!(got, shared);
    assert!(got.iter().any(|&v| v != 0.0), "everything dropped: {got:?}");
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
        * named(&state, "dense/kernel", 6)?
            .iter()
            .map(|w| w * w)
            .sum::<f32>();
    assert!(want > 0.0);
    let got = match m.l2_penalty()? {
        Some(t) => values(&t)?,
        None => Vec::new(),
    };
    assert_close(&got, &[f64::from(want)], 1e-7, "l2 penalty");
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
    let sb = b.state()?;
    assert_eq!(sb.len(), sa.len());
    for (name, t) in sb {
        let v = values(&t)?;
        assert_eq!(v, named(&sa, &name, t.elem_count())?, "{name}");
    }
    // The round trip carried the moved statistics, not fresh ones.
    assert!(
        named(&sa, "batch_normalization/moving_mean", 32)?
            .iter()
            .any(|&v| v != 0.0)
    );

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
        let l = values(&nn::loss(Loss::CrossEntropy, &out, &y, None)?)?;
        assert_eq!(l.len(), 1);
        Ok(l[0])
    };
    let first = loss_at(&m)?;
    for step in 0..50 {
        let out = m.forward(&x, ForwardMode::Train { step })?;
        let l = nn::loss(Loss::CrossEntropy, &out, &y, None)?;
        opt.step(&l.backward()?, 0.01)?;
    }
    let last = loss_at(&m)?;
    assert!(last < 0.5 * first, "loss {first} → {last}");
    let probs = values(&m.probabilities(&m.forward(&x, ForwardMode::Eval)?)?)?;
    assert_eq!(probs.len(), 60 * 3);
    let pred = dlp::metrics::predicted_classes(&probs, 3);
    let acc = dlp::metrics::Confusion::from_predictions(3, &ys, &pred).accuracy();
    assert!(acc > 0.95, "accuracy {acc}");
    Ok(())
}

/// `transfer { freeze … }` as Keras' `trainable = False`: a frozen batch
/// norm runs in inference mode in training (its moving statistics used and
/// left alone: x/√(1 + 1e-3) with the initial statistics), frozen layers
/// have no trainable variables and receive no gradient, and their L2 penalty
/// leaves the loss (Keras 3 sums the regularisers of `trainable_weights`).
#[test]
fn frozen_layers_neither_learn_nor_update_statistics() -> dlp::error::Result<()> {
    let dev = Device::Cpu;
    let plan = model_plan(
        Shape::Flat(4),
        vec![
            Layer::BatchNorm {
                momentum: 0.9,
                epsilon: 1e-3,
            },
            Layer::Dense {
                units: 3,
                activation: Activation::Relu,
                l2: 0.1,
            },
            dense(2, Activation::Softmax),
        ],
        1,
    );
    let mut m = Model::new(&plan, Loss::CrossEntropy, &dev)?;
    assert_eq!(m.trainable().len(), 6);
    m.set_frozen(&["batch_normalization".to_string(), "dense".to_string()]);
    let names: Vec<String> = m.trainable().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["dense_1/kernel", "dense_1/bias"]);
    assert!(m.l2_penalty()?.is_none());

    let x = Tensor::new(&[[1f32, 2., 3., 4.], [3., 2., 1., 0.]], &dev)?;
    let before = m.state()?;
    let train = m.forward(&x, ForwardMode::Train { step: 0 })?;
    let eval = m.forward(&x, ForwardMode::Eval)?;
    assert_eq!(values(&train)?, values(&eval)?, "frozen batch norm infers");
    let after: HashMap<String, Tensor> = m.state()?.into_iter().collect();
    for (name, t) in &before {
        assert_eq!(values(t)?, values(&after[name])?, "{name} moved");
    }
    let y = Tensor::new(&[0u32, 1], &dev)?;
    let grads = nn::loss(Loss::CrossEntropy, &train, &y, None)?.backward()?;
    let all = {
        m.set_frozen(&[]);
        m.trainable()
    };
    for (name, v) in all {
        let has = grads.get(v.as_tensor()).is_some();
        assert_eq!(has, name.starts_with("dense_1/"), "{name}: gradient {has}");
    }
    Ok(())
}
