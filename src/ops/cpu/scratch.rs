//! Per-thread scratch buffers, reused across calls so the im2col matrices
//! are not reallocated for every image of every step.

use std::cell::Cell;

thread_local! {
    static SCRATCH: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
}

/// Runs `f` on a thread-local buffer of `len` floats (contents unspecified).
///
/// The buffer is taken out of its slot for the duration, so a nested call on
/// the same thread (rayon may run another task while `f` waits inside a
/// parallel gemm) gets a fresh buffer instead of aliasing this one.
pub(crate) fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    let mut buf = SCRATCH.with(|s| s.take());
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
    let out = f(&mut buf[..len]);
    SCRATCH.with(|s| {
        let other = s.take();
        // Keep the larger of the two buffers for the next call.
        s.set(if other.len() > buf.len() { other } else { buf });
    });
    out
}
