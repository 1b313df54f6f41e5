//! The resume file's writer thread.
//!
//! Encoding a resume file (copying the tensors) is quick; writing it is a
//! `write`, an `fsync` and a rename, which on a busy disk can take longer
//! than a small model's whole epoch. So the trainer hands the bytes over
//! and goes on; the thread writes them, at most once every
//! [`MIN_INTERVAL`] unless asked to flush. A newer state replaces one still
//! waiting (only the latest matters), so a slow disk or epochs of a few
//! milliseconds cost skipped intermediate saves, never training time: the
//! file on disk is at most about a second behind the last epoch's end. Every file written is complete
//! ([`crate::records::atomic::write`]), so whatever moment a crash comes,
//! the file on disk is the state of some earlier point, and training from
//! there is deterministic. [`Saver::flush`] waits for the latest state and
//! reports a failed write (a full disk) as the run's error.

use crate::error::{Error, Result};
use crate::records::atomic;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The shortest time between two writes, unless a flush asks for the
/// latest state now.
pub(crate) const MIN_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Default)]
struct Slot {
    /// The newest bytes, not yet taken by the thread.
    pending: Option<Vec<u8>>,
    /// The thread is writing.
    busy: bool,
    /// The first failed write, until reported.
    error: Option<Error>,
    /// Someone waits for the latest state: write it without delay.
    flushing: bool,
    /// When the last write started.
    last_write: Option<Instant>,
    /// No more saves: the thread ends once the slot is empty.
    closed: bool,
}

type Shared = Arc<(Mutex<Slot>, Condvar)>;

/// Writes resume files on a thread of its own.
pub(crate) struct Saver {
    shared: Shared,
    worker: Option<JoinHandle<()>>,
}

fn lock(shared: &Shared) -> MutexGuard<'_, Slot> {
    shared.0.lock().unwrap_or_else(|p| p.into_inner())
}

impl Saver {
    /// A writer of `path`.
    pub(crate) fn new(path: &Path) -> Saver {
        let shared: Shared = Arc::default();
        let worker = {
            let shared = Arc::clone(&shared);
            let path = path.to_path_buf();
            std::thread::spawn(move || write_loop(&shared, &path))
        };
        Saver {
            shared,
            worker: Some(worker),
        }
    }

    /// Queues `bytes` for writing, replacing a state still waiting; returns
    /// the error of an earlier write, if one failed.
    pub(crate) fn submit(&self, bytes: Vec<u8>) -> Result<()> {
        let mut slot = lock(&self.shared);
        if let Some(e) = slot.error.take() {
            return Err(e);
        }
        slot.pending = Some(bytes);
        self.shared.1.notify_all();
        Ok(())
    }

    /// Whether a state handed over now would be written at once: nothing
    /// waits and the last write started at least [`MIN_INTERVAL`] ago. A
    /// state offered while this is false would only be replaced by a later
    /// one, so the trainer need not encode it.
    pub(crate) fn ready(&self) -> bool {
        let slot = lock(&self.shared);
        slot.pending.is_none()
            && !slot.busy
            && slot.last_write.is_none_or(|t| t.elapsed() >= MIN_INTERVAL)
    }

    /// Waits until the latest state is on disk.
    pub(crate) fn flush(&self) -> Result<()> {
        let mut slot = lock(&self.shared);
        slot.flushing = true;
        self.shared.1.notify_all();
        while slot.pending.is_some() || slot.busy {
            slot = self.shared.1.wait(slot).unwrap_or_else(|p| p.into_inner());
        }
        slot.flushing = false;
        match slot.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl Drop for Saver {
    /// Writes what is still queued, then ends the thread.
    fn drop(&mut self) {
        lock(&self.shared).closed = true;
        self.shared.1.notify_all();
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

fn write_loop(shared: &Shared, path: &Path) {
    loop {
        let bytes = {
            let mut slot = lock(shared);
            // Pace the writes, unless the state is wanted now.
            if let Some(at) = slot.last_write {
                let next = at + MIN_INTERVAL;
                while !slot.flushing && !slot.closed {
                    let now = Instant::now();
                    if now >= next {
                        break;
                    }
                    slot = shared
                        .1
                        .wait_timeout(slot, next - now)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
            }
            loop {
                if let Some(bytes) = slot.pending.take() {
                    slot.busy = true;
                    break bytes;
                }
                if slot.closed {
                    return;
                }
                slot = shared.1.wait(slot).unwrap_or_else(|p| p.into_inner());
            }
        };
        lock(shared).last_write = Some(Instant::now());
        let result = atomic::write(path, &bytes);
        let mut slot = lock(shared);
        slot.busy = false;
        if let Err(e) = result {
            slot.error.get_or_insert(e);
        }
        shared.1.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_state_reaches_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("resume.safetensors");
        let saver = Saver::new(&path);
        for i in 0..50u8 {
            saver.submit(vec![i; 1000]).unwrap();
        }
        saver.flush().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), vec![49u8; 1000]);
        saver.submit(vec![7; 10]).unwrap();
        drop(saver);
        assert_eq!(std::fs::read(&path).unwrap(), vec![7u8; 10]);
    }

    #[test]
    fn states_handed_over_quickly_are_coalesced() {
        // The first state is written at once; the next ones wait out the
        // interval, and only the newest of them is written.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("resume.safetensors");
        let saver = Saver::new(&path);
        saver.submit(vec![1; 10]).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::fs::read(&path).map_or(true, |b| b != vec![1u8; 10]) {
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(1));
        }
        let started = Instant::now();
        saver.submit(vec![2; 10]).unwrap();
        saver.submit(vec![3; 10]).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        if started.elapsed() < MIN_INTERVAL {
            assert_eq!(std::fs::read(&path).unwrap(), vec![1u8; 10], "paced");
        }
        saver.flush().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), vec![3u8; 10]);
    }

    #[test]
    fn a_failed_write_is_reported_by_the_next_flush() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("resume.safetensors");
        let saver = Saver::new(&path);
        saver.submit(vec![1; 10]).unwrap();
        let err = saver.flush().unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "cannot write {}: No such file or directory (os error 2)",
                path.display()
            )
        );
        // Reported once; the slot is usable again.
        assert!(saver.flush().is_ok());
    }
}
