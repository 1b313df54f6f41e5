//! Hyperparameter sweeps: `sweep grid { … }` and `sweep random … { … }`.
//!
//! Each trial is the pipeline re-analysed with the trial's values as
//! `--set` overrides (and, for random sweeps, its own seed), run into its
//! own folder `trial-001/ …` of the sweep folder: a normal run (lock,
//! resume file, `run.yaml`). `sweep.yaml` records the pipeline, the
//! overrides, the sweep and every trial's values before any trial starts,
//! so the trials run anywhere from the folder alone: here, `--jobs` at a
//! time through the multi-seed machinery ([`super::batch`]),
//! or as Slurm array tasks ([`slurm`]). When every trial has ended,
//! [`summary`] writes `sweep.csv` (the best trial marked) and the picture
//! and prints the ranked table.
//!
//! `dlp run --resume SWEEP_DIR` keeps finished trials (completed, stopped
//! early, pruned, diverged), resumes interrupted or crashed ones and
//! starts the rest; `--trial I` does that for trial I alone (what an array
//! task runs).

use super::batch::Batch;
use super::{prune, seeds, slurm, summary};
use crate::error::{Error, Result};
use crate::plan::trials::{trial_name, trial_seed, trials, value_text};
use crate::plan::{Plan, Prune, SweepKind, SweepPlan, Value};
use crate::records::{Status, atomic};
use crate::run::RunOptions;
use crate::run::folder::RunFolder;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The spec of a sweep folder.
pub(crate) const SPEC_FILE: &str = "sweep.yaml";

/// What `sweep.yaml` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Spec {
    /// The pipeline file, absolute, so trials run from any folder (and
    /// relative data paths in it still resolve).
    pub pipeline: PathBuf,
    /// The `--set` overrides of the command line.
    pub overrides: Vec<String>,
    #[serde(with = "serde_yaml_ng::with::singleton_map_recursive")]
    pub sweep: SweepPlan,
    /// Every trial, in order.
    pub trials: Vec<TrialSpec>,
}

/// One trial of `sweep.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct TrialSpec {
    /// The value of each axis, in the sweep's order.
    pub values: Vec<Value>,
    /// Its pipeline seed (random sweeps; grid trials share the pipeline's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

impl Spec {
    /// The spec of `plan`'s sweep run with `overrides`.
    pub(crate) fn new(plan: &Plan, overrides: &[String]) -> Result<Spec> {
        let sweep = plan
            .sweep
            .clone()
            .ok_or_else(|| Error::Runtime("no sweep in the plan".into()))?;
        let pipeline = std::fs::canonicalize(&plan.path).map_err(|e| Error::io(&plan.path, e))?;
        let trials = trials(&sweep)?
            .into_iter()
            .enumerate()
            .map(|(i, t)| TrialSpec {
                values: t.into_iter().map(|(_, v)| v).collect(),
                seed: match sweep.kind {
                    SweepKind::Random { seed, .. } => Some(trial_seed(seed, i)),
                    SweepKind::Grid => None,
                },
            })
            .collect();
        Ok(Spec {
            pipeline,
            overrides: overrides.to_vec(),
            sweep,
            trials,
        })
    }

    /// Reads `sweep.yaml` from a sweep folder.
    pub(crate) fn read(dir: &Path) -> Result<Spec> {
        let path = dir.join(SPEC_FILE);
        let spec: Spec = crate::records::atomic::read_yaml(&path)?;
        if spec.trials.is_empty() {
            return Err(Error::file(&path, "no trials listed"));
        }
        if let Some(t) = spec
            .trials
            .iter()
            .position(|t| t.values.len() != spec.sweep.axes.len())
        {
            return Err(Error::file(
                &path,
                format!(
                    "trial {} has {} values for {} axes",
                    t + 1,
                    spec.trials[t].values.len(),
                    spec.sweep.axes.len()
                ),
            ));
        }
        Ok(spec)
    }

    pub(crate) fn write(&self, dir: &Path) -> Result<()> {
        let text = serde_yaml_ng::to_string(self).map_err(|e| Error::Runtime(e.to_string()))?;
        let text = crate::file_format::stamp(&text);
        atomic::write(&dir.join(SPEC_FILE), text.as_bytes())
    }

    /// The `--set` overrides of trial `i` (0-based): the command line's,
    /// then the trial's values, then its seed.
    pub(crate) fn set(&self, i: usize) -> Vec<String> {
        let t = &self.trials[i];
        let mut set = self.overrides.clone();
        set.extend(
            self.sweep
                .axes
                .iter()
                .zip(&t.values)
                .map(|(a, v)| format!("{}={}", a.target, value_text(v))),
        );
        if let Some(seed) = t.seed {
            set.push(format!("seed={seed}"));
        }
        set
    }

    /// Trial `i`'s values as `target=value` words.
    pub(crate) fn describe(&self, i: usize) -> String {
        self.sweep
            .axes
            .iter()
            .zip(&self.trials[i].values)
            .map(|(a, v)| format!("{}={}", a.target, value_text(v)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Whether `dir` holds a sweep.
pub(crate) fn is_sweep_folder(dir: &Path) -> bool {
    dir.join(SPEC_FILE).is_file()
}

/// Runs `plan`'s sweep here, `jobs` trials at a time; returns the exit
/// code (0, or 3 when a trial failed an expectation).
pub(crate) fn run(
    plan: &Plan,
    overrides: &[String],
    jobs: usize,
    opts: &RunOptions,
) -> Result<i32> {
    let spec = Spec::new(plan, overrides)?;
    let base = claim(plan, opts.out.as_deref())?;
    spec.write(&base.dir)?;
    execute(&base, &spec, jobs, opts)
}

/// Claims a new sweep folder.
pub(crate) fn claim(plan: &Plan, out: Option<&Path>) -> Result<RunFolder> {
    let base = RunFolder::claim(plan, out)?;
    if is_sweep_folder(&base.dir) || seeds::is_seeds_folder(&base.dir) {
        return Err(Error::Usage(format!(
            "{} already holds a sweep or a multi-seed run: choose another --out, or continue it with --resume",
            base.dir.display()
        )));
    }
    Ok(base)
}

/// Finishes the sweep in `dir` here (see the module documentation).
pub(crate) fn resume(dir: &Path, jobs: usize, opts: &RunOptions) -> Result<i32> {
    let base = RunFolder::lock(dir)?;
    let spec = Spec::read(dir)?;
    execute(&base, &spec, jobs, opts)
}

/// Runs or finishes trial `number` (1-based) of the sweep in `dir`, and
/// nothing else: what a Slurm array task runs. The sweep folder is not
/// locked (the other tasks share it); the trial's own folder is.
pub(crate) fn resume_trial(dir: &Path, number: usize, opts: &RunOptions) -> Result<i32> {
    let spec = Spec::read(dir)?;
    let n = spec.trials.len();
    if number == 0 || number > n {
        return Err(Error::Usage(format!(
            "--trial {number}: the sweep in {} has trials 1 to {n}",
            dir.display()
        )));
    }
    if !opts.quiet {
        crate::terminal::errln!("trial {number}/{n}: {}", spec.describe(number - 1));
    }
    let peers: Arc<dyn prune::Peers> = match std::env::var("SLURM_ARRAY_JOB_ID") {
        Ok(_) => Arc::new(slurm::Tasks::of(dir, n)?),
        Err(_) => Arc::new(prune::Alone),
    };
    match trial_run(dir, &spec, number - 1, opts, peers) {
        Ok(failed) => Ok(if failed { 3 } else { 0 }),
        Err(Error::Interrupted(why)) => Err(Error::Interrupted(format!(
            "{why}; continue with `dlp run --resume {} --trial {number}` (or `dlp sweep resume {0}`)",
            dir.display()
        ))),
        Err(e) => Err(e),
    }
}

/// Trial `i`'s pruner, when the sweep prunes.
fn pruner(
    base: &Path,
    spec: &Spec,
    i: usize,
    quiet: bool,
    peers: Arc<dyn prune::Peers>,
) -> Option<Arc<dyn crate::run::trainer::Pruner>> {
    let n = spec.trials.len();
    match spec.sweep.prune? {
        Prune::Median { warmup, startup } => Some(Arc::new(prune::MedianPruner {
            rule: prune::MedianRule {
                goal: spec.sweep.goal,
                warmup,
                startup,
            },
            monitor: spec.sweep.monitor.clone(),
            trial: i,
            earlier: (0..i).map(|j| base.join(trial_name(j, n))).collect(),
            peers,
            quiet,
        })),
    }
}

/// Runs, resumes or keeps trial `i` (0-based); returns whether it failed
/// an expectation. A diverged trial has ended: its folder says so.
fn trial_run(
    base: &Path,
    spec: &Spec,
    i: usize,
    opts: &RunOptions,
    peers: Arc<dyn prune::Peers>,
) -> Result<bool> {
    let dir = base.join(trial_name(i, spec.trials.len()));
    if prune::status_of(&dir)? == Some(Status::Diverged) {
        return Ok(false);
    }
    let hparams = spec
        .sweep
        .axes
        .iter()
        .zip(&spec.trials[i].values)
        .map(|(a, v)| {
            (
                a.target.clone(),
                crate::track::HValue::parse(&value_text(v)),
            )
        })
        .collect();
    let opts = RunOptions {
        pruner: pruner(base, spec, i, opts.quiet, peers),
        track: opts.track.member(hparams),
        trial: true,
        ..opts.clone()
    };
    match seeds::member_run(&spec.pipeline, &spec.set(i), &dir, &opts) {
        Ok(outcome) => Ok(!outcome.failures.is_empty()),
        Err(Error::Diverged(why)) => {
            if !opts.quiet {
                crate::terminal::errln!("{}: {why}", dir.display());
            }
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

fn execute(base: &RunFolder, spec: &Spec, jobs: usize, opts: &RunOptions) -> Result<i32> {
    let hparams = spec
        .sweep
        .axes
        .iter()
        .enumerate()
        .map(|(a, axis)| {
            let mut values: Vec<crate::track::HValue> = Vec::new();
            for t in &spec.trials {
                let v = crate::track::HValue::parse(&value_text(&t.values[a]));
                if !values.contains(&v) {
                    values.push(v);
                }
            }
            (axis.target.clone(), values)
        })
        .collect();
    let mut metrics = vec![spec.sweep.monitor.clone()];
    metrics.extend(
        ["test_accuracy", "test_loss"]
            .map(String::from)
            .into_iter()
            .filter(|m| *m != spec.sweep.monitor),
    );
    let group = crate::track::Group {
        dir: &base.dir,
        name: &crate::track::pipeline_name(&spec.pipeline),
        hparams,
        metrics,
        pipeline: &spec.pipeline,
    };
    crate::track::tracked_group(&opts.track, &group, opts.quiet, || {
        execute_trials(base, spec, jobs, opts)
    })
}

fn execute_trials(base: &RunFolder, spec: &Spec, jobs: usize, opts: &RunOptions) -> Result<i32> {
    let n = spec.trials.len();
    let pruning = Arc::new(prune::Batch::new(n));
    let batch = Batch {
        dir: &base.dir,
        noun: "trials",
        count: n,
        label: &|i| trial_name(i, n),
    };
    let ended = batch.execute(jobs, opts, &|i, opts| {
        if !opts.quiet {
            crate::terminal::errln!("trial {}/{n}: {}", i + 1, spec.describe(i));
        }
        let r = trial_run(&base.dir, spec, i, opts, pruning.clone());
        pruning.done(i);
        r
    })?;
    if ended
        .first_error
        .as_ref()
        .is_some_and(|e| !matches!(e, Error::Interrupted(_)))
    {
        // What finished is still worth a table; the rows say which
        // failed. The trial's error matters more than the table's.
        if let Err(w) = summary::write(&base.dir, spec) {
            crate::terminal::errln!("note: {w}");
        }
    }
    let failed = ended.complete()?.iter().any(|(_, f)| *f);
    let table = summary::write(&base.dir, spec)?;
    base.remove_lock_file()?;
    crate::terminal::out(&table)?;
    Ok(if failed { 3 } else { 0 })
}
