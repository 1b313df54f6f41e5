//! End-to-end runs, one file per subject: the book's blobs exercise and the
//! run folder's files ([`book`]), how a run ends ([`verdicts`]), sweeps
//! ([`sweeps`], [`slurm`]), training options ([`training`]), `dlp predict`
//! ([`predict`]), graph models ([`graph`]) and the measuring commands
//! ([`tools`]); the helpers they
//! share are here.

mod book;
mod graph;
mod predict;
mod slurm;
mod sweeps;
mod tools;
mod training;
mod transfer;
mod verdicts;

use crate::common::*;

/// The `items` of a stage's row in `stages.csv` (the row must be there).
fn stage_items(stages: &str, stage: &str) -> usize {
    let row = stages.lines().find(|l| l.split(',').next() == Some(stage));
    let items = row.and_then(|r| r.split(',').nth(2));
    items
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {stage} row in\n{stages}"))
}

/// Column `name` of a CSV text, as strings.
fn column(csv: &str, name: &str) -> Vec<String> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let i = header
        .iter()
        .position(|h| *h == name)
        .unwrap_or_else(|| panic!("no column {name} in {csv}"));
    lines
        .map(|l| l.split(',').nth(i).unwrap_or_default().to_string())
        .collect()
}

/// Runs `text` as `name.dlp` into `dir/name` (quiet) and returns the run
/// folder and its manifest.
fn run_text(
    dir: &std::path::Path,
    name: &str,
    text: &str,
) -> (std::path::PathBuf, dlp::records::Manifest) {
    let p = write(dir, &format!("{name}.dlp"), text);
    let out = dir.join(name);
    let o = run_quiet(&p, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
    let m = dlp::records::Manifest::read(&out).unwrap();
    (out, m)
}

/// A float column of a CSV text.
fn floats(csv: &str, name: &str) -> Vec<f64> {
    column(csv, name)
        .iter()
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{name}: {v}")))
        .collect()
}
