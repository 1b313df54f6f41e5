//! The run folder: `runs/<pipeline>/<run-id>/` unless `--out` names one.

use crate::error::{Error, Result};
use crate::plan::Plan;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// A run id from the UTC time: `20261128-051233`.
pub fn run_id(now: SystemTime) -> String {
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Howard Hinnant's days-to-civil conversion (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
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
    use std::time::Duration;

    #[test]
    fn run_ids_are_utc_timestamps() {
        // 2026-11-28 05:12:33 UTC = 1795842753 s after the epoch.
        let t = UNIX_EPOCH + Duration::from_secs(1_795_842_753);
        assert_eq!(run_id(t), "20261128-051233");
        assert_eq!(run_id(UNIX_EPOCH), "19700101-000000");
    }
}
