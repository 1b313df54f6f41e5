//! The run folder: `runs/<pipeline>/<run-id>/` unless `--out` names one.

use crate::error::{Error, Result};
use crate::plan::Plan;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// A run id from the UTC time: `20261128-051233`.
pub fn run_id(now: SystemTime) -> String {
    // From `2026-11-28T05:12:33Z`.
    crate::report::manifest::rfc3339(now)
        .chars()
        .filter_map(|c| match c {
            '-' | ':' | 'Z' => None,
            'T' => Some('-'),
            c => Some(c),
        })
        .collect()
}

/// Creates the run folder and copies the pipeline into it. An `--out`
/// folder that already holds a run is refused, so nothing is overwritten.
pub fn create(plan: &Plan, out: Option<&Path>) -> Result<PathBuf> {
    let dir = match out {
        Some(dir) => {
            if dir.join("run.yaml").exists() {
                return Err(Error::Usage(format!(
                    "{} already holds a run: choose another --out, or continue it with --resume",
                    dir.display()
                )));
            }
            dir.to_path_buf()
        }
        None => {
            let base = Path::new("runs").join(&plan.name);
            let id = run_id(SystemTime::now());
            let mut dir = base.join(&id);
            let mut n = 2;
            while dir.exists() {
                dir = base.join(format!("{id}-{n}"));
                n += 1;
            }
            dir
        }
    };
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let text = std::fs::read(&plan.path).map_err(|e| Error::io(&plan.path, e))?;
    crate::report::atomic::write(&dir.join("pipeline.dlp"), &text)?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn run_ids_are_utc_timestamps() {
        // 2026-11-28 05:12:33 UTC = 1795842753 s after the epoch.
        let t = UNIX_EPOCH + Duration::from_secs(1_795_842_753);
        assert_eq!(run_id(t), "20261128-051233");
        assert_eq!(run_id(UNIX_EPOCH), "19700101-000000");
    }
}
