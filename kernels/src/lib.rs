//! dlp's CUDA kernels (`src/dlp.cu`) as PTX, loaded by `dlp`'s CUDA ops
//! at run time.

/// The PTX of every kernel in `src/dlp.cu`.
pub const PTX: &str = include_str!(concat!(env!("OUT_DIR"), "/dlp.ptx"));
