//! Direct access to the f32 data of contiguous CPU tensors, so that a rule
//! can update a variable in one pass over memory instead of through a
//! chain of candle ops (each of which allocates and fills a whole tensor).

use candle_core::{CpuStorage, DType, Storage, Tensor};

/// Runs `f` on the data of `ts` when every one is a contiguous f32 CPU
/// tensor; `None` (and `f` not run) otherwise, for the caller's generic path.
pub(super) fn with_f32<const N: usize, R>(
    ts: [&Tensor; N],
    f: impl FnOnce([&[f32]; N]) -> R,
) -> Option<R> {
    if ts
        .iter()
        .any(|t| !t.device().is_cpu() || t.dtype() != DType::F32)
    {
        return None;
    }
    let guards = ts.map(|t| t.storage_and_layout());
    let mut slices: [&[f32]; N] = [&[]; N];
    for (slot, (storage, layout)) in slices.iter_mut().zip(&guards) {
        let Storage::Cpu(CpuStorage::F32(v)) = &**storage else {
            return None;
        };
        let (start, end) = layout.contiguous_offsets()?;
        *slot = &v[start..end];
    }
    Some(f(slices))
}
