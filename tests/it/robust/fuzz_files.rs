//! The readers of the files users and earlier runs bring never panic: a
//! valid file of each kind (a CSV table, IDX images, a CIFAR-10 batch, a
//! PNG and a JPEG, a run's `model.safetensors` and `run.yaml`, an
//! interrupted run's `resume.safetensors`) is mutated (bytes flipped,
//! overwritten with extreme values, cut short, lengthened, a span
//! deleted or duplicated) and read back with the reader `dlp` uses, which
//! must return Ok or an error. The seed and the number of cases follow
//! `robust::fuzz` (`DLP_FUZZ_SEED`, `DLP_FUZZ_CASES`).

use super::fuzz::{failed, runner};
use crate::common::*;
use proptest::prelude::*;
use std::path::{Path, PathBuf};

/// One mutation of `bytes`.
fn mutate(bytes: &[u8], op: u8, a: prop::sample::Index, b: prop::sample::Index, v: u8) -> Vec<u8> {
    let mut out = bytes.to_vec();
    if out.is_empty() {
        return vec![v];
    }
    let (i, j) = {
        let (x, y) = (a.index(out.len()), b.index(out.len()));
        (x.min(y), x.max(y).min(x.min(y) + 64))
    };
    match op {
        // One bit, one byte, one extreme run (a length or count field
        // turned to 0xFF… or 0).
        0 => out[i] ^= 1 << (v % 8),
        1 => out[i] = v,
        2 => {
            let end = (i + 8).min(out.len());
            out[i..end].fill(if v.is_multiple_of(2) { 0xFF } else { 0 })
        }
        // Cut short, or lengthened with junk.
        3 => out.truncate(i),
        4 => out.extend(std::iter::repeat_n(v, j - i + 1)),
        // A span deleted or duplicated.
        5 => {
            out.drain(i..j);
        }
        _ => {
            let span = out[i..j].to_vec();
            out.splice(i..i, span);
        }
    }
    out
}

/// Feeds `cases` mutations of `valid` to `read`, after checking that
/// `valid` itself reads.
fn fuzz<E: std::fmt::Debug>(name: &str, valid: &[u8], read: impl Fn(&[u8]) -> Result<(), E>) {
    read(valid).unwrap_or_else(|e| panic!("{name}: the valid file does not read: {e:?}"));
    let strategy = (
        0..7u8,
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        any::<u8>(),
    );
    runner(300)
        .run(&strategy, |(op, a, b, v)| {
            let _ = read(&mutate(valid, op, a, b, v));
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{}: {e}", failed(&format!("the {name} reader panicked"))));
}

/// Writes `bytes` as `dir/name` and returns the path.
fn put(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn csv_idx_and_cifar_readers_never_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let csv = b"x1,x2,y\n0,0,a\n0,1.5,a\n5,5,b\n\"5\",6e0,b\n";
    fuzz("CSV", csv, |b| {
        dlp::data::csv_source::load(&put(d, "t.csv", b), "y").map(drop)
    });
    let mut idx = vec![0, 0, 8, 3];
    for n in [3u32, 4, 4] {
        idx.extend(n.to_be_bytes());
    }
    idx.extend((0..48).map(|i| i as u8));
    fuzz("IDX", &idx, |b| {
        dlp::data::idx::read(&put(d, "t.idx", b)).map(drop)
    });
    let mut batch = Vec::new();
    for r in 0..3u8 {
        batch.push(r);
        batch.extend((0..3072).map(|i| (i % 251) as u8 ^ r));
    }
    fuzz("CIFAR-10 batch", &batch, |b| {
        let (mut pixels, mut labels) = (Vec::new(), Vec::new());
        dlp::data::cifar::read_batch(&put(d, "t.bin", b), &mut pixels, &mut labels)
    });
}

#[test]
fn image_readers_never_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let img = image::RgbImage::from_fn(8, 6, |x, y| image::Rgb([x as u8 * 30, y as u8 * 40, 7]));
    for (name, format) in [
        ("t.png", image::ImageFormat::Png),
        ("t.jpg", image::ImageFormat::Jpeg),
    ] {
        let mut bytes = std::io::Cursor::new(Vec::new());
        img.write_to(&mut bytes, format).unwrap();
        let bytes = bytes.into_inner();
        // Headers (what `dlp check` reads) and whole images (what a run
        // and `dlp predict` read).
        fuzz(&format!("{format:?} header"), &bytes, |b| {
            dlp::data::images::probe_file(&put(d, name, b)).map(drop)
        });
        fuzz(&format!("{format:?} image"), &bytes, |b| {
            dlp::data::images::decode(&put(d, name, b)).map(drop)
        });
    }
}

/// A finished run (blobs, one epoch) and an interrupted one, for their
/// files.
fn runs(d: &Path) -> (PathBuf, PathBuf) {
    let p = write(
        d,
        "p.dlp",
        &small_blobs("").replace("epochs 12", "epochs 2"),
    );
    let done = d.join("done");
    let o = run_quiet(&p, &done, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let cut = d.join("cut");
    let o = dlp()
        .args([
            "run",
            &p.to_string_lossy(),
            "--quiet",
            "--out",
            &cut.to_string_lossy(),
        ])
        .env("DLP_INTERRUPT_AFTER_STEPS", "13")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    (done, cut)
}

#[test]
fn run_folder_readers_never_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let (done, cut) = runs(d);
    // A copy of the finished run whose one file is replaced per case.
    let copy = d.join("copy");
    std::fs::create_dir(&copy).unwrap();
    for f in ["run.yaml", "model.safetensors", "data.csv"] {
        std::fs::copy(done.join(f), copy.join(f)).unwrap();
    }
    let open = || {
        dlp::run::predict::Predictor::open(&copy, dlp::run::predict::Weights::Tested, None)
            .map(drop)
    };
    let model = std::fs::read(done.join("model.safetensors")).unwrap();
    fuzz("model.safetensors", &model, |b| {
        put(&copy, "model.safetensors", b);
        open()
    });
    put(&copy, "model.safetensors", &model);
    let yaml = std::fs::read(done.join("run.yaml")).unwrap();
    fuzz("run.yaml", &yaml, |b| {
        put(&copy, "run.yaml", b);
        dlp::records::manifest::Manifest::read(&copy).map(drop)?;
        open()
    });
    let resume = std::fs::read(cut.join("resume.safetensors")).unwrap();
    fuzz("resume.safetensors", &resume, |b| {
        dlp::run::state::peek(&put(d, "resume.safetensors", b)).map(drop)
    });
}
