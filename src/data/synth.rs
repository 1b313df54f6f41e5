//! Synthetic data in the real on-disk formats (CIFAR-10 binary, IDX), for
//! tests, examples and benchmarks: no test may download anything.
//!
//! Each class has its own colour and stripe pattern plus noise, so a model
//! can learn something from the generated images.

use crate::error::{Error, Result};
use crate::rng;
use flate2::Compression;
use flate2::write::GzEncoder;
use rand::{Rng, RngExt};
use std::io::Write;
use std::path::Path;

/// CIFAR-10's class names, as in `batches.meta.txt`.
pub const CIFAR10_CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// One synthetic image of `class`, CHW, `channels`×`size`×`size`.
fn pattern(class: usize, channels: usize, size: usize, noise: &[u8], out: &mut Vec<u8>) {
    // A base colour per class and a stripe direction/period per class.
    let base = [
        (200u8, 60u8, 60u8),
        (60, 200, 60),
        (60, 60, 200),
        (200, 200, 60),
        (200, 60, 200),
        (60, 200, 200),
        (230, 140, 40),
        (120, 120, 120),
        (40, 90, 160),
        (160, 90, 40),
    ][class % 10];
    let period = 2 + class % 4;
    let vertical = class.is_multiple_of(2);
    for c in 0..channels {
        let level = [base.0, base.1, base.2][c % 3];
        for y in 0..size {
            for x in 0..size {
                let t = if vertical { x } else { y };
                let stripe: i32 = if (t / period).is_multiple_of(2) {
                    40
                } else {
                    -40
                };
                let n = i32::from(noise[(c * size + y) * size + x] % 48) - 24;
                out.push((i32::from(level) + stripe + n).clamp(0, 255) as u8);
            }
        }
    }
}

/// `count` samples with labels cycling through the classes in a seeded order.
fn samples(count: usize, channels: usize, size: usize, seed: u64) -> (Vec<u8>, Vec<u8>) {
    let mut g = rng::generator(seed);
    let numel = channels * size * size;
    let mut pixels = Vec::with_capacity(count * numel);
    let mut labels = Vec::with_capacity(count);
    let mut noise = vec![0u8; numel];
    for _ in 0..count {
        let class = g.random_range(0..10usize);
        g.fill_bytes(&mut noise);
        pattern(class, channels, size, &noise, &mut pixels);
        labels.push(class as u8);
    }
    (pixels, labels)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
}

/// Writes a CIFAR-10-format set under `dir/cifar-10-batches-bin/`:
/// `train` records spread over `data_batch_1..5.bin` (the first files take
/// the remainder), `test` records in `test_batch.bin`, and
/// `batches.meta.txt`.
pub fn write_cifar10(dir: &Path, train: usize, test: usize, seed: u64) -> Result<()> {
    let root = dir.join("cifar-10-batches-bin");
    std::fs::create_dir_all(&root).map_err(|e| Error::io(&root, e))?;
    let record = |pixels: &[u8], labels: &[u8]| {
        let mut out = Vec::with_capacity(labels.len() * 3073);
        for (i, &l) in labels.iter().enumerate() {
            out.push(l);
            out.extend_from_slice(&pixels[i * 3072..(i + 1) * 3072]);
        }
        out
    };
    for b in 0..5 {
        let n = train / 5 + usize::from(b < train % 5);
        let (p, l) = samples(n, 3, 32, rng::derive(seed, &[b as u64]));
        write_file(
            &root.join(format!("data_batch_{}.bin", b + 1)),
            &record(&p, &l),
        )?;
    }
    let (p, l) = samples(test, 3, 32, rng::derive(seed, &[5]));
    write_file(&root.join("test_batch.bin"), &record(&p, &l))?;
    let mut meta = CIFAR10_CLASSES.join("\n");
    meta.push_str("\n\n");
    write_file(&root.join("batches.meta.txt"), meta.as_bytes())
}

/// Writes an IDX file of unsigned bytes (type 0x08) with the given dims,
/// gzipped when `gzip` is set.
pub fn write_idx(path: &Path, dims: &[usize], data: &[u8], gzip: bool) -> Result<()> {
    let mut bytes = vec![0, 0, 0x08, dims.len() as u8];
    for &d in dims {
        bytes.extend_from_slice(&(d as u32).to_be_bytes());
    }
    bytes.extend_from_slice(data);
    if gzip {
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(&bytes).map_err(|e| Error::io(path, e))?;
        bytes = enc.finish().map_err(|e| Error::io(path, e))?;
    }
    write_file(path, &bytes)
}

/// Writes an MNIST-like set (28×28 grey digits of 10 synthetic classes) with
/// MNIST's four file names, gzipped (`.gz` names) or not.
pub fn write_mnist(dir: &Path, train: usize, test: usize, seed: u64, gzip: bool) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let ext = if gzip { ".gz" } else { "" };
    for (prefix, n, s) in [("train", train, 0u64), ("t10k", test, 1)] {
        let (p, l) = samples(n, 1, 28, rng::derive(seed, &[s]));
        write_idx(
            &dir.join(format!("{prefix}-images-idx3-ubyte{ext}")),
            &[n, 28, 28],
            &p,
            gzip,
        )?;
        write_idx(
            &dir.join(format!("{prefix}-labels-idx1-ubyte{ext}")),
            &[n],
            &l,
            gzip,
        )?;
    }
    Ok(())
}
