//! `dlp baseline RUN DIR`: stores a finished run's metric CSVs in `DIR` as
//! a baseline to commit and to give `dlp diff` as its old side; run again
//! to refresh it.
//!
//! A single run gives `metrics.csv` (its `final_metrics`, `metric,value`),
//! `train.csv`, `eval.csv`, `confusion.csv` and `data.csv`; a multi-seed
//! run (`dlp run --seeds N`) gives `seeds.csv` and `summary.csv`. No
//! weights, no `run.yaml` and no `stages.csv`: nothing that changes from
//! one machine or one minute to the next, so a refresh that changes no
//! metric changes no byte. `baseline.yaml` marks the folder; `DIR` must be
//! new, empty, or a baseline already (nothing else is overwritten), and a
//! refresh removes the baseline files the new run does not have.

use crate::cli::BaselineArgs;
use crate::diff::load::{EVAL_FILE, METRICS_FILE, SEEDS_FILE};
use crate::error::{Error, Result};
use crate::records::eval_csv::CONFUSION_FILE;
use crate::records::{Manifest, Status, atomic, data_csv, history, manifest};
use crate::sweeps::seeds;
use std::path::Path;

/// The file that marks a baseline folder.
pub(crate) const MARKER: &str = "baseline.yaml";

/// Every file a baseline may hold besides the marker.
const FILES: [&str; 7] = [
    METRICS_FILE,
    history::FILE,
    EVAL_FILE,
    CONFUSION_FILE,
    data_csv::FILE,
    SEEDS_FILE,
    seeds::SUMMARY_FILE,
];

pub(crate) fn run(args: &BaselineArgs) -> Result<i32> {
    let written = write(&args.run, &args.dir)?;
    crate::terminal::out(&format!(
        "baseline {}: {}\n",
        args.dir.display(),
        written.join(", ")
    ))?;
    Ok(0)
}

/// Writes the baseline of `run` into `dir`; returns the files written.
pub(crate) fn write(run: &Path, dir: &Path) -> Result<Vec<String>> {
    let (marker, files) = if seeds::is_seeds_folder(run) {
        multi_seed(run)?
    } else {
        single(run)?
    };
    check_target(dir)?;
    std::fs::create_dir_all(dir).map_err(|e| Error::write(dir, e))?;
    let mut written = Vec::new();
    for (name, bytes) in &files {
        atomic::write(&dir.join(name), bytes)?;
        written.push(name.to_string());
    }
    for stale in FILES.iter().filter(|f| !files.iter().any(|(n, _)| n == *f)) {
        let path = dir.join(stale);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::write(&path, e));
            }
            _ => {}
        }
    }
    atomic::write(&dir.join(MARKER), marker.as_bytes())?;
    Ok(written)
}

/// `dir` must be absent, empty, or a baseline.
fn check_target(dir: &Path) -> Result<()> {
    if !dir.exists() || dir.join(MARKER).is_file() {
        return Ok(());
    }
    if !dir.is_dir() {
        return Err(Error::Usage(format!(
            "{}: not a folder; give a new folder or an existing baseline",
            dir.display()
        )));
    }
    let mut entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    if entries.next().is_some() {
        return Err(Error::Usage(format!(
            "{}: the folder has files and no {MARKER}, so it is not a baseline; \
             refusing to write into it (give a new or empty folder)",
            dir.display()
        )));
    }
    Ok(())
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

type Files = Vec<(&'static str, Vec<u8>)>;

fn single(run: &Path) -> Result<(String, Files)> {
    if !run.join(manifest::FILE).is_file() {
        return Err(Error::Usage(format!(
            "{}: not a run folder (no run.yaml) nor a multi-seed folder (no seeds.yaml)",
            run.display()
        )));
    }
    let m = Manifest::read(run)?;
    if !matches!(m.status, Status::Completed | Status::StoppedEarly) {
        return Err(Error::Usage(format!(
            "{}: the run has not finished (status {}): a baseline needs a completed run",
            run.display(),
            m.status.as_str()
        )));
    }
    let mut metrics = String::from("metric,value\n");
    for (k, v) in &m.final_metrics {
        metrics.push_str(&format!("{k},{}\n", atomic::csv_num(*v)));
    }
    let mut files: Files = vec![(METRICS_FILE, metrics.into_bytes())];
    for name in [history::FILE, EVAL_FILE, CONFUSION_FILE, data_csv::FILE] {
        let path = run.join(name);
        if path.is_file() {
            files.push((name, read(&path)?));
        }
    }
    let marker = format!(
        "# A dlp baseline: metric CSVs of a run, for `dlp diff BASELINE RUN`.\n\
         # Refresh: dlp baseline RUN_FOLDER THIS_FOLDER\n\
         format: {}\npipeline: {}\nkind: single\nseed: {}\n",
        crate::file_format::CURRENT,
        m.plan.name,
        m.seed
    );
    Ok((marker, files))
}

fn multi_seed(run: &Path) -> Result<(String, Files)> {
    let table = run.join(SEEDS_FILE);
    if !table.is_file() {
        return Err(Error::Usage(format!(
            "{}: the multi-seed run has not finished (no {SEEDS_FILE}); finish it with `dlp run --resume {}`",
            run.display(),
            run.display()
        )));
    }
    let spec_path = run.join(seeds::SPEC_FILE);
    let spec: seeds::Spec = atomic::read_yaml(&spec_path)?;
    let name = spec
        .pipeline
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let list: Vec<String> = spec.seeds.iter().map(u64::to_string).collect();
    let marker = format!(
        "# A dlp baseline: metric CSVs of a multi-seed run, for `dlp diff BASELINE RUN`.\n\
         # Refresh: dlp baseline RUN_FOLDER THIS_FOLDER\n\
         format: {}\npipeline: {name}\nkind: seeds\nseeds: [{}]\n",
        crate::file_format::CURRENT,
        list.join(", ")
    );
    let mut files: Files = vec![(SEEDS_FILE, read(&table)?)];
    let summary = run.join(seeds::SUMMARY_FILE);
    if summary.is_file() {
        files.push((seeds::SUMMARY_FILE, read(&summary)?));
    }
    Ok((marker, files))
}
