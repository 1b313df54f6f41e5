//! Atomic file writes, reading the YAML files back, and the one number
//! format every CSV uses.
//!
//! A run folder is read while the run is still going (a person tailing
//! `train.csv`, a CI job polling `run.yaml`) and must survive a crash or a
//! Ctrl-C at any moment: each file is written to a temporary file in the
//! same folder, synced and renamed over the old one, so a reader sees either
//! the complete old file or the complete new one, never half of either.

use crate::error::{Error, Result};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes `bytes` to `path` atomically: a temporary file in the same folder
/// (a rename is only atomic within one file system), `fsync`, rename.
/// When anything fails (a full disk, a file-size limit, a read-only
/// folder) the error names `path` and its cause, the temporary file is
/// removed and the old file at `path`, if any, is left untouched. New
/// files get the permissions any program's would, 0666 less the umask.
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let fail = |e: std::io::Error| Error::write(path, e);
    let mut tmp = Temporary::create(dir, &name).map_err(fail)?;
    let (first, rest) = bytes.split_at(bytes.len() / 2);
    tmp.file.write_all(first).map_err(fail)?;
    crate::fault::mid_write(&name);
    tmp.file.write_all(rest).map_err(fail)?;
    tmp.file.sync_all().map_err(fail)?;
    std::fs::rename(&tmp.path, path).map_err(fail)?;
    tmp.renamed = true;
    // Make the rename itself durable. Not every platform lets a folder be
    // opened and synced; the file's content is already safe either way.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// A temporary file `.<name>.<pid>.<n>.tmp` beside the target, removed
/// when dropped unless renamed. (The `tempfile` crate would do, but its
/// errors name the temporary file instead of the one the user asked for,
/// and it creates files 0600 whatever the umask.) A run folder's leftover
/// temporaries from a killed process are removed on resume
/// ([`crate::run::folder::RunFolder::remove_stale_temporaries`]).
struct Temporary {
    path: PathBuf,
    file: File,
    renamed: bool,
}

impl Temporary {
    fn create(dir: &Path, name: &str) -> std::io::Result<Temporary> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
            let mut options = OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o666);
            match options.open(&path) {
                Ok(file) => {
                    return Ok(Temporary {
                        path,
                        file,
                        renamed: false,
                    });
                }
                // A leftover of a dead process that had the same pid.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for Temporary {
    fn drop(&mut self) {
        if !self.renamed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Writes named tensors as a safetensors file atomically, with optional
/// metadata (the format's string map). Tensors on a GPU are copied to the
/// host.
pub(crate) fn write_safetensors(
    path: &Path,
    tensors: Vec<(String, candle_core::Tensor)>,
    metadata: Option<HashMap<String, String>>,
) -> Result<()> {
    write(path, &safetensors_bytes(path, tensors, metadata)?)
}

/// The bytes of a safetensors file; `path` only names it in errors.
pub(crate) fn safetensors_bytes(
    path: &Path,
    tensors: Vec<(String, candle_core::Tensor)>,
    metadata: Option<HashMap<String, String>>,
) -> Result<Vec<u8>> {
    safetensors::serialize(tensors, metadata)
        .map_err(|e| Error::file(path, format!("cannot encode tensors as safetensors: {e}")))
}

/// Reads a YAML file (`run.yaml`, `sweep.yaml`, `seeds.yaml`, …); one that
/// cannot be read, is of a newer format ([`crate::file_format`]) or does
/// not parse as `T` is an error naming it.
pub(crate) fn read_yaml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    // A newer format is refused by name before its keys are misread.
    crate::file_format::check_yaml(path, &text)?;
    serde_yaml_ng::from_str(&text).map_err(|e| Error::file(path, e.to_string()))
}

/// Writes a CSV file (header, then rows) atomically. Every row must have
/// as many cells as the header.
pub(crate) fn write_csv(path: &Path, header: &[String], rows: &[Vec<String>]) -> Result<()> {
    let bytes = csv_bytes(path, header, rows)?;
    write(path, &bytes)
}

/// Renders a CSV file in memory; `path` only names the file in errors.
pub(crate) fn csv_bytes(path: &Path, header: &[String], rows: &[Vec<String>]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| Error::file(path, format!("cannot render CSV: {e}"));
    w.write_record(header).map_err(fail)?;
    for (i, row) in rows.iter().enumerate() {
        if row.len() != header.len() {
            return Err(Error::Runtime(format!(
                "{}: row {} has {} cells for {} columns",
                path.display(),
                i + 1,
                row.len(),
                header.len()
            )));
        }
        w.write_record(row).map_err(fail)?;
    }
    w.into_inner()
        .map_err(|e| Error::file(path, format!("cannot render CSV: {e}")))
}

/// Formats a number for a CSV file: the shortest decimal that reads back as
/// the same `f64` (so files are deterministic and lossless), in scientific
/// notation only for magnitudes below 1e-5 or from 1e16 on; `nan`, `inf`
/// and `-inf` for the non-finite values (Rust's and NumPy's parsers read
/// them back).
pub fn csv_num(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf".into() } else { "-inf".into() }
    } else if x != 0.0 && (x.abs() < 1e-5 || x.abs() >= 1e16) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// Parses a number written by [`csv_num`] (or any decimal/scientific spelling).
pub(crate) fn parse_num(s: &str) -> Option<f64> {
    let t = s.trim();
    match t {
        "nan" | "NaN" => Some(f64::NAN),
        _ => t.parse::<f64>().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn num_table() {
        // (value, text): shortest round-trip, no exponent in the usual range.
        let table: &[(f64, &str)] = &[
            (0.0, "0"),
            (1.0, "1"),
            (-0.5, "-0.5"),
            (0.1 + 0.2, "0.30000000000000004"),
            (0.819, "0.819"),
            (1e-4, "0.0001"),
            (1e-7, "1e-7"),
            (-2.5e-9, "-2.5e-9"),
            (123456.0, "123456"),
            (1e20, "1e20"),
            (f64::NAN, "nan"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for &(x, s) in table {
            assert_eq!(csv_num(x), s, "csv_num({x:?})");
            let back = parse_num(s).unwrap();
            assert!(back == x || (back.is_nan() && x.is_nan()), "{s} reads back");
        }
    }

    #[test]
    fn write_replaces_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        write(&p, b"one").unwrap();
        write(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn csv_row_length_checked() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        let err = write_csv(&p, &["a".into(), "b".into()], &[vec!["1".into()]]).unwrap_err();
        assert!(
            err.to_string().contains("row 1 has 1 cells for 2 columns"),
            "{err}"
        );
        assert!(!p.exists());
    }
}
