//! Logging and tracing: human-readable log lines on stderr, filtered by
//! `RUST_LOG` (default `warn`), and, with `dlp run --trace FILE`, a Chrome
//! trace of the run's spans (open it in <https://ui.perfetto.dev>) to see
//! where the time goes.
//!
//! A process has one global subscriber, installed by the first [`init`];
//! later calls reuse it, so `init` may be called any number of times (the
//! tests do). The Chrome layer is installed once, idle, and each traced
//! run points it at its own file: tracing-chrome caches its channel per
//! thread, so a second Chrome layer would lose the events of threads that
//! already ran. One trace is written at a time.

use crate::error::{Error, Result};
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::Duration;
use tracing::{Level, Metadata};
use tracing_chrome::{ChromeLayerBuilder, FlushGuard};
use tracing_subscriber::filter::{DynFilterFn, EnvFilter};
use tracing_subscriber::prelude::*;

/// Whether a trace file is being written (the Chrome layer's switch).
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// The Chrome layer's guard, `None` when another subscriber was installed
/// before ours (then no trace can be written).
static CHROME: OnceLock<Option<Mutex<FlushGuard>>> = OnceLock::new();

/// Keeps a trace file open; dropping it completes and closes the file.
#[must_use = "the trace file is completed when the guard is dropped"]
pub struct TraceGuard {
    closed: Option<mpsc::Receiver<()>>,
}

/// `dlp`'s spans down to debug, other crates' down to info: enough to see
/// the stages and batches without drowning the file.
fn traced(meta: &Metadata<'_>) -> bool {
    if meta.target().starts_with("dlp") {
        *meta.level() <= Level::DEBUG
    } else {
        *meta.level() <= Level::INFO
    }
}

fn install() -> Option<Mutex<FlushGuard>> {
    let env = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    // Each span is logged when it closes, with its busy and idle time, so
    // `RUST_LOG=info` shows how long every stage and epoch took.
    let fmt = tracing_subscriber::fmt::layer()
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(|| LogWriter)
        .with_filter(env);
    let (chrome, guard) = ChromeLayerBuilder::new()
        .writer(std::io::sink())
        .include_args(true)
        .build();
    let switch = DynFilterFn::new(|meta, _cx| ACTIVE.load(Ordering::Acquire) && traced(meta))
        .with_callsite_filter(|meta| {
            if traced(meta) {
                tracing::subscriber::Interest::sometimes()
            } else {
                tracing::subscriber::Interest::never()
            }
        });
    let installed = tracing_subscriber::registry()
        .with(fmt)
        .with(chrome.with_filter(switch))
        .try_init()
        .is_ok();
    installed.then(|| Mutex::new(guard))
}

/// Installs logging (once per process) and, when `trace` is given, starts
/// writing a Chrome trace to it until the returned guard is dropped.
pub fn init(trace: Option<&Path>) -> Result<TraceGuard> {
    let chrome = CHROME.get_or_init(install);
    let Some(path) = trace else {
        return Ok(TraceGuard { closed: None });
    };
    let chrome = chrome.as_ref().ok_or_else(|| {
        Error::Runtime(format!(
            "{}: cannot write a trace: another tracing subscriber is installed in this process",
            path.display()
        ))
    })?;
    if ACTIVE
        .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        return Err(Error::Runtime(format!(
            "{}: cannot write a trace: another trace is being written",
            path.display()
        )));
    }
    let file = match File::create(path) {
        Ok(f) => f,
        Err(e) => {
            ACTIVE.store(false, Ordering::Release);
            return Err(Error::io(path, e));
        }
    };
    let (tx, rx) = mpsc::channel();
    let writer = Notify {
        file,
        closed: Some(tx),
    };
    match chrome.lock() {
        Ok(g) => g.start_new(Some(Box::new(writer))),
        Err(p) => p.into_inner().start_new(Some(Box::new(writer))),
    }
    Ok(TraceGuard { closed: Some(rx) })
}

impl Drop for TraceGuard {
    fn drop(&mut self) {
        let Some(closed) = self.closed.take() else {
            return;
        };
        ACTIVE.store(false, Ordering::Release);
        if let Some(Some(chrome)) = CHROME.get() {
            let sink: Box<dyn Write + Send> = Box::new(std::io::sink());
            match chrome.lock() {
                Ok(g) => g.start_new(Some(sink)),
                Err(p) => p.into_inner().start_new(Some(sink)),
            }
            // Wait for the writer thread to finish and close the file, so
            // the trace is complete when the run ends.
            let _ = closed.recv_timeout(Duration::from_secs(10));
        }
    }
}

/// stderr, with the progress bars hidden while a log line is written (the
/// fmt layer writes each line with one `write_all`).
struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        super::progress::suspend_bars(|| std::io::stderr().write(buf))
    }
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        super::progress::suspend_bars(|| std::io::stderr().write_all(buf))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// The trace file, which says when the writer thread lets go of it.
struct Notify {
    file: File,
    closed: Option<mpsc::Sender<()>>,
}

impl Write for Notify {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl Drop for Notify {
    fn drop(&mut self) {
        let _ = self.file.flush();
        if let Some(tx) = self.closed.take() {
            let _ = tx.send(());
        }
    }
}
