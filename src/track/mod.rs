//! Trackers: a run shown in the tools a team already uses (`dlp run …
//! --track tensorboard|mlflow|dvc`, repeatable).
//!
//! - [`tensorboard`]: event files in the run folder (scalars per epoch, the
//!   test metrics, the curves and confusion images, the plan as text, the
//!   HParams dashboard for a sweep or multi-seed folder);
//! - [`mlflow`]: an MLflow run over the REST API, through an outbox kept in
//!   the run folder ([`outbox`]) so the run never waits on the server and
//!   `dlp sync` sends later what could not be sent;
//! - [`dvc`]: `dvc.yaml`, `metrics.json` and `params.yaml` beside dlp's
//!   CSVs, for `dvc metrics show|diff` and `dvc plots show`.
//!
//! The engine calls a [`Trackers`] at the run's start, at each epoch's end
//! and at the run's end. A tracker's trouble never stops the run: it is
//! said once on standard error and the tracker goes quiet. A run resumed
//! with `--resume` continues the trackers it started with (their state is
//! in its folder) and any named again.

pub(crate) mod dvc;
pub(crate) mod mlflow;
pub(crate) mod outbox;
pub(crate) mod tensorboard;

use crate::error::{Error, Result};
use crate::records::{EpochRow, Manifest, Status};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A tracker a run can report to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Kind {
    /// Event files in the run folder (`tensorboard --logdir RUN_DIR`).
    Tensorboard,
    /// An MLflow run on the server of `MLFLOW_TRACKING_URI`.
    Mlflow,
    /// `dvc.yaml` over the run's metrics and curves.
    Dvc,
}

/// What a run reports and to whom: part of [`crate::run::RunOptions`].
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The trackers named on the command line.
    pub kinds: Vec<Kind>,
    /// Set for a member of a sweep or multi-seed folder.
    pub member: Option<Member>,
}

/// A run inside a sweep or multi-seed folder: its folder is the parent's
/// subfolder, and these are the values that tell it from its siblings.
#[derive(Debug, Clone)]
pub struct Member {
    /// `--set` name → value (a trial's axes, or `seed`).
    pub hparams: Vec<(String, HValue)>,
}

/// An hyperparameter's value, as TensorBoard's HParams dashboard and
/// MLflow's params show it.
#[derive(Debug, Clone, PartialEq)]
pub enum HValue {
    Number(f64),
    Text(String),
    Bool(bool),
}

impl HValue {
    pub(crate) fn text(&self) -> String {
        match self {
            HValue::Number(x) => crate::records::csv_num(*x),
            HValue::Text(s) => s.clone(),
            HValue::Bool(b) => b.to_string(),
        }
    }

    /// A sweep axis's value as dlp writes it (`0.01`, `adam`, `true`).
    pub(crate) fn parse(text: &str) -> HValue {
        if let Ok(x) = text.parse::<f64>() {
            HValue::Number(x)
        } else if let Ok(b) = text.parse::<bool>() {
            HValue::Bool(b)
        } else {
            HValue::Text(text.to_string())
        }
    }
}

impl Settings {
    /// The settings of a member run with these values.
    pub(crate) fn member(&self, hparams: Vec<(String, HValue)>) -> Settings {
        Settings {
            kinds: self.kinds.clone(),
            member: Some(Member { hparams }),
        }
    }

    /// Checks what can be checked before anything runs: MLflow's address.
    pub(crate) fn check(&self) -> Result<()> {
        if self.kinds.contains(&Kind::Mlflow) {
            mlflow::Server::from_env(None)?;
        }
        Ok(())
    }
}

/// What a tracker is told about its run.
pub(crate) struct RunInfo<'a> {
    pub dir: &'a Path,
    pub manifest: &'a Manifest,
    pub member: Option<&'a Member>,
}

/// One tracker. Errors are reported by [`Trackers`], never fatal.
pub(crate) trait Tracker: Send {
    fn name(&self) -> &'static str;
    /// The run starts (or resumes).
    fn start(&mut self, run: &RunInfo<'_>) -> Result<()>;
    /// An epoch ended: its `train.csv` row.
    fn epoch(&mut self, row: &EpochRow) -> Result<()>;
    /// The run ended: `run.yaml` as it is left, the report written when the
    /// run got that far.
    fn end(&mut self, run: &RunInfo<'_>) -> Result<()>;
}

/// The trackers of one run.
#[derive(Default)]
pub(crate) struct Trackers {
    live: Mutex<Vec<Box<dyn Tracker>>>,
}

impl std::fmt::Debug for Trackers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Trackers")
    }
}

/// The trackers a run folder already reports to (a resumed run goes on
/// with them).
pub(crate) fn kinds_in(dir: &Path) -> Vec<Kind> {
    let mut kinds = Vec::new();
    if tensorboard::started(dir) {
        kinds.push(Kind::Tensorboard);
    }
    if outbox::Outbox::exists(dir) {
        kinds.push(Kind::Mlflow);
    }
    if dvc::started(dir) {
        kinds.push(Kind::Dvc);
    }
    kinds
}

impl Trackers {
    /// The trackers for the run in `dir`: those of `settings`, and on a
    /// resume those the folder already reports to.
    pub(crate) fn open(
        dir: &Path,
        settings: &Settings,
        resuming: bool,
        quiet: bool,
    ) -> Arc<Trackers> {
        let mut kinds = settings.kinds.clone();
        if resuming {
            kinds.extend(kinds_in(dir));
        }
        kinds.sort();
        kinds.dedup();
        let mut live: Vec<Box<dyn Tracker>> = Vec::new();
        for k in kinds {
            match k {
                Kind::Tensorboard => live.push(Box::new(tensorboard::RunWriter::new(dir))),
                Kind::Mlflow => live.push(Box::new(mlflow::RunTracker::new(dir, quiet))),
                Kind::Dvc => live.push(Box::new(dvc::Files::new(dir))),
            }
        }
        Arc::new(Trackers {
            live: Mutex::new(live),
        })
    }

    fn each(&self, what: &str, f: &mut dyn FnMut(&mut dyn Tracker) -> Result<()>) {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.retain_mut(|t| match f(t.as_mut()) {
            Ok(()) => true,
            Err(e) => {
                crate::terminal::errln!(
                    "note: --track {}: {e} (at the run's {what}); the run goes on without it",
                    t.name()
                );
                false
            }
        });
    }

    pub(crate) fn start(&self, run: &RunInfo<'_>) {
        self.each("start", &mut |t| t.start(run));
    }

    pub(crate) fn epoch(&self, row: &EpochRow) {
        self.each("epoch end", &mut |t| t.epoch(row));
    }

    pub(crate) fn end(&self, run: &RunInfo<'_>) {
        self.each("end", &mut |t| t.end(run));
    }
}

/// A sweep's or multi-seed folder's own tracking: the parent of its runs.
pub(crate) struct Group<'a> {
    pub dir: &'a Path,
    /// The pipeline's name (the parent run's name).
    pub name: &'a str,
    /// The values that tell the member runs apart: name → every value.
    pub hparams: Vec<(String, Vec<HValue>)>,
    /// The metrics to show against them (the sweep's monitor first).
    pub metrics: Vec<String>,
    /// The pipeline file, absolute.
    pub pipeline: &'a Path,
}

/// Starts (or, resumed, continues) the group's trackers before its runs:
/// those of `settings` and those the folder already reports to.
/// Runs the members of a sweep or seeds folder (`run`) inside its group:
/// the trackers' parent run and experiment opened before, and closed with
/// the status the batch ended with.
pub(crate) fn tracked_group<T>(
    settings: &Settings,
    group: &Group<'_>,
    quiet: bool,
    run: impl FnOnce() -> Result<T>,
) -> Result<T> {
    start_group(settings, group, quiet);
    let result = run();
    end_group(group.dir, &result, quiet);
    result
}

fn start_group(settings: &Settings, group: &Group<'_>, quiet: bool) {
    let mut kinds = settings.kinds.clone();
    kinds.extend(kinds_in(group.dir));
    let note = |k: &str, e: Error| {
        crate::terminal::errln!("note: --track {k}: {e}; the runs go on without it")
    };
    if kinds.contains(&Kind::Tensorboard)
        && let Err(e) = tensorboard::write_experiment(group)
    {
        note("tensorboard", e);
    }
    if kinds.contains(&Kind::Mlflow)
        && let Err(e) = mlflow::start_group(group, quiet)
    {
        note("mlflow", e);
    }
}

/// Ends the group's own tracking once its runs have ended (or stopped),
/// by how the batch ended.
fn end_group<T>(dir: &Path, result: &Result<T>, quiet: bool) {
    let status = match result {
        Ok(_) => Status::Completed,
        Err(Error::Interrupted(_)) => Status::Interrupted,
        Err(_) => Status::Failed,
    };
    if outbox::Outbox::exists(dir)
        && let Err(e) = mlflow::end_group(dir, status, quiet)
    {
        crate::terminal::errln!("note: --track mlflow: {e}");
    }
}

/// The folders `dlp sync` looks at for `dir`: itself, and each run of a
/// sweep or multi-seed folder.
pub(crate) fn folders(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = vec![dir.to_path_buf()];
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut subs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir() && outbox::Outbox::exists(p))
        .collect();
    subs.sort();
    out.extend(subs);
    Ok(out)
}

/// The MLflow status of how a dlp run ended.
pub(crate) fn mlflow_status(status: Status) -> &'static str {
    match status {
        Status::Running | Status::Crashed => "RUNNING",
        Status::Completed | Status::StoppedEarly | Status::Pruned => "FINISHED",
        Status::Interrupted => "KILLED",
        Status::Diverged | Status::Failed => "FAILED",
    }
}

/// The resolved plan as `--set` names it (`train.optimizer.lr`,
/// `model.dense.units`), value as text.
pub(crate) fn plan_params(dir: &Path, manifest: &Manifest) -> Result<Vec<(String, String)>> {
    let files = crate::report::page::files::RunFiles::read_with(dir, manifest.clone())?;
    let mut lines = crate::report::page::compare::flatten_plan(&files)?;
    for (k, v) in lines.iter_mut() {
        *k = set_name(k);
        // MLflow keeps at most 6000 characters of a param's value.
        if v.len() > 6000 {
            let mut end = 6000;
            while !v.is_char_boundary(end) {
                end -= 1;
            }
            v.truncate(end);
        }
    }
    if !lines.iter().any(|(k, _)| k == "seed") {
        lines.insert(0, ("seed".to_string(), manifest.seed.to_string()));
    }
    // One value per name (MLflow refuses a batch naming a param twice).
    let mut seen = std::collections::BTreeSet::new();
    lines.retain(|(k, _)| seen.insert(k.clone()));
    Ok(lines)
}

/// `model.layers[dense].units` as `--set` takes it: `model.dense.units`.
fn set_name(path: &str) -> String {
    path.replace("model.layers[", "model.")
        .replace(']', "")
        .replace('[', ".")
}

/// A pipeline's name: its file's stem.
pub(crate) fn pipeline_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "pipeline".into())
}

/// Milliseconds since the epoch, as MLflow counts time.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_paths_take_set_names() {
        assert_eq!(
            set_name("model.layers[dense_1].units"),
            "model.dense_1.units"
        );
        assert_eq!(set_name("train.optimizer.lr"), "train.optimizer.lr");
        assert_eq!(set_name("data.augment[0].p"), "data.augment.0.p");
    }

    #[test]
    fn statuses_mirror_dlps() {
        assert_eq!(mlflow_status(Status::Completed), "FINISHED");
        assert_eq!(mlflow_status(Status::Pruned), "FINISHED");
        assert_eq!(mlflow_status(Status::Interrupted), "KILLED");
        assert_eq!(mlflow_status(Status::Diverged), "FAILED");
        assert_eq!(mlflow_status(Status::Failed), "FAILED");
    }
}
