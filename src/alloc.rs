//! The memory allocator of the `dlp` binary: mimalloc, told to keep the
//! memory it frees.
//!
//! A training step frees and reallocates the same large tensors every batch
//! (activations of 16 MiB at batch 128 on CIFAR-10). glibc handed them back
//! to the kernel each time, and mimalloc with its default purge delay
//! still returns part of them: either way every step paid page faults and
//! the kernel's page clearing (15 % of a step in `perf`) and TLB
//! shootdowns. Kept, the memory is reused at once; the process's peak is
//! unchanged, it just does not shrink before it exits.

use libmimalloc_sys as ffi;

/// The global allocator: `#[global_allocator]` in `main.rs` (a library
/// does not choose its users' allocator).
pub type Allocator = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in the `mi_option_e` enum of the mimalloc v3
/// that `libmimalloc-sys` bundles (the crate names only the v2 options).
/// Its default, 1000 ms, is checked by a test so a renumbering shows.
const PURGE_DELAY: ffi::mi_option_t = 15;

/// Never return freed memory to the OS (a negative purge delay).
pub fn keep_freed_memory() {
    // SAFETY: setting an option is a plain store in mimalloc's option
    // table, valid at any time.
    unsafe { ffi::mi_option_set(PURGE_DELAY, -1) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purge_delay_is_the_option_with_its_documented_default() {
        // SAFETY: reading an option.
        let default = unsafe { ffi::mi_option_get(PURGE_DELAY) };
        assert_eq!(default, 1000, "mi_option_purge_delay moved in mimalloc");
    }
}
