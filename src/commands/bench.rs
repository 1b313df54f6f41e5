//! `dlp bench PIPELINE`: how fast this machine trains and serves the
//! pipeline's model. Figures are images (samples) per second, median and
//! spread over timed repetitions after a warm-up, printed in the same
//! format as `benches/pytorch_reference.py` so the two compare line by line.
//!
//! Training and inference use random inputs of the model's shape (the
//! figure does not depend on the values); augmentation and loading use a
//! synthetic set in the source's format, so no download is needed.

use crate::analyze;
use crate::cli::BenchArgs;
use crate::data::{self, Part};
use crate::error::{Error, Result};
use crate::nn::{ForwardMode, Model};
use crate::optim;
use crate::plan::{BatchSize, Builtin, Plan, Source};
use crate::rng;
use crate::run::step::{Step, StepInputs, train_step};
use crate::run::{device, memory};
use candle_core::{Device, Tensor};
use rand::RngExt;
use std::sync::Arc;
use std::time::Instant;

/// Median, min and max of per-repetition rates.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Figure {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Figure {
    pub(crate) fn from_rates(mut rates: Vec<f64>) -> Figure {
        rates.sort_by(f64::total_cmp);
        let n = rates.len();
        let median = if n % 2 == 1 {
            rates[n / 2]
        } else {
            (rates[n / 2 - 1] + rates[n / 2]) / 2.0
        };
        Figure {
            median,
            min: rates[0],
            max: rates[n - 1],
        }
    }
}

fn say(text: String) -> Result<()> {
    crate::terminal::out(&(text + "\n"))
}

fn line(name: &str, f: Figure) -> String {
    format!(
        "{name} median={:.1} min={:.1} max={:.1}",
        f.median, f.min, f.max
    )
}

/// Times `reps` repetitions of `work` (each processing `items` samples)
/// after one warm-up call.
fn measure(reps: usize, items: usize, mut work: impl FnMut() -> Result<()>) -> Result<Figure> {
    work()?;
    let mut rates = Vec::with_capacity(reps);
    for _ in 0..reps.max(1) {
        let t = Instant::now();
        work()?;
        rates.push(items as f64 / t.elapsed().as_secs_f64());
    }
    Ok(Figure::from_rates(rates))
}

fn random_input(plan: &Plan, n: usize, seed: u64, device: &Device) -> Result<(Tensor, Tensor)> {
    let mut g = rng::generator(seed);
    let dims = plan.model.input.batch_dims(n);
    let len: usize = dims.iter().product();
    let x: Vec<f32> = (0..len).map(|_| g.random::<f32>() * 2.0 - 1.0).collect();
    let classes = match plan.model.output() {
        crate::plan::Shape::Flat(k) => k.max(2),
        other => other.numel(),
    };
    let y: Vec<u32> = (0..n).map(|_| g.random_range(0..classes as u32)).collect();
    Ok((
        Tensor::from_vec(x, dims, device)?,
        Tensor::from_vec(y, n, device)?,
    ))
}

/// Peak resident memory of this process in MiB (Linux `VmHWM`).
pub(crate) fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// A synthetic set in a built-in source's format and size, written to a
/// temporary cache that `DLP_DATA` then points at, so the bench needs no
/// download. Must run before any other thread starts (it sets the
/// environment). The folder lives as long as the returned guard.
fn synthetic_cache(plan: &Plan) -> Result<Option<tempfile::TempDir>> {
    let Source::Builtin(builtin) = plan.data.source else {
        return Ok(None);
    };
    let tmp = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let dir = tmp.path().join(builtin.name());
    match builtin {
        Builtin::Cifar10 => data::synth::write_cifar10(&dir, 50_000, 10_000, 1)?,
        Builtin::Mnist | Builtin::FashionMnist => {
            data::synth::write_mnist(&dir, 60_000, 10_000, 1, true)?
        }
    }
    // SAFETY: called from `run` before the bench starts any thread, so no
    // other thread reads the environment concurrently.
    unsafe { std::env::set_var("DLP_DATA", tmp.path()) };
    Ok(Some(tmp))
}

pub(crate) fn run(args: &BenchArgs) -> Result<i32> {
    let (plan, warnings) = analyze::load_with_warnings(&args.file, &args.overrides.set)?;
    crate::terminal::err!("{warnings}");
    let _cache = synthetic_cache(&plan)?;
    let spec = args
        .device
        .as_deref()
        .map(device::parse)
        .transpose()?
        .unwrap_or(plan.train.device);
    let device = device::select(spec, false)?;
    let batch = match plan.train.batch {
        BatchSize::Size(n) => n,
        BatchSize::All => 1000,
    };
    say(format!(
        "# dlp bench {} — batch {batch}, device {}, threads {}, cpu convolutions {}, {} reps",
        args.file.display(),
        device::name(&device),
        rayon::current_num_threads(),
        crate::ops::cpu_conv_kernel(),
        args.reps
    ))?;

    memory::Need::training(&plan, batch.max(args.infer_batch)).check()?;
    let model = Model::new(&plan.model, plan.train.loss, &device)?;
    let mut opt = optim::build(&plan.train.optimizer, model.trainable())?;
    let (x, y) = random_input(&plan, batch, 1, &device)?;
    let lr = plan.train.optimizer.lr();
    let inputs = StepInputs {
        model: &model,
        loss: plan.train.loss,
        label_smoothing: plan.train.label_smoothing,
        class_weights: None,
    };
    let mut step = 0u64;
    let train = measure(args.reps, batch * args.steps, || {
        for _ in 0..args.steps {
            if let Step::NonFinite(v) = train_step(&inputs, opt.as_mut(), &x, &y, lr, step)? {
                return Err(Error::Runtime(format!(
                    "the loss became {v} at bench step {}: the figures would time no update",
                    step + 1
                )));
            }
            step += 1;
        }
        // On a GPU the last update may still be running: wait for it, so
        // the time covers every step (a no-op on the CPU).
        device.synchronize()?;
        Ok(())
    })?;
    say(line("train_img_per_s", train))?;

    let (xi, _) = random_input(&plan, args.infer_batch, 2, &device)?;
    let infer = measure(args.reps, args.infer_batch, || {
        let out = model.forward(&xi, ForwardMode::Eval)?;
        model.probabilities(&out)?.to_device(&Device::Cpu)?;
        Ok(())
    })?;
    say(line("infer_img_per_s", infer))?;

    // Reading, batching and augmentation on a synthetic set in the
    // source's format: reading is the files to split u8 samples with the
    // train statistics fitted; batching turns them into normalised f32.
    match data::load(&plan, false) {
        Ok(data) => {
            let data = Arc::new(data);
            let total = data.len(Part::Train) + data.len(Part::Valid) + data.len(Part::Test);
            let read = measure(args.reps.min(3), total, || {
                data::load(&plan, false).map(drop)
            })?;
            say(line("read_img_per_s", read))?;
            let n = data.len(Part::Train).min(batch * 20);
            let order: Vec<usize> = (0..n).collect();
            let batches = measure(args.reps, n, || {
                for b in data.batches(Part::Train, order.clone(), batch, false, None) {
                    b?;
                }
                Ok(())
            })?;
            say(line("batch_img_per_s", batches))?;
            if !plan.augment.is_empty() {
                let aug = plan.augment.clone();
                let mut epoch = 0u64;
                let augment = measure(args.reps, n, || {
                    epoch += 1;
                    for b in data.batches(
                        Part::Train,
                        order.clone(),
                        batch,
                        false,
                        Some((aug.clone(), epoch)),
                    ) {
                        b?;
                    }
                    Ok(())
                })?;
                say(line("augment_img_per_s", augment))?;
            }
        }
        Err(e) => say(format!("# loading and augmentation not measured: {e}"))?,
    }
    match peak_rss_mib() {
        Some(mib) => say(format!("peak_rss_mib {mib:.0}"))?,
        None => {
            return Err(Error::Runtime(
                "cannot read peak memory from /proc/self/status".into(),
            ));
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_median_and_range() {
        let f = Figure::from_rates(vec![3.0, 1.0, 2.0, 10.0]);
        assert_eq!((f.median, f.min, f.max), (2.5, 1.0, 10.0));
        let f = Figure::from_rates(vec![5.0, 1.0, 2.0]);
        assert_eq!(f.median, 2.0);
    }
}
