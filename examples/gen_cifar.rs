//! Writes a synthetic CIFAR-10-format set for tests and benchmarks:
//! `cargo run --release --example gen_cifar -- DIR [TRAIN] [TEST] [SEED]`
//! creates `DIR/cifar10/cifar-10-batches-bin/`, so `DLP_DATA=DIR` makes
//! `source cifar10` use it offline.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first().map(PathBuf::from) else {
        eprintln!("usage: gen_cifar DIR [TRAIN=50000] [TEST=10000] [SEED=0]");
        std::process::exit(2);
    };
    let num = |i: usize, d: u64| -> Result<u64, std::num::ParseIntError> {
        args.get(i).map_or(Ok(d), |s| s.parse())
    };
    let (train, test, seed) = (
        num(1, 50_000)? as usize,
        num(2, 10_000)? as usize,
        num(3, 0)?,
    );
    dlp::data::synth::write_cifar10(&dir.join("cifar10"), train, test, seed)?;
    println!(
        "wrote {train} training and {test} test images to {}",
        dir.join("cifar10/cifar-10-batches-bin").display()
    );
    Ok(())
}
