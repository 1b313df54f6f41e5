fn main() {
    std::process::exit(dlp::cli::main());
}
