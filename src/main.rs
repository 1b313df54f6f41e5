// mimalloc keeps freed pages for reuse: a training step frees and
// reallocates the same large tensors every batch, and glibc handing them
// back to the kernel cost page faults, page clearing and TLB shootdowns.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(dlp::cli::main());
}
