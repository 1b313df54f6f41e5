//! Shared helpers for the `ops` tests.

use candle_core::{Device, Result, Tensor, Var};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A seeded uniform(-1, 1) tensor on the CPU.
pub fn random(shape: &[usize], seed: u64) -> Result<Tensor> {
    random_on(shape, seed, &Device::Cpu)
}

/// A seeded uniform(-1, 1) tensor on `dev`: the same values on every
/// device.
pub fn random_on(shape: &[usize], seed: u64, dev: &Device) -> Result<Tensor> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect();
    Tensor::from_vec(v, shape, dev)
}

/// One test per device for a check that takes the device (candle's
/// `test_device!`): `<name>::cpu` always, `<name>::cuda` in a build with
/// the `cuda` feature, run on GPU 0 ([`gpu`]).
macro_rules! test_device {
    ($name:ident, $check:path) => {
        mod $name {
            #[test]
            fn cpu() -> candle_core::Result<()> {
                $check(&candle_core::Device::Cpu)
            }

            #[cfg(feature = "cuda")]
            #[test]
            fn cuda() -> candle_core::Result<()> {
                match crate::ops::common::gpu()? {
                    Some(dev) => $check(&dev),
                    None => Ok(()),
                }
            }
        }
    };
}
pub(crate) use test_device;

/// GPU 0 for the CUDA variants of the op tests. Without a usable GPU the
/// test fails, unless `DLP_ALLOW_SKIP` names `gpu` (see `common::skip`):
/// then it is skipped and recorded. The checks compare
/// against f32 references at f32 tolerances, so cuDNN must not use TF32:
/// they need `NVIDIA_TF32_OVERRIDE=0`.
#[cfg(feature = "cuda")]
pub fn gpu() -> Result<Option<Device>> {
    match dlp::run::device::select(dlp::plan::DeviceSpec::Cuda(0), true) {
        Ok(dev) => {
            if std::env::var("NVIDIA_TF32_OVERRIDE").as_deref() != Ok("0") {
                candle_core::bail!(
                    "the CUDA op tests need NVIDIA_TF32_OVERRIDE=0 (f32 convolutions)"
                );
            }
            Ok(Some(dev))
        }
        Err(e) => {
            crate::common::skip::skip_unless_allowed("gpu", &format!("no usable GPU: {e}"));
            Ok(None)
        }
    }
}

/// Largest |a − b| relative to the largest |b| (at least 1).
pub fn rel_err(a: &Tensor, b: &Tensor) -> Result<f32> {
    assert_eq!(a.dims(), b.dims(), "shapes differ");
    let a = a.flatten_all()?.to_vec1::<f32>()?;
    let b = b.flatten_all()?.to_vec1::<f32>()?;
    let scale = b.iter().fold(1f32, |m, v| m.max(v.abs()));
    let diff = a
        .iter()
        .zip(&b)
        .fold(0f32, |m, (x, y)| m.max((x - y).abs()));
    Ok(diff / scale)
}

/// Output and gradients of `f(vars)` under the loss `sum(f · r)` for a fixed
/// random `r`, so every output element gets a distinct upstream gradient.
pub fn value_and_grads(
    vars: &[Var],
    f: impl Fn(&[Tensor]) -> Result<Tensor>,
    seed: u64,
) -> Result<(Tensor, Vec<Tensor>)> {
    let ts: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
    let y = f(&ts)?;
    let r = random_on(y.dims(), seed, y.device())?;
    let grads = (&y * &r)?.sum_all()?.backward()?;
    let gs = vars
        .iter()
        .map(|v| grads.get(v).cloned().expect("every input gets a gradient"))
        .collect();
    Ok((y, gs))
}
