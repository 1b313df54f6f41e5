//! Multi-seed runs: `dlp run FILE --seeds N [--jobs J]`.
//!
//! The pipeline runs N times into `seed-01/ … seed-NN/` of one folder, each
//! a normal run (its own lock, resume file and `run.yaml`) of the pipeline
//! re-analysed with `--set seed=S`: seed 1 is the pipeline's own seed, so
//! `seed-01` is the run `dlp run FILE` makes, and seeds 2… are derived
//! from it. Each seed moves everything the pipeline seed drives (initial
//! weights, shuffling, dropout, augmentation, and the split and `source
//! blobs` unless their statements fix a `seed=`). When all have finished,
//! `seeds.csv` has one row per seed (its final metrics) and `summary.csv`
//! one row per metric: mean, sample sd, min, max and the 95 % t interval
//! of the mean ([`crate::metrics::stats`]).
//!
//! With `--jobs J`, J seeds run at once, each in its own rayon pool of
//! ⌊cores / J⌋ threads (J is capped at the cores and at N). The kernels
//! give the same bits whatever the thread count (README, *Determinism*),
//! so every CSV is the one `--jobs 1` writes; each seed's `run.yaml`
//! records the threads it ran on.
//!
//! `seeds.yaml` records the pipeline, overrides and seeds, so `dlp run
//! --resume FOLDER` finishes a multi-seed run: finished seeds are kept,
//! interrupted or crashed ones resume, missing ones start.

use super::batch::Batch;
use crate::analyze;
use crate::diff::load::SEEDS_FILE;
use crate::error::{Error, Result};
use crate::metrics::stats::Summary;
use crate::plan::Plan;
use crate::records::{Manifest, Status, atomic, history, manifest};
use crate::rng;
use crate::run::{Outcome, RunOptions, folder::RunFolder};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The spec of a multi-seed folder.
pub(crate) const SPEC_FILE: &str = "seeds.yaml";
/// One row per metric: mean, sd, min, max, 95 % interval.
pub(crate) const SUMMARY_FILE: &str = "summary.csv";

/// What `seeds.yaml` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Spec {
    /// The pipeline file, absolute, so a resume works from any folder.
    pub pipeline: PathBuf,
    /// The `--set` overrides of the command line, without the seed.
    pub overrides: Vec<String>,
    /// The pipeline seed of each run, `seed-01` first.
    pub seeds: Vec<u64>,
}

/// The path element that separates these seeds from every other
/// derivation of the pipeline seed (the streams of [`rng::Stream`] are
/// 1–7).
const SEEDS_PATH: u64 = 101;

/// The pipeline seed of run `index` (0-based): the pipeline's own seed,
/// then seeds derived from it, below 2⁶³ like every seed the language
/// reads (they reach the runs as `--set seed=…`).
pub fn seed_of(pipeline_seed: u64, index: usize) -> u64 {
    if index == 0 {
        pipeline_seed
    } else {
        rng::derive(pipeline_seed, &[SEEDS_PATH, index as u64]) >> 1
    }
}

/// The folder name of run `index` (0-based): `seed-01`, … (three digits
/// from 100 seeds on).
pub(crate) fn folder_name(index: usize, count: usize) -> String {
    let width = count.to_string().len().max(2);
    format!("seed-{:0width$}", index + 1)
}

/// Whether `dir` holds a multi-seed run.
pub(crate) fn is_seeds_folder(dir: &Path) -> bool {
    dir.join(SPEC_FILE).is_file()
}

/// Runs `plan` with `count` seeds; returns the exit code (0, or 3 when a
/// seed failed an expectation).
pub(crate) fn run(
    plan: &Plan,
    overrides: &[String],
    count: usize,
    jobs: usize,
    opts: &RunOptions,
) -> Result<i32> {
    if count < 2 {
        return Err(Error::Usage(format!(
            "--seeds {count}: a spread needs at least 2 seeds (leave --seeds out for one run)"
        )));
    }
    if plan.sweep.is_some() {
        return Err(Error::Usage(
            "--seeds runs one pipeline several times; this pipeline has a sweep: remove --seeds, or the sweep".into(),
        ));
    }
    let base = RunFolder::claim(plan, opts.out.as_deref())?;
    if is_seeds_folder(&base.dir) {
        return Err(Error::Usage(format!(
            "{} already holds a multi-seed run: choose another --out, or continue it with --resume",
            base.dir.display()
        )));
    }
    let pipeline = std::fs::canonicalize(&plan.path).map_err(|e| Error::io(&plan.path, e))?;
    let spec = Spec {
        pipeline,
        overrides: overrides.to_vec(),
        seeds: (0..count).map(|i| seed_of(plan.seed, i)).collect(),
    };
    let text = serde_yaml_ng::to_string(&spec).map_err(|e| Error::Runtime(e.to_string()))?;
    let text = crate::file_format::stamp(&text);
    atomic::write(&base.dir.join(SPEC_FILE), text.as_bytes())?;
    execute(&base, &spec, jobs, opts)
}

/// Finishes the multi-seed run in `dir` (see the module documentation).
pub(crate) fn resume(dir: &Path, jobs: usize, opts: &RunOptions) -> Result<i32> {
    let base = RunFolder::lock(dir)?;
    let spec = Spec::read(dir)?;
    execute(&base, &spec, jobs, opts)
}

impl Spec {
    /// The `seeds.yaml` of the multi-seed folder `dir`.
    pub(crate) fn read(dir: &Path) -> Result<Spec> {
        let path = dir.join(SPEC_FILE);
        let spec: Spec = atomic::read_yaml(&path)?;
        if spec.seeds.is_empty() {
            return Err(Error::file(&path, "no seeds listed"));
        }
        Ok(spec)
    }
}

/// One run of a batch (a seed, a sweep's trial): kept when finished,
/// resumed when interrupted or crashed, started when absent. `set` are
/// the `--set` overrides that make it from the pipeline.
pub(crate) fn member_run(
    pipeline: &Path,
    set: &[String],
    dir: &Path,
    opts: &RunOptions,
) -> Result<Outcome> {
    let opts = RunOptions {
        out: Some(dir.to_path_buf()),
        ..opts.clone()
    };
    if dir.join(manifest::FILE).is_file() {
        let m = Manifest::read(dir)?;
        return match m.status {
            Status::Completed | Status::StoppedEarly | Status::Pruned => Ok(Outcome {
                failures: if m.exit_code == Some(3) {
                    vec![format!(
                        "{}: an expectation failed (see its run)",
                        dir.display()
                    )]
                } else {
                    Vec::new()
                },
                metrics: m.final_metrics,
                dir: dir.to_path_buf(),
            }),
            _ => crate::run::resume(dir, &opts),
        };
    }
    let plan = analyze::load(pipeline, set)?;
    crate::run::run(&plan, &opts)
}

fn seed_run(base: &Path, spec: &Spec, index: usize, opts: &RunOptions) -> Result<Outcome> {
    let mut set = spec.overrides.clone();
    set.push(format!("seed={}", spec.seeds[index]));
    let dir = base.join(folder_name(index, spec.seeds.len()));
    let opts = RunOptions {
        track: opts.track.member(vec![(
            "seed".into(),
            crate::track::HValue::Number(spec.seeds[index] as f64),
        )]),
        ..opts.clone()
    };
    member_run(&spec.pipeline, &set, &dir, &opts)
}

fn execute(base: &RunFolder, spec: &Spec, jobs: usize, opts: &RunOptions) -> Result<i32> {
    let group = crate::track::Group {
        dir: &base.dir,
        name: &crate::track::pipeline_name(&spec.pipeline),
        hparams: vec![(
            "seed".into(),
            spec.seeds
                .iter()
                .map(|&s| crate::track::HValue::Number(s as f64))
                .collect(),
        )],
        metrics: ["test_accuracy", "test_loss", "val_accuracy", "val_loss"]
            .map(String::from)
            .to_vec(),
        pipeline: &spec.pipeline,
    };
    crate::track::tracked_group(&opts.track, &group, opts.quiet, || {
        execute_seeds(base, spec, jobs, opts)
    })
}

fn execute_seeds(base: &RunFolder, spec: &Spec, jobs: usize, opts: &RunOptions) -> Result<i32> {
    let n = spec.seeds.len();
    let batch = Batch {
        dir: &base.dir,
        noun: "seeds",
        count: n,
        label: &|i| folder_name(i, n),
    };
    let ended = batch.execute(jobs, opts, &|i, opts| seed_run(&base.dir, spec, i, opts))?;
    let done = ended.complete()?;
    let mut failed = Vec::new();
    let mut rows = Vec::with_capacity(n);
    for (i, o) in done {
        if !o.failures.is_empty() {
            failed.push((i, o.failures));
        }
        rows.push((i, o.metrics));
    }
    let metrics = write_tables(&base.dir, spec, &rows)?;
    let shown: Vec<String> = ["test_accuracy", "test_loss", "val_accuracy", "val_loss"]
        .iter()
        .filter_map(|k| metrics.iter().find(|(m, _)| m == k))
        .map(|(k, s)| format!("{k} {:.4} ± {:.4}", s.mean, s.sd))
        .collect();
    crate::terminal::out(&format!(
        "{n} seeds: {} → {}\n",
        shown.join(", "),
        base.dir.join(SUMMARY_FILE).display()
    ))?;
    if !failed.is_empty() {
        crate::terminal::err!("{}", failed_seeds(spec, &failed));
    }
    base.remove_lock_file()?;
    Ok(if failed.is_empty() { 0 } else { 3 })
}

/// What a multi-seed run says when expectations failed: an `expect` block
/// must hold on every seed (README, *Expectations over seeds*), so the
/// seeds that missed are named, each with its failed statements.
pub(crate) fn failed_seeds(spec: &Spec, failed: &[(usize, Vec<String>)]) -> String {
    let n = spec.seeds.len();
    let mut text = format!(
        "expect must hold on every seed; it failed on {} of {n}: {}\n",
        failed.len(),
        failed
            .iter()
            .map(|(i, _)| format!("{} (seed={})", folder_name(*i, n), spec.seeds[*i]))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for (i, failures) in failed {
        for f in failures {
            text.push_str(&format!("  {}: {f}\n", folder_name(*i, n)));
        }
    }
    text
}

/// Writes `seeds.csv` and `summary.csv`; returns each metric's summary.
fn write_tables(
    base: &Path,
    spec: &Spec,
    rows: &[(usize, std::collections::BTreeMap<String, f64>)],
) -> Result<Vec<(String, Summary)>> {
    let n = spec.seeds.len();
    let names: BTreeSet<&str> = rows
        .iter()
        .flat_map(|(_, m)| m.keys().map(String::as_str))
        .collect();
    let metrics = history::column_order(names);
    let mut header = vec!["run".to_string(), "seed".to_string()];
    header.extend(metrics.iter().cloned());
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|(i, m)| {
            let mut row = vec![folder_name(*i, n), spec.seeds[*i].to_string()];
            row.extend(
                metrics
                    .iter()
                    .map(|k| m.get(k).map(|v| atomic::csv_num(*v)).unwrap_or_default()),
            );
            row
        })
        .collect();
    atomic::write_csv(&base.join(SEEDS_FILE), &header, &body)?;
    let summaries: Vec<(String, Summary)> = metrics
        .iter()
        .map(|k| {
            let xs: Vec<f64> = rows
                .iter()
                .map(|(_, m)| m.get(k).copied().unwrap_or(f64::NAN))
                .collect();
            let summary = Summary::of(&xs);
            let summary = match crate::metrics::stats::is_fraction(k) {
                true => summary.within(0.0, 1.0),
                false => summary,
            };
            (k.clone(), summary)
        })
        .collect();
    let header: Vec<String> = [
        "metric",
        "n",
        "mean",
        "sd",
        "min",
        "max",
        "ci95_low",
        "ci95_high",
    ]
    .map(String::from)
    .to_vec();
    let body: Vec<Vec<String>> = summaries
        .iter()
        .map(|(k, s)| {
            let mut row = vec![k.clone(), s.n.to_string()];
            row.extend(
                [s.mean, s.sd, s.min, s.max, s.ci_low, s.ci_high]
                    .iter()
                    .map(|v| atomic::csv_num(*v)),
            );
            row
        })
        .collect();
    atomic::write_csv(&base.join(SUMMARY_FILE), &header, &body)?;
    Ok(summaries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_start_at_the_pipelines_and_fit_the_language() {
        assert_eq!(seed_of(2, 0), 2);
        let seeds: BTreeSet<u64> = (0..50).map(|i| seed_of(2, i)).collect();
        assert_eq!(seeds.len(), 50);
        assert!(seeds.iter().all(|&s| s < 1 << 63));
        assert_ne!(seed_of(2, 1), seed_of(3, 1));
        assert_eq!(folder_name(0, 5), "seed-01");
        assert_eq!(folder_name(11, 12), "seed-12");
        assert_eq!(folder_name(6, 100), "seed-007");
    }
}
