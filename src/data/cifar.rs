//! CIFAR-10's binary format: records of one label byte and 3,072 pixel
//! bytes (1,024 red, 1,024 green, 1,024 blue, row-major), which is already
//! the CHW layout candle wants.

use super::table::{Loaded, Names, Table, Values};
use crate::error::{Error, Result};
use crate::plan::Shape;
use std::path::Path;

/// One image's shape.
pub(crate) const SHAPE: Shape = Shape::Image {
    channels: 3,
    height: 32,
    width: 32,
};
pub(crate) const PIXELS: usize = 3 * 32 * 32;
pub(crate) const RECORD: usize = 1 + PIXELS;
const TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
pub(crate) const TEST_FILE: &str = "test_batch.bin";

/// Every file a complete `cifar-10-batches-bin/` folder has.
pub(crate) fn files() -> Vec<&'static str> {
    let mut f = TRAIN_FILES.to_vec();
    f.push(TEST_FILE);
    f
}

/// Appends the records of one batch file to `pixels` and `labels`.
pub fn read_batch(path: &Path, pixels: &mut Vec<u8>, labels: &mut Vec<u32>) -> Result<()> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if bytes.len() % RECORD != 0 {
        return Err(Error::file(
            path,
            format!(
                "{} bytes is not a whole number of {RECORD}-byte records",
                bytes.len()
            ),
        ));
    }
    for (i, rec) in bytes.chunks_exact(RECORD).enumerate() {
        if rec[0] > 9 {
            return Err(Error::file(
                path,
                format!("record {}: label {} is not a class (0-9)", i + 1, rec[0]),
            ));
        }
        labels.push(u32::from(rec[0]));
        pixels.extend_from_slice(&rec[1..]);
    }
    Ok(())
}

fn read_part(dir: &Path, names: &[&str]) -> Result<Table> {
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    let mut files = Vec::new();
    for name in names {
        let path = dir.join(name);
        let before = labels.len();
        read_batch(&path, &mut pixels, &mut labels)?;
        files.push((path.display().to_string(), labels.len() - before));
    }
    Ok(Table {
        values: Values::U8(pixels),
        numel: PIXELS,
        labels,
        names: Names::Records(files),
    })
}

/// Class names from `batches.meta.txt` (one per line), else the standard ones.
fn class_names(dir: &Path) -> Result<Vec<String>> {
    let path = dir.join("batches.meta.txt");
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let names: Vec<String> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect();
            if names.len() != 10 {
                return Err(Error::file(
                    &path,
                    format!("lists {} class names, expected 10", names.len()),
                ));
            }
            Ok(names)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(super::synth::CIFAR10_CLASSES
            .iter()
            .map(|s| s.to_string())
            .collect()),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Loads a `cifar-10-batches-bin/` folder.
pub fn load(dir: &Path) -> Result<Loaded> {
    Ok(Loaded {
        name: "cifar10".into(),
        classes: class_names(dir)?,
        shape: SHAPE,
        train: read_part(dir, &TRAIN_FILES)?,
        test: Some(read_part(dir, &[TEST_FILE])?),
    })
}
