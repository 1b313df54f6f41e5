//! Choosing the candle device for a run.

use crate::error::{Error, Result};
use crate::plan::DeviceSpec;
use candle_core::Device;

/// Parses a `--device` value: `auto`, `cpu`, `cuda` or `cuda:N`.
pub fn parse(text: &str) -> Result<DeviceSpec> {
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

/// The device a spec names. `auto` takes CUDA when this build has it and
/// a GPU is present, else the CPU.
pub fn select(spec: DeviceSpec) -> Result<Device> {
    match spec {
        DeviceSpec::Cpu => Ok(Device::Cpu),
        DeviceSpec::Auto => {
            if candle_core::utils::cuda_is_available()
                && let Ok(device) = Device::new_cuda(0)
            {
                return Ok(device);
            }
            Ok(Device::Cpu)
        }
        DeviceSpec::Cuda(n) => {
            if !candle_core::utils::cuda_is_available() {
                return Err(Error::Usage(format!(
                    "device cuda:{n}: this dlp was built without CUDA support (rebuild with `--features cuda`)"
                )));
            }
            Device::new_cuda(n).map_err(|e| Error::Runtime(format!("device cuda:{n}: {e}")))
        }
    }
}

/// The name recorded in the manifest: `cpu` or `cuda:N`.
pub fn name(device: &Device) -> String {
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
}
