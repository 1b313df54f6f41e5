//! Fault injection for the crash-safety tests: with
//! `DLP_FAULT=kill:NAME:N` the process kills itself with SIGKILL halfway
//! through its N-th write of a file named NAME (the temporary file is half
//! written, NAME itself untouched), as a preempted machine or the OOM
//! killer would at the worst moment. Without the variable, a write costs
//! one check of a value parsed once.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

struct Fault {
    file: String,
    at: u64,
    seen: AtomicU64,
}

fn fault() -> Option<&'static Fault> {
    static FAULT: OnceLock<Option<Fault>> = OnceLock::new();
    FAULT
        .get_or_init(|| {
            let spec = std::env::var("DLP_FAULT").ok()?;
            let mut parts = spec.splitn(3, ':');
            match (parts.next(), parts.next(), parts.next()) {
                (Some("kill"), Some(file), Some(n)) => Some(Fault {
                    file: file.to_string(),
                    at: n.parse().ok()?,
                    seen: AtomicU64::new(0),
                }),
                _ => None,
            }
        })
        .as_ref()
}

/// Called halfway through writing the file named `name`.
pub(crate) fn mid_write(name: &str) {
    if let Some(f) = fault()
        && f.file == name
        && f.seen.fetch_add(1, Ordering::SeqCst) + 1 == f.at
    {
        let _ = signal_hook::low_level::raise(signal_hook::consts::SIGKILL);
    }
}
