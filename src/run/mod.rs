//! The runner: from a resolved plan to a finished run folder.
//!
//! [`run`] claims a new folder ([`folder::RunFolder`]) and [`resume`]
//! reopens an interrupted or crashed one; both then go through the same
//! phases, one function each:
//!
//! 1. [`prepare_data`]: load and split the data, write `data.csv`;
//! 2. [`prepare_training`]: model, optimizer, schedule, signal handlers and
//!    the loop state (fresh, or read from the resume file);
//! 3. the loop, [`trainer::Trainer::train`], which writes `train.csv`,
//!    checkpoints and the resume file as it goes;
//! 4. [`choose_weights`]: which weights the test split sees;
//! 5. [`evaluate_test`]: `eval.csv`, `confusion.csv`;
//! 6. [`report`]: diagnosis, curves, the confusion heatmap, the
//!    misclassified test images, expectations, `report.html`, `stages.csv`.
//!
//! `run.yaml` says `running` while a run goes and how it ended afterwards.

pub(crate) mod checkpoint;
pub mod device;
pub(crate) mod early_stop;
pub mod evaluate;
pub mod folder;
pub(crate) mod input;
pub(crate) mod memory;
pub(crate) mod nvidia_wheels;
pub mod predict;
pub(crate) mod preflight;
pub(crate) mod saver;
pub(crate) mod signals;
pub mod state;
pub(crate) mod step;
pub(crate) mod trainer;

use crate::data::{self, Dataset, Part};
use crate::error::{Error, Result};
use crate::nn::Model;
use crate::optim::{self, Scheduler};
use crate::plan::{DeviceSpec, Loss, Plan, TestWeights, transfer};
use crate::records::{Manifest, StageTimer, Status};
use crate::report;
use crate::terminal::Progress;
use evaluate::{Evaluation, named_metrics};
use folder::RunFolder;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use trainer::{Ending, Saving, Trained, Trainer};

/// How to run: everything that is not in the pipeline.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The run folder (default `runs/<pipeline>/<run-id>/`).
    pub out: Option<PathBuf>,
    /// Overrides the pipeline's `device`.
    pub device: Option<DeviceSpec>,
    pub quiet: bool,
    /// Also write the resume file inside epochs, this often (`--save-every`).
    pub save_every: Option<Duration>,
    /// Test hook: stop as if interrupted after this many optimizer steps
    /// (`DLP_INTERRUPT_AFTER_STEPS`), so tests can prove exact resume.
    pub interrupt_after: Option<u64>,
    /// A sweep's pruning rule, asked at the end of every epoch.
    pub pruner: Option<Arc<dyn trainer::Pruner>>,
    /// The trackers to report to (`--track`).
    pub track: crate::track::Settings,
    /// A sweep's trial: its summary line shows validation figures only, so
    /// nobody picks a trial by its test score.
    pub trial: bool,
}

/// A finished run.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub dir: PathBuf,
    /// Final metrics by name (`test_accuracy`, `val_loss`, …).
    pub metrics: BTreeMap<String, f64>,
    /// Failed `expect` assertions, rendered.
    pub failures: Vec<String>,
}

/// Runs a plan end to end in a new run folder.
pub fn run(plan: &Plan, opts: &RunOptions) -> Result<Outcome> {
    // The device first: a missing GPU must not leave an empty run folder.
    let device = device::select(opts.device.unwrap_or(plan.train.device), opts.quiet)?;
    let source = plan.transfer.as_ref().map(transfer_source).transpose()?;
    let folder = RunFolder::claim(plan, opts.out.as_deref())?;
    let mut manifest = Manifest::start(
        plan.clone(),
        &device::name(&device),
        rayon::current_num_threads(),
    );
    manifest.transfer = source;
    supervise(&folder, manifest, plan, opts, &device, false)
}

/// The source weights of a `transfer` run and their MD5, for `run.yaml`.
fn transfer_source(t: &crate::plan::TransferPlan) -> Result<crate::records::TransferSource> {
    let weights = t.from.join(transfer::SOURCE_FILE);
    if !weights.is_file() {
        return Err(Error::file(
            &weights,
            format!(
                "the transfer source (line {}) has no final weights",
                t.loc.line
            ),
        ));
    }
    Ok(crate::records::TransferSource {
        run: t.from.clone(),
        weights_md5: crate::data::download::md5_file(&weights)?,
        weights,
    })
}

/// Continues the run in `dir` from its resume file: after Ctrl-C or
/// SIGTERM, after a crash or `kill -9` (from the last save; from the start
/// when it died before its first), or after a failed write once the disk
/// has room again. The finished folder is the one an uninterrupted run
/// would have written.
pub(crate) fn resume(dir: &Path, opts: &RunOptions) -> Result<Outcome> {
    let inspected = folder::inspect(dir)?;
    let Some(folder) = inspected.folder else {
        // Taken again for the message naming the process that holds it.
        return Err(RunFolder::lock(dir).err().unwrap_or_else(|| {
            Error::Busy(format!("{}: the run folder is in use", dir.display()))
        }));
    };
    let manifest = inspected.manifest;
    let status = manifest.status;
    if matches!(
        status,
        Status::Completed | Status::StoppedEarly | Status::Pruned | Status::Diverged
    ) {
        // Left behind if the process died between its last two steps.
        remove_if_present(&dir.join(state::FILE))?;
    }
    match status {
        Status::Completed | Status::StoppedEarly | Status::Pruned => {
            return Err(Error::Usage(format!(
                "{}: nothing to resume: the run finished ({})",
                dir.display(),
                status.as_str()
            )));
        }
        Status::Diverged => {
            return Err(Error::Usage(format!(
                "{}: nothing to resume: the run diverged, and would again from its last save; \
                 lower the learning rate and start a new run",
                dir.display()
            )));
        }
        Status::Running | Status::Crashed | Status::Interrupted | Status::Failed => {}
    }
    folder.remove_stale_temporaries()?;
    let plan = manifest.plan.clone();
    let device = device::select(opts.device.unwrap_or(plan.train.device), opts.quiet)?;
    if !opts.quiet && status == Status::Crashed {
        crate::terminal::errln!(
            "note: {}: the run's process ended without a word (killed or crashed); continuing from its last save",
            dir.display()
        );
    }
    supervise(&folder, manifest, &plan, opts, &device, true)
}

/// Marks the run `running`, executes it and records how it ended. The
/// resume file is removed once the run has finished for good.
fn supervise(
    folder: &RunFolder,
    mut manifest: Manifest,
    plan: &Plan,
    opts: &RunOptions,
    device: &candle_core::Device,
    resuming: bool,
) -> Result<Outcome> {
    let dir = &folder.dir;
    manifest.status = Status::Running;
    manifest.exit_code = None;
    manifest.ended = None;
    manifest.write(dir)?;
    let trackers = crate::track::Trackers::open(dir, &opts.track, resuming, opts.quiet);
    let member = opts.track.member.as_ref();
    trackers.start(&crate::track::RunInfo {
        dir,
        manifest: &manifest,
        member,
    });
    let result = execute(plan, opts, dir, device, &mut manifest, resuming, &trackers);
    let (status, code) = match &result {
        Ok(o) if o.failures.is_empty() => (manifest.status, 0),
        Ok(_) => (manifest.status, 3),
        Err(e @ Error::Interrupted(_)) => (Status::Interrupted, e.exit_code()),
        Err(e @ Error::Diverged(_)) => (Status::Diverged, e.exit_code()),
        Err(e) => (Status::Failed, e.exit_code()),
    };
    manifest.finish(status, code);
    let finished_for_good = matches!(
        status,
        Status::Completed | Status::StoppedEarly | Status::Pruned | Status::Diverged
    );
    match manifest.write(dir) {
        Ok(()) if finished_for_good => {
            remove_if_present(&dir.join(state::FILE))?;
            folder.remove_lock_file()?;
        }
        Ok(()) => {}
        // The run's own error says more than the manifest's.
        Err(w) => match &result {
            Ok(_) => return Err(w),
            Err(_) => {
                crate::terminal::errln!("note: {w} (run.yaml does not show how the run ended)")
            }
        },
    }
    trackers.end(&crate::track::RunInfo {
        dir,
        manifest: &manifest,
        member,
    });
    result
}

/// The phases, in order (see the module documentation).
fn execute(
    plan: &Plan,
    opts: &RunOptions,
    dir: &Path,
    device: &candle_core::Device,
    manifest: &mut Manifest,
    resuming: bool,
    trackers: &Arc<crate::track::Trackers>,
) -> Result<Outcome> {
    let mut stages = StageTimer::new();
    let data = prepare_data(plan, opts, dir, &mut stages, manifest)?;
    let mut trainer = prepare_training(plan, opts, dir, device, data, resuming)?;
    trainer.trackers = Some(Arc::clone(trackers));

    let started = Instant::now();
    let start_epoch = trainer.state.epoch;
    let trained = trainer.train()?;
    let n_train = trainer.data.len(Part::Train);
    let epochs_run = trained.history.rows.len().saturating_sub(start_epoch);
    stages.record("train", started.elapsed(), (epochs_run * n_train) as u64);
    stages.record("validate", trainer.validation.0, trainer.validation.1);
    stages.record("input", trainer.input.0, trainer.input.1);
    stages.record("save", trainer.saving.spent, trainer.saving.count);
    manifest.status = match trained.ending {
        Ending::Completed => Status::Completed,
        Ending::StoppedEarly(_) => Status::StoppedEarly,
        Ending::Pruned(_) => Status::Pruned,
    };
    manifest.best_epoch = trained.best_epoch();
    manifest.stop_epoch = match trained.ending {
        Ending::StoppedEarly(e) | Ending::Pruned(e) => Some(e),
        Ending::Completed => None,
    };

    manifest.test_epoch = choose_weights(plan, &trainer.model, &trained, dir)?;
    if trained.restored
        && plan.test_weights() == TestWeights::RestoredBest
        && let Some(e) = manifest.test_epoch
    {
        trainer
            .progress
            .message(&format!("restored weights from epoch {e}"));
    }
    // The epoch figures of the weights the test split sees: the restored
    // or checkpointed epoch's row, not the last epoch's (README, *Which
    // epoch the summary reports*).
    let mut metrics = tested_row(&trained.history, manifest.test_epoch)
        .map(|r| r.values.clone())
        .unwrap_or_default();
    let (test_metrics, test) = evaluate_test(plan, &trainer, &mut stages, dir)?;
    metrics.extend(test_metrics);
    let failures = report(
        plan,
        &mut trainer,
        &trained,
        test.as_ref(),
        &metrics,
        manifest,
        &mut stages,
    )?;
    stages.write_csv(&dir.join(crate::records::stages::FILE))?;
    manifest.final_metrics = metrics.clone();

    let note = epoch_note(manifest.test_epoch, trained.last_epoch());
    let summary = summary_line(plan, &metrics, &note, opts.trial, dir);
    trainer.progress.finish(&summary);
    for f in &failures {
        crate::terminal::errln!("expectation failed: {f}");
    }
    Ok(Outcome {
        dir: dir.to_path_buf(),
        metrics,
        failures,
    })
}

/// Loads and splits the data, checks the model's output against the
/// classes found, records the preprocessing statistics and writes
/// `data.csv`.
fn prepare_data(
    plan: &Plan,
    opts: &RunOptions,
    dir: &Path,
    stages: &mut StageTimer,
    manifest: &mut Manifest,
) -> Result<Arc<Dataset>> {
    let data = stages.time(
        "load",
        || data::load(plan, !opts.quiet),
        |d| {
            d.as_ref().map_or(0, |d| {
                (d.len(Part::Train) + d.len(Part::Valid) + d.len(Part::Test)) as u64
            })
        },
    )?;
    check_outputs(plan, &data.classes)?;
    manifest.preprocessing = stats_map(&data.stats)?;
    let parts: Vec<(&str, Vec<usize>)> = [
        ("train", Part::Train),
        ("valid", Part::Valid),
        ("test", Part::Test),
    ]
    .into_iter()
    .filter(|(_, p)| data.has(*p))
    .map(|(n, p)| (n, data.class_counts(p)))
    .collect();
    crate::records::write_data_csv(
        &dir.join(crate::records::data_csv::FILE),
        &data.classes,
        &parts,
    )?;
    if plan.data.split.validate_on_test && !opts.quiet {
        crate::terminal::errln!(
            "warning: validation metrics come from the test split (validate_on=test): model selection sees the test set"
        );
    }
    Ok(Arc::new(data))
}

/// The model, optimizer and schedule, and the loop state: fresh, or read
/// back from the resume file (a run killed before its first save starts
/// over).
fn prepare_training<'a>(
    plan: &'a Plan,
    opts: &RunOptions,
    dir: &'a Path,
    device: &candle_core::Device,
    data: Arc<Dataset>,
    resuming: bool,
) -> Result<Trainer<'a>> {
    let bs = trainer::batch_size(plan, &data);
    memory::Need::training(plan, bs).check()?;
    memory::Need::inference(plan, trainer::EVAL_BATCH.1).check()?;
    let mut model = Model::new(&plan.model, plan.train.loss, device)?;
    let resume_file = dir.join(state::FILE);
    let resumes = resuming && resume_file.exists();
    if let Some(t) = &plan.transfer {
        // A resumed run's weights come from its resume file; its epoch
        // tells whether the frozen layers have thawed yet.
        let epoch = if resumes {
            state::peek(&resume_file)?.epoch
        } else {
            model.load_layers(&t.from.join(transfer::SOURCE_FILE), &t.layers, &t.sources)?;
            0
        };
        model.set_frozen(t.frozen_at(epoch));
    }
    let mut optimizer = optim::build(&plan.train.optimizer, model.trainable())?;
    let mut scheduler = Scheduler::new(
        &plan.train.schedule,
        plan.train.optimizer.lr(),
        plan.train.epochs,
    );
    let start = if resumes {
        let (state, restore) = state::load(&resume_file, &model, optimizer.as_mut(), device)?;
        scheduler.load_state(&state.scheduler)?;
        (state, restore)
    } else {
        (trainer::fresh_state(plan), None)
    };
    if resuming {
        // `train.csv` may hold an epoch finished after the last save.
        let csv = dir.join(crate::records::history::FILE);
        if start.0.history.rows.is_empty() {
            remove_if_present(&csv)?;
        } else {
            start.0.history.write_csv(&csv)?;
        }
    }
    let n_train = data.len(Part::Train);
    let batches = if plan.train.drop_last {
        n_train / bs
    } else {
        n_train.div_ceil(bs)
    };
    let mut trainer = Trainer::new(
        plan,
        data,
        model,
        optimizer,
        scheduler,
        dir,
        Progress::new(opts.quiet, plan.train.epochs, batches),
        signals::stop_flag()?,
        Saving::new(&resume_file, opts.save_every, opts.interrupt_after),
        start,
    )?;
    trainer.pruner = opts.pruner.clone();
    Ok(trainer)
}

fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::write(path, e)),
        _ => Ok(()),
    }
}

/// Puts the weights the test split sees into the model (see
/// [`TestWeights`]) and writes them as `model.safetensors`; returns the
/// epoch they come from.
fn choose_weights(
    plan: &Plan,
    model: &Model,
    trained: &Trained,
    dir: &Path,
) -> Result<Option<usize>> {
    let last = Some(trained.last_epoch()).filter(|&e| e > 0);
    let epoch = match plan.test_weights() {
        TestWeights::Last => {
            if trained.restored {
                model.load_state(&trained.last_state.iter().cloned().collect())?;
            }
            last
        }
        TestWeights::RestoredBest if trained.restored => trained.early_stop_best,
        TestWeights::RestoredBest => last,
        TestWeights::CheckpointBest => {
            let best = dir.join(checkpoint::BEST_FILE);
            match trained.checkpoint_best {
                Some(epoch) if best.exists() => {
                    model.load(&best)?;
                    Some(epoch)
                }
                _ => last,
            }
        }
    };
    model.save(&dir.join("model.safetensors"))?;
    Ok(epoch)
}

/// The test metrics (`eval.csv`, `confusion.csv`), when there is a test
/// split.
fn evaluate_test(
    plan: &Plan,
    trainer: &Trainer<'_>,
    stages: &mut StageTimer,
    dir: &Path,
) -> Result<(BTreeMap<String, f64>, Option<Evaluation>)> {
    let mut metrics = BTreeMap::new();
    if !trainer.data.has(Part::Test) {
        return Ok((metrics, None));
    }
    let started = Instant::now();
    let _span = tracing::info_span!("evaluate").entered();
    let eval = trainer.evaluate(Part::Test)?;
    metrics.extend(named_metrics(
        "test_",
        &eval,
        &plan.evaluate.metrics,
        plan.evaluate.top_k,
        true,
    ));
    crate::records::write_eval(dir, &trainer.data.classes, &eval.confusion)?;
    stages.record(
        "evaluate",
        started.elapsed(),
        trainer.data.len(Part::Test) as u64,
    );
    Ok((metrics, Some(eval)))
}

/// The diagnosis (train error from a clean pass, validation error of the
/// weights that were evaluated, from their epoch's row), the learning
/// curves, the confusion heatmap and the misclassified test images, the
/// pipeline's expectations and `report.html`; returns the failed
/// expectations.
fn report(
    plan: &Plan,
    trainer: &mut Trainer<'_>,
    trained: &Trained,
    test: Option<&Evaluation>,
    metrics: &BTreeMap<String, f64>,
    manifest: &Manifest,
    stages: &mut StageTimer,
) -> Result<Vec<String>> {
    let _span = tracing::info_span!("report").entered();
    let dir = trainer.dir;
    let started = Instant::now();
    let train_error = 1.0 - trainer.evaluate(Part::Train)?.confusion.accuracy();
    let mut passed = trainer.data.len(Part::Train);
    // Without a validation split the test split stands in, and without
    // either the variance cannot be measured (taken as 0).
    // The validation error of the evaluated weights is their epoch's
    // `val_accuracy`: the same pass over the same weights, already done.
    let validated = manifest
        .test_epoch
        .and_then(|e| trained.history.rows.iter().find(|r| r.epoch == e))
        .and_then(|r| r.values.get("val_accuracy").copied());
    let n_train = trainer.data.len(Part::Train);
    let (val_error, n_val) = match (trainer::validation_part(plan, &trainer.data), validated) {
        (Some(Part::Test) | None, _) => match test {
            Some(e) => (1.0 - e.confusion.accuracy(), trainer.data.len(Part::Test)),
            None => (train_error, n_train),
        },
        (Some(part), Some(accuracy)) => (1.0 - accuracy, trainer.data.len(part)),
        (Some(part), None) => {
            passed += trainer.data.len(part);
            (
                1.0 - trainer.evaluate(part)?.confusion.accuracy(),
                trainer.data.len(part),
            )
        }
    };
    // The rates are counts over small splits: say how many samples.
    let wrong = |error: f64, n: usize| (error * n as f64).round() as usize;
    // The clean passes are a stage of their own: over a large train split
    // they take as long as a test evaluation several times over.
    stages.record("diagnose", started.elapsed(), passed as u64);
    let diagnosis = report::Diagnosis::from_plan(
        train_error,
        val_error,
        plan.diagnose.as_ref(),
        &trained.history,
    )
    .with_counts(report::diagnosis::Counts {
        train: (wrong(train_error, n_train), n_train),
        val: (wrong(val_error, n_val), n_val),
    });
    crate::records::atomic::write(&dir.join("diagnosis.txt"), diagnosis.to_string().as_bytes())?;
    // Through the progress reporter, so it prints above any live bar (and
    // not at all with --quiet).
    trainer.progress.message(&diagnosis.to_string());
    let marks = report::Marks {
        best_epoch: trained.best_epoch(),
        // A pruned trial's stop is drawn in the sweep's picture.
        early_stop: manifest
            .stop_epoch
            .filter(|_| manifest.status == Status::StoppedEarly),
    };
    report::curves::write(dir, &trained.history, &marks)?;
    if let Some(t) = test {
        report::confusion_plot::write(dir, &trainer.data.classes, &t.confusion.rows())?;
        report::misclassified::write(dir, &trainer.data, &t.probs, t.outputs, &t.truth)?;
    }
    let failures = report::expect::check(&plan.expect, metrics, &plan.path);
    // The page shows run.yaml as the run leaves it, which is written once
    // the phases are over: with these metrics and this exit code.
    let mut last = manifest.clone();
    last.final_metrics = metrics.clone();
    last.exit_code = Some(if failures.is_empty() { 0 } else { 3 });
    report::page::write_run_page(dir, &last)?;
    Ok(failures)
}

/// The model's output must fit the classes the data turned out to have
/// (the analyzer checks this already when a source's header tells the
/// class count; CSV and image folders tell it only once read).
pub(crate) fn check_outputs(plan: &Plan, classes: &[String]) -> Result<()> {
    let units = plan.model.output().numel();
    let k = classes.len();
    let (fits, needs) = match plan.train.loss {
        Loss::BinaryCrossEntropy => (
            units == 1 && k == 2,
            "one sigmoid unit and two classes".to_string(),
        ),
        Loss::CrossEntropy | Loss::Mse => (units == k, format!("{k} units, one per class")),
    };
    if fits {
        return Ok(());
    }
    let loc = plan
        .model
        .layers
        .last()
        .map_or(plan.data.source_loc, |l| l.loc);
    let shown: Vec<&str> = classes.iter().take(10).map(String::as_str).collect();
    let more = if k > 10 { ", …" } else { "" };
    Err(Error::Invalid(Box::new(crate::analyze::Report::at_loc(
        &plan.path,
        loc,
        crate::analyze::Kind::Mismatch,
        format!(
            "the model ends in {units} units but the data has {k} classes ({}{more}): {} needs {needs}",
            shown.join(", "),
            loss_name(plan.train.loss),
        ),
    ))))
}

fn loss_name(loss: Loss) -> &'static str {
    match loss {
        Loss::CrossEntropy => "cross_entropy",
        Loss::BinaryCrossEntropy => "binary_cross_entropy",
        Loss::Mse => "mse",
    }
}

/// The preprocessing statistics as the manifest's name → value map.
fn stats_map(stats: &data::PreprocessStats) -> Result<BTreeMap<String, serde_yaml_ng::Value>> {
    let value = serde_yaml_ng::to_value(stats).map_err(|e| Error::Runtime(e.to_string()))?;
    Ok(match value {
        serde_yaml_ng::Value::Mapping(m) => m
            .into_iter()
            .filter_map(|(k, v)| k.as_str().map(|k| (k.to_string(), v)))
            .collect(),
        other => BTreeMap::from([("statistics".to_string(), other)]),
    })
}

/// The history row of the epoch whose weights the test split sees
/// (`test_epoch`), else the last row.
pub(crate) fn tested_row(
    history: &crate::records::History,
    test_epoch: Option<usize>,
) -> Option<&crate::records::EpochRow> {
    test_epoch
        .and_then(|e| history.rows.iter().find(|r| r.epoch == e))
        .or_else(|| history.last())
}

/// The summary line's note when the reported epoch is not the last one.
fn epoch_note(test_epoch: Option<usize>, last: usize) -> String {
    match test_epoch {
        Some(e) if e != last => format!(" (epoch {e}'s weights; training ran {last} epochs)"),
        _ => String::new(),
    }
}

fn summary_line(
    plan: &Plan,
    metrics: &BTreeMap<String, f64>,
    note: &str,
    trial: bool,
    dir: &Path,
) -> String {
    let names: &[&str] = match trial {
        false => &["test_accuracy", "test_loss", "val_accuracy", "val_loss"],
        true if metrics.contains_key("val_loss") => &["val_accuracy", "val_loss"],
        true => &["accuracy", "loss"],
    };
    let shown: Vec<String> = names
        .iter()
        .filter_map(|k| metrics.get(*k).map(|v| format!("{k} {v:.4}")))
        .collect();
    format!(
        "{}: {}{note} → {}",
        plan.name,
        shown.join(", "),
        dir.display()
    )
}
