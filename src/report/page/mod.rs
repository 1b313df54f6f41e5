//! Report pages: `report.html` in every run folder ([`run`]) and the
//! comparison page of `dlp report` ([`compare`]).
//!
//! A page is one self-contained HTML file (style, script, pictures and
//! data inline; no network), a pure function of the run folder's files
//! ([`files::RunFiles`]), so two runs of one pipeline and seed give the
//! same bytes and `dlp report RUN_DIR` rebuilds the page a run wrote. The
//! charts are drawn by plotters ([`chart`]); a short inline script adds
//! the hover read-outs.

pub(crate) mod chart;
pub(crate) mod compare;
pub(crate) mod files;
pub(crate) mod graph;
pub(crate) mod html;
pub(crate) mod run;

pub(crate) use files::RunFiles;

use crate::error::Result;
use crate::records::atomic;
use crate::records::manifest::Manifest;
use std::path::Path;

/// The page's file name inside a run folder.
pub(crate) const FILE: &str = "report.html";

/// Writes `dir/report.html` from the folder's files and `manifest` (the
/// run's own, in memory: its final `run.yaml` is written after the page).
pub(crate) fn write_run_page(dir: &Path, manifest: &Manifest) -> Result<()> {
    let _span = tracing::info_span!("page").entered();
    let files = RunFiles::read_with(dir, manifest.clone())?;
    atomic::write(&dir.join(FILE), run::render(&files)?.as_bytes())
}
