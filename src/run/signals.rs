//! Signals a run answers: SIGINT (Ctrl-C) and SIGTERM ask it to finish the
//! current batch, write the resume file and stop (a second one ends the
//! process at once, exit 130); SIGXFSZ, sent when a write passes the
//! file-size limit (`ulimit -f`), is caught and ignored, so the write fails
//! with an error that names the file instead of killing the process.

use crate::error::{Error, Result};
use signal_hook::consts::{SIGINT, SIGTERM, SIGXFSZ};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

/// The flag SIGINT and SIGTERM set, shared by every run of the process
/// (the trials of a sweep); the handlers are installed once.
pub(crate) fn stop_flag() -> Result<Arc<AtomicBool>> {
    static STOP: Mutex<Option<Arc<AtomicBool>>> = Mutex::new(None);
    let mut guard = STOP.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(flag) = guard.as_ref() {
        return Ok(Arc::clone(flag));
    }
    let flag = Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM] {
        // A second signal while the first is handled ends the process at once.
        signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&flag))
            .and_then(|_| signal_hook::flag::register(signal, Arc::clone(&flag)))
            .map_err(|e| Error::Runtime(format!("cannot install the signal handler: {e}")))?;
    }
    *guard = Some(Arc::clone(&flag));
    Ok(flag)
}

/// Makes writes past the file-size limit fail with EFBIG instead of
/// killing the process.
pub(crate) fn survive_file_size_limit() -> Result<()> {
    signal_hook::flag::register(SIGXFSZ, Arc::new(AtomicBool::new(false)))
        .map(drop)
        .map_err(|e| Error::Runtime(format!("cannot install the SIGXFSZ handler: {e}")))
}
