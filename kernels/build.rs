//! Compiles `src/dlp.cu` to PTX with `nvcc` (from `$NVCC`, else the PATH)
//! for the virtual architecture `compute_$CUDA_COMPUTE_CAP` (default 90:
//! H100/H200); the driver compiles the PTX for the GPU at load time.
//! `-fmad=false` keeps multiplies and adds apart, so that element-wise
//! arithmetic rounds as the CPU kernels' does.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo::rerun-if-changed=src/dlp.cu");
    for var in ["NVCC", "CUDA_COMPUTE_CAP", "CUDA_HOME"] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    let nvcc = std::env::var("NVCC").unwrap_or_else(|_| "nvcc".to_string());
    let cap = std::env::var("CUDA_COMPUTE_CAP").unwrap_or_else(|_| "90".to_string());
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("dlp.ptx");
    let status = Command::new(&nvcc)
        .args(["--ptx", "-O3", "-fmad=false", "-std=c++17"])
        .arg(format!("-arch=compute_{cap}"))
        .arg("-o")
        .arg(&out)
        .arg("src/dlp.cu")
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("{nvcc} failed on src/dlp.cu ({s})"),
        Err(e) => panic!(
            "cannot run {nvcc} ({e}): the cuda feature needs nvcc; scripts/build-cuda.sh installs one"
        ),
    }
}
