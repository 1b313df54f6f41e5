//! `export.yaml`: every `dlp export` of a run, so `dlp status` and
//! `report.html` can name the exported model while its file exists.

use super::atomic;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The run folder's record of its exports.
pub(crate) const FILE: &str = "export.yaml";

/// One export, as `export.yaml` records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Export {
    /// The file written (relative to the run folder when inside it).
    pub file: String,
    pub format: String,
    pub opset: i64,
    /// The weights file exported.
    pub weights: String,
    pub preprocessing: bool,
    /// RFC 3339, UTC.
    pub exported: String,
    pub input: String,
    pub output: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Record {
    exports: Vec<Export>,
}

/// Adds `export` to the run folder's `export.yaml`, replacing an earlier
/// export to the same file.
pub(crate) fn add(dir: &Path, export: &Export) -> Result<()> {
    let mut rec = read_record(dir)?;
    rec.exports.retain(|e| e.file != export.file);
    rec.exports.push(export.clone());
    let path = dir.join(FILE);
    let text = serde_yaml_ng::to_string(&rec)
        .map_err(|e| Error::file(&path, format!("cannot render: {e}")))?;
    atomic::write(&path, text.as_bytes())
}

fn read_record(dir: &Path) -> Result<Record> {
    let path = dir.join(FILE);
    if !path.is_file() {
        return Ok(Record::default());
    }
    atomic::read_yaml(&path)
}

/// The run folder's exports, oldest first (none when it has no
/// `export.yaml`; a malformed one is an error naming it).
pub(crate) fn exports(dir: &Path) -> Result<Vec<Export>> {
    Ok(read_record(dir)?.exports)
}

/// One line for `dlp status` and `report.html`: the exported models whose
/// files still exist, or `None`.
pub(crate) fn summary(dir: &Path) -> Option<String> {
    let exports = exports(dir).ok()?;
    let shown: Vec<String> = exports
        .iter()
        .filter(|e| {
            let p = Path::new(&e.file);
            if p.is_absolute() {
                p.is_file()
            } else {
                dir.join(p).is_file()
            }
        })
        .map(|e| {
            format!(
                "{} (ONNX opset {}, {}, {})",
                e.file,
                e.opset,
                e.weights,
                if e.preprocessing {
                    "preprocessing inside"
                } else {
                    "no preprocessing"
                }
            )
        })
        .collect();
    if shown.is_empty() {
        None
    } else {
        Some(format!("exported model {}", shown.join(", ")))
    }
}
