//! A residual network with a projection shortcut and a concat branch,
//! trained three full-batch SGD steps from fixed weights, against Keras 3's
//! functional model (jax backend, float32) from the same weights: the
//! losses and every weight and moving statistic agree to float32 precision.
//!
//! The reference, `python train_graph.py` with keras 3.15.1 and jax 0.10.2 (CPU):
//!
// # Keras 3 (jax backend), float32: the residual network of
// # tests/it/engine/graph.rs trained 3 full-batch SGD steps from fixed weights.
// import os
// os.environ["KERAS_BACKEND"] = "jax"
// import numpy as np
// import keras
// from keras import layers
//
// def fill(shape, t):
//     k = np.arange(int(np.prod(shape)), dtype=np.int64)
//     return ((((k * 7 + 3 * t) % 23) - 11) / 92.0).astype(np.float32).reshape(shape)
//
// def conv_kernel(f, c, k, t):  # dlp's (F, C, K, K) order, Keras' (K, K, C, F)
//     return np.transpose(fill((f, c, k, k), t), (2, 3, 1, 0))
//
// n, c, h, w = 6, 3, 8, 8
// idx = np.indices((n, c, h, w))
// x_nchw = ((((idx[0] * 31 + idx[1] * 17 + idx[2] * 5 + idx[3] * 3) % 19) - 9) / 9.0).astype(np.float32)
// x = np.transpose(x_nchw, (0, 2, 3, 1))
// y = keras.utils.to_categorical([0, 1, 2, 0, 1, 2], 10)
//
// inp = keras.Input((h, w, c))
// a = layers.Conv2D(4, 3, padding="same", use_bias=False, name="conv2d")(inp)
// a = layers.BatchNormalization(momentum=0.99, epsilon=1e-3, name="batch_normalization")(a)
// a = layers.ReLU(name="re_lu")(a)
// b1 = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="conv2d_1")(a)
// b1 = layers.BatchNormalization(name="batch_normalization_1")(b1)
// b1 = layers.Conv2D(8, 3, padding="same", name="conv2d_2")(b1)
// b2 = layers.Conv2D(8, 1, strides=2, use_bias=False, name="conv2d_3")(a)
// b2 = layers.BatchNormalization(name="batch_normalization_2")(b2)
// m = layers.Add(name="add")([b1, b2])
// m = layers.ReLU(name="re_lu_1")(m)
// c1 = layers.Conv2D(4, 3, padding="same", activation="relu", name="conv2d_4")(m)
// m = layers.Concatenate(name="concatenate")([c1, m])
// m = layers.GlobalAveragePooling2D(name="global_average_pooling2d")(m)
// out = layers.Dense(10, name="dense")(m)
// model = keras.Model(inp, out)
//
// shapes = {"conv2d": (4, 3, 3), "conv2d_1": (8, 4, 3), "conv2d_2": (8, 8, 3),
//           "conv2d_3": (8, 4, 1), "conv2d_4": (4, 8, 3)}
// for t, name in enumerate(["conv2d", "conv2d_1", "conv2d_2", "conv2d_3", "conv2d_4", "dense"]):
//     layer = model.get_layer(name)
//     ws = layer.get_weights()
//     ws[0] = conv_kernel(*shapes[name], t) if name in shapes else fill((12, 10), t)
//     layer.set_weights(ws)
//
// model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
//               loss=keras.losses.CategoricalCrossentropy(from_logits=True))
// np.set_printoptions(precision=9, floatmode="maxprec")
// for step in range(3):
//     print("loss", repr(float(model.train_on_batch(x, y))))
// for name in ["conv2d", "batch_normalization", "conv2d_1", "conv2d_3", "batch_normalization_2", "dense"]:
//     for v in model.get_layer(name).weights:
//         a = np.asarray(v)
//         if a.ndim == 4:
//             a = np.transpose(a, (3, 2, 0, 1))  # back to dlp's order
//         flat = a.reshape(-1)
//         print(v.path, [float(z) for z in flat[:4]], float(np.sum(flat.astype(np.float64))))
//
// It printed:
//
// loss 2.349879503250122
// loss 2.2872371673583984
// loss 2.1781375408172607
// (then, per tensor, its first four values and the sum of all, pasted below)

use candle_core::{Device, Tensor};
use dlp::nn::{self, ForwardMode, Model};
use dlp::plan::{Loss, Optimizer, OptimizerPlan};
use std::collections::HashMap;
use std::path::Path;

/// The network of the script, as a pipeline.
const PIPELINE: &str = "data {
  source cifar10
  split train=100 test=official
}
preprocess { resize 8 8 }
model {
  conv2d 4 padding=same use_bias=false
  batchnorm
  relu
  add {
    branch {
      conv2d 8 stride=2 padding=same activation=relu
      batchnorm
      conv2d 8 padding=same
    }
    branch {
      conv2d 8 kernel=1 stride=2 use_bias=false
      batchnorm
    }
  }
  relu
  concat {
    branch { conv2d 4 padding=same activation=relu }
    branch {}
  }
  global_avgpool
  dense 10
}
train {
  loss cross_entropy
  optimizer sgd lr=0.1 momentum=0.9
  epochs 1
}
";

/// The script's `fill`: exact in float64, then rounded to float32.
fn fill(len: usize, t: usize) -> Vec<f32> {
    (0..len)
        .map(|k| ((((k * 7 + 3 * t) % 23) as f64 - 11.0) / 92.0) as f32)
        .collect()
}

/// Keras' values after three steps: first four values and the float64 sum.
const KERAS: &[(&str, [f64; 4], f64)] = &[
    (
        "conv2d/kernel",
        [
            -0.11981175094842911,
            -0.04073449224233627,
            0.03412706404924393,
            0.10952775180339813,
        ],
        -0.05744789098389447,
    ),
    (
        "batch_normalization/gamma",
        [
            1.002220630645752,
            0.9996562600135803,
            0.9973061680793762,
            0.998885452747345,
        ],
        3.9980685114860535,
    ),
    (
        "batch_normalization/beta",
        [
            0.0016793160466477275,
            -1.7902435502037406e-05,
            -0.0016723520820960402,
            -0.000606646528467536,
        ],
        -0.0006175849994178861,
    ),
    (
        "batch_normalization/moving_mean",
        [
            -3.189163908245973e-05,
            -2.361565020692069e-05,
            1.6404621419496834e-05,
            2.9415030439849943e-05,
        ],
        -9.687637430033647e-06,
    ),
    (
        "batch_normalization/moving_variance",
        [
            0.9715674519538879,
            0.9710832238197327,
            0.9713504314422607,
            0.9711903929710388,
        ],
        3.88519150018692,
    ),
    (
        "conv2d_1/kernel",
        [
            -0.08953718841075897,
            -0.01647418551146984,
            0.06259218603372574,
            -0.10995429009199142,
        ],
        -0.09508420879865298,
    ),
    (
        "conv2d_1/bias",
        [
            -0.0017797895707190037,
            0.002065488137304783,
            0.0003457919810898602,
            -0.000985935446806252,
        ],
        -0.0018666994292289019,
    ),
    (
        "conv2d_3/kernel",
        [
            -0.01731240563094616,
            0.04980724677443504,
            -0.12427222728729248,
            -0.03205077722668648,
        ],
        0.07650978863239288,
    ),
    (
        "batch_normalization_2/gamma",
        [
            0.9983197450637817,
            1.0036170482635498,
            1.002023696899414,
            0.9992802739143372,
        ],
        7.984583854675293,
    ),
    (
        "batch_normalization_2/beta",
        [
            -0.0012896677944809198,
            0.004557185340672731,
            0.0022757179103791714,
            0.0031477087177336216,
        ],
        -0.020078099449165165,
    ),
    (
        "batch_normalization_2/moving_mean",
        [
            -0.0015316592762246728,
            0.0011746077798306942,
            0.0004779495357070118,
            0.0004421887861099094,
        ],
        0.0006113756899139844,
    ),
    (
        "batch_normalization_2/moving_variance",
        [
            0.9704439043998718,
            0.9704951643943787,
            0.9705314636230469,
            0.9706084728240967,
        ],
        7.764151513576508,
    ),
    (
        "dense/kernel",
        [
            0.06285253912210464,
            0.1380278468132019,
            -0.04263724386692047,
            0.013795889914035797,
        ],
        0.22826094971969724,
    ),
    (
        "dense/bias",
        [
            0.12746693193912506,
            0.13852520287036896,
            0.12522903084754944,
            -0.06267896294593811,
        ],
        2.2351741790771484e-08,
    ),
];

const KERAS_LOSSES: [f64; 3] = [2.349879503250122, 2.2872371673583984, 2.1781375408172607];

#[test]
fn residual_and_concat_train_as_keras_from_the_same_weights() -> dlp::error::Result<()> {
    let dev = Device::Cpu;
    let plan = dlp::analyze::analyze_source(PIPELINE, Path::new("graph.dlp"), &[])?;
    let m = Model::new(&plan.model, Loss::CrossEntropy, &dev)?;
    // The script's kernels, in its order; biases zero, batch norm as built.
    let mut state: HashMap<String, Tensor> = m.state()?.into_iter().collect();
    let kernels = [
        "conv2d", "conv2d_1", "conv2d_2", "conv2d_3", "conv2d_4", "dense",
    ];
    for (t, layer) in kernels.iter().enumerate() {
        let name = format!("{layer}/kernel");
        let dims = state[&name].dims().to_vec();
        let len = dims.iter().product();
        state.insert(name, Tensor::from_vec(fill(len, t), dims, &dev)?);
    }
    m.load_state(&state)?;
    let xs: Vec<f32> = (0..6 * 3 * 8 * 8)
        .map(|i| {
            let (n, c, h, w) = (i / 192, i / 64 % 3, i / 8 % 8, i % 8);
            ((((n * 31 + c * 17 + h * 5 + w * 3) % 19) as f64 - 9.0) / 9.0) as f32
        })
        .collect();
    let x = Tensor::from_vec(xs, (6, 3, 8, 8), &dev)?;
    let y = Tensor::from_vec(vec![0u32, 1, 2, 0, 1, 2], 6, &dev)?;
    let opt_plan = OptimizerPlan {
        kind: Optimizer::Sgd {
            lr: 0.1,
            momentum: 0.9,
            nesterov: false,
            weight_decay: 0.0,
        },
        clip_norm: None,
        decay: 0.0,
    };
    let mut opt = dlp::optim::build(&opt_plan, m.trainable())?;
    for (step, want) in KERAS_LOSSES.iter().enumerate() {
        let out = m.forward(&x, ForwardMode::Train { step: step as u64 })?;
        let l = nn::loss(Loss::CrossEntropy, &out, &y, None)?;
        let got = l.to_vec0::<f32>()? as f64;
        assert!(
            (got - want).abs() < 2e-6,
            "step {step}: loss {got}, Keras {want}"
        );
        opt.step(&l.backward()?, 0.1)?;
    }
    let state: HashMap<String, Tensor> = m.state()?.into_iter().collect();
    for (name, first, sum) in KERAS {
        let got = state[*name].flatten_all()?.to_vec1::<f32>()?;
        for (i, want) in first.iter().enumerate().filter(|(_, w)| !w.is_nan()) {
            let g = got[i] as f64;
            assert!(
                (g - want).abs() < 1e-6 * want.abs().max(1.0),
                "{name}[{i}]: {g}, Keras {want}"
            );
        }
        let s: f64 = got.iter().map(|&v| v as f64).sum();
        assert!(
            (s - sum).abs() < 1e-5 * sum.abs().max(1.0),
            "{name} sum: {s}, Keras {sum}"
        );
    }
    Ok(())
}
