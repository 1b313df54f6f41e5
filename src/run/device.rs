//! Choosing the candle device for a run.

use crate::error::{Error, Result};
use crate::plan::DeviceSpec;
use candle_core::Device;
#[cfg(feature = "cuda")]
use cudarc::{cublas, cublaslt, cudnn, curand, driver};
use std::sync::atomic::{AtomicBool, Ordering};

/// Parses a `--device` value: `auto`, `cpu`, `cuda` or `cuda:N`.
pub(crate) fn parse(text: &str) -> Result<DeviceSpec> {
    match text {
        "auto" => Ok(DeviceSpec::Auto),
        "cpu" => Ok(DeviceSpec::Cpu),
        "cuda" => Ok(DeviceSpec::Cuda(0)),
        _ => text
            .strip_prefix("cuda:")
            .and_then(|n| n.parse().ok())
            .map(DeviceSpec::Cuda)
            .ok_or_else(|| {
                Error::Usage(format!(
                    "--device {text}: expected auto, cpu, cuda or cuda:N"
                ))
            }),
    }
}

/// The device a spec names. `auto` takes the first GPU when this build has
/// CUDA and that GPU is usable, else the CPU; a CUDA build then says why on
/// stderr, once a process, unless `quiet`. `cuda:N` is an error, not a
/// panic, when the build, the driver or the GPU is missing.
pub fn select(spec: DeviceSpec, quiet: bool) -> Result<Device> {
    match spec {
        DeviceSpec::Cpu => Ok(Device::Cpu),
        DeviceSpec::Auto => match cuda(0) {
            Ok(device) => Ok(device),
            Err(Unusable::NotBuilt) => Ok(Device::Cpu),
            Err(Unusable::Because(why)) => {
                if !quiet && !NOTED.swap(true, Ordering::Relaxed) {
                    crate::terminal::errln!("note: device auto: no usable CUDA GPU ({why}); using the CPU");
                }
                Ok(Device::Cpu)
            }
        },
        DeviceSpec::Cuda(n) => cuda(n).map_err(|e| match e {
            Unusable::NotBuilt => Error::Usage(format!(
                "device cuda:{n}: this dlp was built without CUDA support (build one with scripts/build-cuda.sh, or `--features cuda`)"
            )),
            Unusable::Because(why) => Error::Runtime(format!("device cuda:{n}: {why}")),
        }),
    }
}

/// Set once `auto`'s note has been printed.
static NOTED: AtomicBool = AtomicBool::new(false);

/// Why there is no CUDA device.
#[derive(Debug)]
enum Unusable {
    /// This dlp was built without the `cuda` feature.
    #[cfg_attr(feature = "cuda", allow(dead_code))]
    NotBuilt,
    /// A missing library, driver or GPU, as a phrase for a message.
    #[cfg_attr(not(feature = "cuda"), allow(dead_code))]
    Because(String),
}

#[cfg(not(feature = "cuda"))]
fn cuda(_ordinal: usize) -> std::result::Result<Device, Unusable> {
    Err(Unusable::NotBuilt)
}

/// The libraries that creating a candle CUDA device opens (by their Linux
/// sonames with CUDA 13), the driver first, and cuDNN, which dlp's
/// convolutions call (`crate::ops`); each with cudarc's check that it can
/// be opened: calling into a library that is missing panics.
#[cfg(feature = "cuda")]
const LIBRARIES: [(&str, Opens); 5] = [
    ("libcuda.so.1", driver::sys::is_culib_present),
    ("libcublasLt.so.13", cublaslt::sys::is_culib_present),
    ("libcublas.so.13", cublas::sys::is_culib_present),
    ("libcurand.so.10", curand::sys::is_culib_present),
    ("libcudnn.so.9", cudnn::sys::is_culib_present),
];

/// cudarc's `is_culib_present` of one library.
#[cfg(feature = "cuda")]
type Opens = unsafe fn() -> bool;

/// GPU `ordinal`, checked by running one of candle's kernels on it, then a
/// convolution through cuDNN and dlp's own kernels ([`crate::ops::prepare`]).
#[cfg(feature = "cuda")]
fn cuda(ordinal: usize) -> std::result::Result<Device, Unusable> {
    use driver::{CudaContext, DriverError};
    let because = |why: String| Unusable::Because(why);
    let said = |e: DriverError| match e.error_string() {
        Ok(text) => format!("{} ({:?})", text.to_string_lossy(), e.0),
        Err(_) => format!("{:?}", e.0),
    };
    // NVIDIA's libraries from the nvidia-* wheels of a pip install, if any.
    let wheels = super::nvidia_wheels::preload();
    for (i, (soname, present)) in LIBRARIES.iter().enumerate() {
        // SAFETY: only tries to open and close the library (dlopen, dlclose).
        if !unsafe { present() } {
            let refused = wheels.iter().find_map(|(name, path, refused)| {
                let why = refused.as_ref().filter(|_| name == soname)?;
                Some(format!(" ({} refused: {why})", path.display()))
            });
            return Err(because(if i == 0 {
                format!("no CUDA driver: {soname} not found")
            } else {
                format!(
                    "{soname} not found{}: put the CUDA 13 libraries (cuBLAS, cuRAND, cuDNN 9) where the dynamic loader finds them, e.g. on LD_LIBRARY_PATH, or install dlp with pip as dlp-pipelines-cuda[cu13]",
                    refused.unwrap_or_default()
                )
            }));
        }
    }
    let count = CudaContext::device_count().map_err(|e| because(said(e)))?;
    match usize::try_from(count).unwrap_or(0) {
        0 => return Err(because("the driver finds no GPU".into())),
        n if ordinal >= n => {
            return Err(because(format!(
                "the driver finds {n} GPU(s), numbered from cuda:0"
            )));
        }
        _ => {}
    }
    let device = Device::new_cuda(ordinal).map_err(|e| because(e.to_string()))?;
    // Loads a module of candle's PTX: a driver older than the CUDA 13.0 it
    // was compiled for refuses it here rather than in the middle of a run.
    let check = candle_core::Tensor::new(&[1f32], &device)
        .and_then(|t| t.affine(2.0, 1.0))
        .and_then(|t| t.to_vec1::<f32>());
    match check {
        Ok(v) if v == [3.0] => crate::ops::prepare(&device)
            .map(|()| device)
            .map_err(|e| because(format!("cuDNN or dlp's kernels failed on the GPU: {e}"))),
        Ok(v) => Err(because(format!("a test kernel computed {v:?}, not [3.0]"))),
        Err(e) => Err(because(format!(
            "the GPU cannot run dlp's kernels, built for CUDA 13.0 (driver 580 or newer) and sm_90: {e}"
        ))),
    }
}

/// The name recorded in the manifest: `cpu` or `cuda:N`.
pub(crate) fn name(device: &Device) -> String {
    match device.location() {
        candle_core::DeviceLocation::Cpu => "cpu".into(),
        candle_core::DeviceLocation::Cuda { gpu_id } => format!("cuda:{gpu_id}"),
        candle_core::DeviceLocation::Metal { gpu_id } => format!("metal:{gpu_id}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_device_names() {
        assert_eq!(parse("cpu").ok(), Some(DeviceSpec::Cpu));
        assert_eq!(parse("cuda").ok(), Some(DeviceSpec::Cuda(0)));
        assert_eq!(parse("cuda:3").ok(), Some(DeviceSpec::Cuda(3)));
        let err = parse("gpu").err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("--device gpu: expected auto, cpu, cuda or cuda:N")
        );
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn a_build_without_cuda_runs_on_the_cpu() {
        assert!(matches!(select(DeviceSpec::Auto, true), Ok(Device::Cpu)));
        assert!(matches!(select(DeviceSpec::Cpu, true), Ok(Device::Cpu)));
        let err = select(DeviceSpec::Cuda(1), true)
            .err()
            .map(|e| e.to_string());
        let err = err.unwrap_or_default();
        assert!(
            err.starts_with("device cuda:1: this dlp was built without CUDA support"),
            "{err}"
        );
    }

    /// Passes with and without a GPU: no spec panics, `auto` always finds a
    /// device, and a GPU that is not there is an error that names it.
    #[cfg(feature = "cuda")]
    #[test]
    fn a_cuda_build_selects_without_panicking() {
        assert!(matches!(select(DeviceSpec::Cpu, true), Ok(Device::Cpu)));
        let auto = select(DeviceSpec::Auto, true).map(|d| name(&d));
        assert!(matches!(auto.as_deref(), Ok("cpu" | "cuda:0")), "{auto:?}");
        match select(DeviceSpec::Cuda(0), true) {
            Ok(device) => assert_eq!(name(&device), "cuda:0"),
            Err(e) => assert!(e.to_string().starts_with("device cuda:0: "), "{e}"),
        }
        let err = select(DeviceSpec::Cuda(999), true)
            .err()
            .map(|e| e.to_string());
        let err = err.unwrap_or_default();
        assert!(err.starts_with("device cuda:999: "), "{err}");
    }

    /// The vendored cudarc (vendor/cudarc/DLP-PATCH.md) looks for the
    /// driver's soname before a bare `libcuda.so`, and for the sonames that
    /// the messages above name.
    #[cfg(feature = "cuda")]
    #[test]
    fn cudarc_looks_for_the_sonames() {
        let cuda = cudarc::get_lib_name_candidates("cuda");
        let at = |name: &str| cuda.iter().position(|c| c == name);
        assert!(at("libcuda.so.1") < at("libcuda.so"), "{cuda:?}");
        assert!(at("libcuda.so").is_some(), "{cuda:?}");
        let sonames = LIBRARIES.iter().map(|(soname, _)| *soname);
        for soname in sonames.chain(["libnvrtc.so.13", "libcudnn.so.9"]) {
            let lib = soname.trim_start_matches("lib").split(".so").next();
            let names = cudarc::get_lib_name_candidates(lib.unwrap_or_default());
            assert!(names.iter().any(|n| n == soname), "{soname}: {names:?}");
        }
    }
}
