//! The format version of the files `dlp` writes and reads back: `run.yaml`,
//! `sweep.yaml`, `seeds.yaml`, Slurm's `jobs.yaml`, a baseline's
//! `baseline.yaml` and the training state inside `resume.safetensors`.
//! Each carries a top-level `format: N`. Files kept for months (run
//! folders, committed baselines) must stay readable: every `dlp` reads
//! every format an earlier one wrote, and refuses a newer one with a
//! message naming it, instead of misreading it.
//!
//! Format 1 is the first. Files written before the key existed have no
//! `format` and are format 1 (their layout is format 1's); the fixtures
//! under `tests/fixtures/format-1/` hold both spellings and a test reads
//! them. A change a reader of format N could misread (a key renamed, a
//! meaning changed) raises [`CURRENT`], keeps a reader for every older
//! format, and adds a fixture for the new one.

use crate::error::{Error, Result};
use std::path::Path;

/// The format this `dlp` writes, and the newest it reads.
pub(crate) const CURRENT: u32 = 1;

/// The top-level key that holds it.
pub(crate) const KEY: &str = "format";

/// `text` (a YAML mapping) with `format: CURRENT` as its first line.
pub(crate) fn stamp(text: &str) -> String {
    format!("{KEY}: {CURRENT}\n{text}")
}

/// The format of a YAML document's text: its top-level `format`, or 1
/// when it has none. A value that is not a whole number ≥ 1, or a format
/// newer than [`CURRENT`], is an error naming `path`. Text that is not a
/// YAML mapping is left to the caller's own parse to report.
pub(crate) fn check_yaml(path: &Path, text: &str) -> Result<u32> {
    let Ok(doc) = serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text) else {
        return Ok(1);
    };
    check(path, doc.get(KEY))
}

/// [`check_yaml`] of an already parsed `format` value.
pub(crate) fn check(path: &Path, value: Option<&serde_yaml_ng::Value>) -> Result<u32> {
    let Some(value) = value else {
        return Ok(1);
    };
    let format = value.as_u64().filter(|&f| f >= 1).ok_or_else(|| {
        Error::file(
            path,
            format!(
                "`{KEY}: {}` is not a file format version (a whole number from 1)",
                serde_yaml_ng::to_string(value)
                    .unwrap_or_default()
                    .trim_end()
            ),
        )
    })?;
    if format > u64::from(CURRENT) {
        return Err(Error::file(
            path,
            format!(
                "written by a newer dlp (file format {format}; this dlp reads formats 1 to \
                 {CURRENT}): read it with that dlp or a later one"
            ),
        ));
    }
    Ok(format as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_is_format_1_and_newer_is_refused_by_name() {
        let p = Path::new("run.yaml");
        assert_eq!(check_yaml(p, "status: completed\n").unwrap(), 1);
        assert_eq!(check_yaml(p, &stamp("status: completed\n")).unwrap(), 1);
        assert_eq!(
            check_yaml(p, "format: 2\nstatus: completed\n")
                .unwrap_err()
                .to_string(),
            "run.yaml: written by a newer dlp (file format 2; this dlp reads formats 1 to 1): \
             read it with that dlp or a later one"
        );
        assert_eq!(
            check_yaml(p, "format: soon\n").unwrap_err().to_string(),
            "run.yaml: `format: soon` is not a file format version (a whole number from 1)"
        );
        assert_eq!(check_yaml(p, "[not a mapping").unwrap(), 1);
    }
}
