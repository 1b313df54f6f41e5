//! The `.lock` file that keeps two processes out of one folder (a run
//! folder, a dataset's cache folder): the operating system's exclusive
//! lock (`flock`), so it dies with its process, however that ends.

use crate::error::{Error, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

/// The lock file's name inside a locked folder.
pub(crate) const LOCK: &str = ".lock";

/// What trying the lock of a folder found.
pub(crate) enum Attempt {
    /// This process holds the lock now, until the file is dropped.
    Taken(File),
    /// Another process (or another open file of this one) holds it; the
    /// file is open for reading and writing, unlocked.
    Held(File),
}

/// Opens (creating it when missing) the lock file of `dir` and tries its
/// exclusive lock without waiting.
pub(crate) fn try_lock(dir: &Path) -> Result<Attempt> {
    let path = dir.join(LOCK);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| Error::write(&path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(Attempt::Taken(file)),
        Err(TryLockError::WouldBlock) => Ok(Attempt::Held(file)),
        Err(TryLockError::Error(e)) => Err(Error::io(&path, e)),
    }
}

/// Waits for the lock of a file [`try_lock`] found held.
pub(crate) fn wait(dir: &Path, file: File) -> Result<File> {
    file.lock().map_err(|e| Error::io(dir.join(LOCK), e))?;
    Ok(file)
}
