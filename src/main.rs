#[global_allocator]
static ALLOCATOR: dlp::alloc::Allocator = dlp::alloc::Allocator {};

fn main() {
    dlp::alloc::keep_freed_memory();
    std::process::exit(dlp::commands::main());
}
