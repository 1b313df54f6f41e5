//! Training and inference speed of the book's CIFAR-10 model (section 4.10)
//! built directly from `dlp::ops` and candle primitives, with the candle
//! reference ops and with the custom ops, interleaved round by round.
//!
//! Model: 3 × [conv3×3 same + ReLU, BN, conv3×3 same + ReLU, BN, maxpool 2,
//! dropout] with 32/64/128 filters, flatten, dense 10, softmax cross-entropy,
//! Adam (lr 1e-4, eps 1e-7). Batch 128 for training, 1000 for inference.
//!
//! `cargo run --release --example conv_bench -- [--threads N] [--reps R]
//!  [--ops fast|conv-only|reference|both|all] [--no-infer]`
//!
//! `conv-only` uses the custom convolution and pooling with candle's batch
//! norm and ReLU; `fast` adds the fused conv+ReLU and batch-norm ops.

use candle_core::{D, DType, Device, Result, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use dlp::ops;
use dlp::plan::Padding;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

// The allocator and setting of the `dlp` binary (see src/alloc.rs).
#[global_allocator]
static ALLOCATOR: dlp::alloc::Allocator = dlp::alloc::Allocator {};

type Conv = fn(&Tensor, &Tensor, Option<&Tensor>, usize, Padding) -> Result<Tensor>;
type Pool = fn(&Tensor, usize, usize) -> Result<Tensor>;
type Norm = fn(&Tensor, &Tensor, &Tensor, f64) -> Result<(Tensor, Tensor, Tensor)>;

#[derive(Clone, Copy)]
struct Impl {
    name: &'static str,
    conv: Conv,
    pool: Pool,
    norm: Norm,
    /// Whether `conv` already applies the ReLU.
    fused_relu: bool,
}

const FAST: Impl = Impl {
    name: "fast",
    conv: ops::conv2d_relu,
    pool: ops::max_pool2d,
    norm: ops::batch_norm_train,
    fused_relu: true,
};
/// The custom conv and pool with candle's batch norm and ReLU.
const CONV_ONLY: Impl = Impl {
    name: "conv-only",
    conv: ops::conv2d,
    pool: ops::max_pool2d,
    norm: ops::reference::batch_norm_train,
    fused_relu: false,
};
const REFERENCE: Impl = Impl {
    name: "reference",
    conv: ops::reference::conv2d,
    pool: ops::reference::max_pool2d,
    norm: ops::reference::batch_norm_train,
    fused_relu: false,
};

fn uniform(rng: &mut ChaCha8Rng, shape: &[usize], bound: f32) -> Result<Tensor> {
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| rng.random_range(-bound..bound)).collect();
    Tensor::from_vec(v, shape, &Device::Cpu)
}

struct Block {
    w: Var,
    b: Var,
    gamma: Var,
    beta: Var,
}

struct Model {
    blocks: Vec<Block>,
    dense_w: Var,
    dense_b: Var,
    /// Fixed dropout masks (already scaled by 1/keep) per stage, batch 128.
    masks: Vec<Tensor>,
}

impl Model {
    fn new(rng: &mut ChaCha8Rng, batch: usize) -> Result<Self> {
        let mut blocks = Vec::new();
        let mut c = 3;
        let mut masks = Vec::new();
        let mut side = 32;
        for (f, rate) in [(32, 0.2f32), (64, 0.3), (128, 0.4)] {
            for _ in 0..2 {
                let bound = (6.0 / ((c * 9 + f * 9) as f32)).sqrt();
                blocks.push(Block {
                    w: Var::from_tensor(&uniform(rng, &[f, c, 3, 3], bound)?)?,
                    b: Var::zeros(f, DType::F32, &Device::Cpu)?,
                    gamma: Var::ones(f, DType::F32, &Device::Cpu)?,
                    beta: Var::zeros(f, DType::F32, &Device::Cpu)?,
                });
                c = f;
            }
            side /= 2;
            let n = batch * f * side * side;
            let keep: Vec<f32> = (0..n)
                .map(|_| {
                    if rng.random::<f32>() < rate {
                        0.0
                    } else {
                        1.0 / (1.0 - rate)
                    }
                })
                .collect();
            masks.push(Tensor::from_vec(
                keep,
                (batch, f, side, side),
                &Device::Cpu,
            )?);
        }
        let bound = (6.0 / (2048.0 + 10.0f32)).sqrt();
        Ok(Self {
            blocks,
            dense_w: Var::from_tensor(&uniform(rng, &[10, 2048], bound)?)?,
            dense_b: Var::zeros(10, DType::F32, &Device::Cpu)?,
            masks,
        })
    }

    fn vars(&self) -> Vec<Var> {
        let mut v = Vec::new();
        for b in &self.blocks {
            v.extend([b.w.clone(), b.b.clone(), b.gamma.clone(), b.beta.clone()]);
        }
        v.extend([self.dense_w.clone(), self.dense_b.clone()]);
        v
    }

    fn forward(&self, x: &Tensor, imp: Impl, train: bool, detach: bool) -> Result<Tensor> {
        let t = |v: &Var| {
            if detach {
                v.as_tensor().detach()
            } else {
                v.as_tensor().clone()
            }
        };
        let mut x = x.clone();
        for (stage, pair) in self.blocks.chunks(2).enumerate() {
            for b in pair {
                x = (imp.conv)(&x, &t(&b.w), Some(&t(&b.b)), 1, Padding::Same)?;
                if !imp.fused_relu {
                    x = x.relu()?;
                }
                x = (imp.norm)(&x, &t(&b.gamma), &t(&b.beta), 1e-3)?.0;
            }
            x = (imp.pool)(&x, 2, 2)?;
            if train {
                x = (x * &self.masks[stage])?;
            }
        }
        let x = x.flatten_from(1)?;
        x.matmul(&t(&self.dense_w).t()?)?
            .broadcast_add(&t(&self.dense_b))
    }
}

struct Times {
    forward: f64,
    backward: f64,
    step: f64,
}

fn train_step(m: &Model, opt: &mut AdamW, x: &Tensor, y: &Tensor, imp: Impl) -> Result<Times> {
    let t0 = Instant::now();
    let logits = m.forward(x, imp, true, false)?;
    let loss = candle_nn::loss::cross_entropy(&logits, y)?;
    let t1 = Instant::now();
    let grads = loss.backward()?;
    let t2 = Instant::now();
    opt.step(&grads)?;
    let t3 = Instant::now();
    Ok(Times {
        forward: (t1 - t0).as_secs_f64(),
        backward: (t2 - t1).as_secs_f64(),
        step: (t3 - t2).as_secs_f64(),
    })
}

fn stats(v: &mut [f64]) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn main() -> Result<()> {
    dlp::alloc::keep_freed_memory();
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
    };
    let threads: usize = arg("--threads").and_then(|s| s.parse().ok()).unwrap_or(2);
    let reps: usize = arg("--reps").and_then(|s| s.parse().ok()).unwrap_or(5);
    let which = arg("--ops").map(String::as_str).unwrap_or("both");
    let infer = !args.iter().any(|a| a == "--no-infer");
    let imps: Vec<Impl> = match which {
        "fast" => vec![FAST],
        "reference" => vec![REFERENCE],
        "conv-only" => vec![CONV_ONLY],
        "all" => vec![REFERENCE, CONV_ONLY, FAST],
        _ => vec![REFERENCE, FAST],
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(candle_core::Error::wrap)?;
    pool.install(|| run(threads, reps, &imps, infer))
}

fn run(threads: usize, reps: usize, imps: &[Impl], infer: bool) -> Result<()> {
    let batch = 128;
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let x = uniform(&mut rng, &[batch, 3, 32, 32], 1.0)?;
    let labels: Vec<u32> = (0..batch).map(|_| rng.random_range(0..10u32)).collect();
    let y = Tensor::new(labels, &Device::Cpu)?;
    let xi = uniform(&mut rng, &[1000, 3, 32, 32], 1.0)?;
    let params = ParamsAdamW {
        lr: 1e-4,
        eps: 1e-7,
        weight_decay: 0.0,
        ..Default::default()
    };
    let mut models = Vec::new();
    for _ in imps {
        let m = Model::new(&mut ChaCha8Rng::seed_from_u64(7), batch)?;
        let opt = AdamW::new(m.vars(), params.clone())?;
        models.push((m, opt));
    }
    // Warm-up: one step each (allocations, thread pool, page faults).
    for (imp, (m, opt)) in imps.iter().zip(&mut models) {
        train_step(m, opt, &x, &y, *imp)?;
    }
    let mut train: Vec<Vec<f64>> = vec![Vec::new(); imps.len()];
    let mut phases: Vec<Vec<Times>> = (0..imps.len()).map(|_| Vec::new()).collect();
    let mut inference: Vec<Vec<f64>> = vec![Vec::new(); imps.len()];
    for _ in 0..reps {
        for (i, (imp, (m, opt))) in imps.iter().zip(&mut models).enumerate() {
            let t = Instant::now();
            let times = train_step(m, opt, &x, &y, *imp)?;
            train[i].push(batch as f64 / t.elapsed().as_secs_f64());
            phases[i].push(times);
            if infer {
                let t = Instant::now();
                let out = m.forward(&xi, *imp, false, true)?.argmax(D::Minus1)?;
                out.to_vec1::<u32>()?;
                inference[i].push(1000.0 / t.elapsed().as_secs_f64());
            }
        }
    }
    println!("threads={threads} reps={reps} batch={batch}");
    for (i, imp) in imps.iter().enumerate() {
        let (med, min, max) = stats(&mut train[i]);
        println!(
            "[{}] train_img_per_s median={med:.1} min={min:.1} max={max:.1}",
            imp.name
        );
        let mean = |f: fn(&Times) -> f64| {
            1e3 * phases[i].iter().map(f).sum::<f64>() / phases[i].len() as f64
        };
        println!(
            "[{}] per step ms: forward={:.1} backward={:.1} optimizer={:.1}",
            imp.name,
            mean(|t| t.forward),
            mean(|t| t.backward),
            mean(|t| t.step)
        );
        if infer {
            let (med, min, max) = stats(&mut inference[i]);
            println!(
                "[{}] infer_img_per_s median={med:.1} min={min:.1} max={max:.1}",
                imp.name
            );
        }
    }
    Ok(())
}
