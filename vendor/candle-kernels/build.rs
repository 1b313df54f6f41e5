use cudaforge::{KernelBuilder, Result};
use std::env;
use std::path::PathBuf;

fn main() -> Result<()> {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=src");
    println!("cargo::rerun-if-changed=src/compatibility.cuh");
    println!("cargo::rerun-if-changed=src/cuda_utils.cuh");
    println!("cargo::rerun-if-changed=src/binary_op_macros.cuh");

    // Build for PTX
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let ptx_path = out_dir.join("ptx.rs");
    let bindings = KernelBuilder::new()
        .source_dir("src") // Scan src/ for .cu files
        .exclude(&["moe_*.cu", "mmvq_gguf.cu", "mmq_*.cu"]) // Exclude statically compiled kernels from ptx build
        .arg("--expt-relaxed-constexpr")
        .arg("-std=c++17")
        .arg("-O3")
        .build_ptx()?;

    bindings.write(&ptx_path)?;

    // DLP-PATCH: upstream also compiles src/moe, src/mmvq_gguf.cu and
    // src/mmq_gguf into a static library (libmoe.a) and links it with the
    // CUDA runtime and libstdc++. Those kernels serve candle's quantized
    // and mixture-of-experts models, which dlp never calls: no symbol of
    // theirs is linked into dlp, yet compiling them took 6.5 of the 11
    // minutes of a clean CUDA build. So they are not built and nothing is
    // linked. See vendor/candle-kernels/DLP-PATCH.md.
    Ok(())
}
