//! The run folder: `runs/<pipeline>/<run-id>/` unless `--out` names one,
//! claimed by one process at a time.
//!
//! A new folder is created exclusively (two runs started in the same
//! second get `<run-id>` and `<run-id>-2`), and every process that works
//! in a folder holds an exclusive lock on its `.lock` file for as long as
//! it runs. The lock is the operating system's (`flock`), so it dies with
//! its process whatever kills it: a folder whose `run.yaml` says `running`
//! while nobody holds the lock belongs to a crashed run, and the next
//! `dlp run --resume` or `dlp status` takes the lock over.

use crate::error::{Error, Result};
use crate::lockfile::{self, Attempt};
use crate::plan::Plan;
use crate::records::{Manifest, Status, manifest};
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The lock file's name inside a run folder; it holds the owner's pid.
pub(crate) const LOCK: &str = lockfile::LOCK;

/// A run id from the UTC time: `20261128-051233`.
pub fn run_id(now: SystemTime) -> String {
    // From `2026-11-28T05:12:33Z`.
    crate::records::manifest::rfc3339(now)
        .chars()
        .filter_map(|c| match c {
            '-' | ':' | 'Z' => None,
            'T' => Some('-'),
            c => Some(c),
        })
        .collect()
}

/// A run folder this process holds the lock of (until it is dropped).
#[derive(Debug)]
pub(crate) struct RunFolder {
    pub dir: PathBuf,
    _lock: File,
}

impl RunFolder {
    /// Claims a folder for a new run of `plan` and copies the pipeline into
    /// it. An `--out` folder that already holds a run, or that another
    /// process is using, is refused, so nothing is overwritten.
    pub(crate) fn claim(plan: &Plan, out: Option<&Path>) -> Result<RunFolder> {
        let folder = match out {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| Error::write(dir, e))?;
                let folder = RunFolder::lock(dir)?;
                if dir.join(manifest::FILE).exists() {
                    return Err(Error::Usage(format!(
                        "{} already holds a run: choose another --out, or continue it with --resume",
                        dir.display()
                    )));
                }
                folder
            }
            None => RunFolder::lock(&create_unique(
                &Path::new("runs").join(&plan.name),
                &run_id(SystemTime::now()),
            )?)?,
        };
        // A process killed before it wrote run.yaml may have left a
        // temporary file in an --out folder.
        folder.remove_stale_temporaries()?;
        let text = std::fs::read(&plan.path).map_err(|e| Error::io(&plan.path, e))?;
        crate::records::atomic::write(&folder.dir.join("pipeline.dlp"), &text)?;
        Ok(folder)
    }

    /// Removes the lock file of a folder whose run has finished for good,
    /// so a finished folder holds only its results. The lock itself is
    /// held until this value is dropped; a later `lock` (a `--resume`
    /// refused as finished, `dlp status`) makes a new file.
    pub(crate) fn remove_lock_file(&self) -> Result<()> {
        let path = self.dir.join(LOCK);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::write(&path, e)),
            _ => Ok(()),
        }
    }

    /// Takes the lock of an existing folder, or says which process holds it.
    pub(crate) fn lock(dir: &Path) -> Result<RunFolder> {
        let path = dir.join(LOCK);
        let mut file = match lockfile::try_lock(dir)? {
            Attempt::Taken(file) => file,
            Attempt::Held(mut file) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                let who = match pid.trim() {
                    "" => "another dlp process".to_string(),
                    pid => format!("another dlp process (pid {pid})"),
                };
                return Err(Error::Busy(format!(
                    "{}: {who} is using this run folder",
                    dir.display()
                )));
            }
        };
        // The pid is only for the message above; the lock is what counts.
        let pid = format!("{}\n", std::process::id());
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(pid.as_bytes()))
            .map_err(|e| Error::write(&path, e))?;
        Ok(RunFolder {
            dir: dir.to_path_buf(),
            _lock: file,
        })
    }

    /// Deletes temporary files that a killed process left behind (the
    /// `.<name>.<random>.tmp` files of [`crate::records::atomic::write`]).
    pub(crate) fn remove_stale_temporaries(&self) -> Result<()> {
        let entries = std::fs::read_dir(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') && name.ends_with(".tmp") {
                let path = entry.path();
                std::fs::remove_file(&path).map_err(|e| Error::write(&path, e))?;
            }
        }
        Ok(())
    }
}

/// Creates `base/id`, or `base/id-2`, `base/id-3`, … when another run
/// already took it: `create_dir` fails if the folder exists, so two
/// processes never get the same one.
fn create_unique(base: &Path, id: &str) -> Result<PathBuf> {
    std::fs::create_dir_all(base).map_err(|e| Error::write(base, e))?;
    for n in 1..=MAX_SUFFIX {
        let dir = match n {
            1 => base.join(id),
            n => base.join(format!("{id}-{n}")),
        };
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::write(&dir, e)),
        }
    }
    Err(Error::Runtime(format!(
        "{}: {MAX_SUFFIX} runs already started in the second {id}",
        base.display()
    )))
}

/// How many runs of one pipeline may start in the same second.
const MAX_SUFFIX: u32 = 10_000;

/// What `dlp status` and `dlp run --resume` see in a run folder.
#[derive(Debug)]
pub(crate) struct Inspection {
    pub manifest: Manifest,
    /// The lock, when no other process holds it (the run is not alive).
    pub folder: Option<RunFolder>,
}

/// Reads a run folder's manifest and tells whether its process is alive.
/// A run that says `running` but whose process is gone is marked
/// `crashed` in `run.yaml` on the spot.
pub(crate) fn inspect(dir: &Path) -> Result<Inspection> {
    if !dir.join(manifest::FILE).exists() {
        return Err(Error::Usage(format!(
            "{}: not a run folder (no {})",
            dir.display(),
            manifest::FILE
        )));
    }
    let folder = match RunFolder::lock(dir) {
        Ok(f) => Some(f),
        Err(Error::Busy(_)) => None,
        Err(e) => return Err(e),
    };
    let mut manifest = Manifest::read(dir)?;
    if folder.is_some() && manifest.status == Status::Running {
        manifest.status = Status::Crashed;
        manifest.write(dir)?;
    }
    // Looking at a finished folder leaves no lock file behind in it.
    if let Some(f) = &folder
        && matches!(
            manifest.status,
            Status::Completed | Status::StoppedEarly | Status::Pruned | Status::Diverged
        )
    {
        f.remove_lock_file()?;
    }
    Ok(Inspection { manifest, folder })
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

    #[test]
    fn unique_folders_take_the_next_suffix() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().join("runs").join("p");
        let names: Vec<String> = (0..3)
            .map(|_| {
                let d = create_unique(&base, "20261201-195849").unwrap();
                d.file_name().unwrap().to_string_lossy().into_owned()
            })
            .collect();
        assert_eq!(
            names,
            ["20261201-195849", "20261201-195849-2", "20261201-195849-3"]
        );
    }

    #[test]
    fn a_held_lock_is_refused_and_freed_when_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let held = RunFolder::lock(tmp.path()).unwrap();
        let err = RunFolder::lock(tmp.path()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}: another dlp process (pid {}) is using this run folder",
                tmp.path().display(),
                std::process::id()
            )
        );
        drop(held);
        assert!(RunFolder::lock(tmp.path()).is_ok());
    }
}
