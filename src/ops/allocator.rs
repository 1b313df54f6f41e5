//! Keeps freed tensor memory in the process instead of returning it to the
//! kernel after every step.
//!
//! A training step allocates and frees many buffers of 1–16 MB (activations,
//! gradients, candle's zero-filled gradient accumulators). With glibc's
//! default, dynamically adjusted thresholds many of them are mmap'ed and
//! unmapped again, and every step pays page faults and kernel page clearing:
//! 21 % of a single-thread CIFAR step in `perf` was kernel time. Fixing the
//! mmap threshold at its maximum (32 MiB) and never trimming the heap made
//! the step 7–9 % faster (conv_bench, interleaved runs).

/// Tunes glibc's allocator for training (see the module doc). Call once at
/// start-up, before worker threads exist. Returns whether it applied
/// (false on other C libraries and systems, where it does nothing).
pub fn keep_freed_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // From glibc's <malloc.h>.
        const M_TRIM_THRESHOLD: i32 = -1;
        const M_MMAP_THRESHOLD: i32 = -3;
        unsafe extern "C" {
            fn mallopt(param: i32, value: i32) -> i32;
        }
        // SAFETY: mallopt only changes allocator parameters; both values
        // are within glibc's documented ranges (mmap threshold ≤ 32 MiB).
        unsafe {
            mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1 && mallopt(M_TRIM_THRESHOLD, i32::MAX) == 1
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn applies_on_glibc() {
        // glibc's mallopt returns 1 on success, 0 for a rejected value.
        let expected = cfg!(all(target_os = "linux", target_env = "gnu"));
        assert_eq!(super::keep_freed_memory(), expected);
    }
}
