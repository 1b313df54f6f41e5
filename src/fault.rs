//! Fault injection for the crash-safety tests: with
//! `DLP_FAULT=kill:NAME:N` the process kills itself with SIGKILL halfway
//! through its N-th write of a file named NAME (the temporary file is half
//! written, NAME itself untouched), as a preempted machine or the OOM
//! killer would at the worst moment. Without the variable, a write costs
//! one check of a value parsed once. With `DLP_INTERRUPT_AFTER_STEPS=N`,
//! `dlp run` stops after N training steps as Ctrl-C would
//! ([`interrupt_after_steps`]).
//!
//! Both hooks are live in every build (the tests drive the release binary)
//! and are inherited by the processes a run starts, Slurm tasks included,
//! so an armed hook always says so on stderr: a `warning:` line naming the
//! variable and what it will do, or that its value is not understood and
//! ignored.

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
            let fault = parse(&spec);
            match &fault {
                Some(f) => eprintln!(
                    "warning: DLP_FAULT={spec} is set: a test hook that kills this \
                     process during write {} of {}",
                    f.at, f.file
                ),
                None => eprintln!(
                    "warning: DLP_FAULT={spec} is set but not understood \
                     (kill:FILE:N), so it is ignored"
                ),
            }
            fault
        })
        .as_ref()
}

/// `kill:FILE:N`.
fn parse(spec: &str) -> Option<Fault> {
    let mut parts = spec.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("kill"), Some(file), Some(n)) => Some(Fault {
            file: file.to_string(),
            at: n.parse().ok()?,
            seen: AtomicU64::new(0),
        }),
        _ => None,
    }
}

/// The `DLP_INTERRUPT_AFTER_STEPS` test hook: the number of training
/// steps after which `dlp run` stops as if interrupted, saying so on
/// stderr when set.
pub(crate) fn interrupt_after_steps() -> Option<u64> {
    let text = std::env::var("DLP_INTERRUPT_AFTER_STEPS").ok()?;
    let steps = text.parse().ok();
    match steps {
        Some(n) => eprintln!(
            "warning: DLP_INTERRUPT_AFTER_STEPS={text} is set: a test hook that \
             interrupts the run after {n} training steps"
        ),
        None => eprintln!(
            "warning: DLP_INTERRUPT_AFTER_STEPS={text} is set but is not a \
             number of steps, so it is ignored"
        ),
    }
    steps
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
