//! The runner: from a resolved plan to a finished run folder.
//!
//! [`run`] creates the folder, loads the data, builds the model, hands the
//! epochs to [`trainer::Trainer`], picks the weights the test split sees,
//! evaluates, diagnoses, checks `expect` and writes every output file.

pub mod device;
pub mod early_stop;
pub mod evaluate;
pub mod folder;
pub mod state;
pub mod sweep;
pub mod trainer;

use crate::data::{self, Part};
use crate::error::{Error, Result};
use crate::nn::Model;
use crate::optim::{self, Scheduler};
use crate::plan::{DeviceSpec, Loss, Plan, Weights};
use crate::report::{self, History, Manifest, Progress, Status};
use evaluate::named_metrics;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use trainer::{Ending, Trainer};

/// How to run: everything that is not in the pipeline.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The run folder (default `runs/<pipeline>/<run-id>/`).
    pub out: Option<PathBuf>,
    /// Overrides the pipeline's `device`.
    pub device: Option<DeviceSpec>,
    pub quiet: bool,
    /// Continue the interrupted run in this folder.
    pub resume: Option<PathBuf>,
    /// Test hook: stop as if interrupted after this many optimizer steps
    /// (`DLP_INTERRUPT_AFTER_STEPS`), so tests can prove exact resume.
    pub interrupt_after: Option<u64>,
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

/// Runs a plan end to end (or resumes one) and writes its folder.
pub fn run(plan: &Plan, opts: &RunOptions) -> Result<Outcome> {
    let dir = match &opts.resume {
        Some(dir) => dir.clone(),
        None => folder::create(plan, opts.out.as_deref())?,
    };
    let spec = opts.device.unwrap_or(plan.train.device);
    let device = device::select(spec)?;
    let mut manifest = match &opts.resume {
        Some(_) => Manifest::read(&dir)?,
        None => Manifest::start(
            plan.clone(),
            &device::name(&device),
            rayon::current_num_threads(),
        ),
    };
    manifest.status = Status::Running;
    manifest.write(&dir)?;
    let result = execute(plan, opts, &dir, &device, &mut manifest);
    let (status, code) = match &result {
        Ok(o) if o.failures.is_empty() => (manifest.status, 0),
        Ok(_) => (manifest.status, 3),
        Err(e @ Error::Interrupted(_)) => (Status::Interrupted, e.exit_code()),
        Err(e) if e.to_string().starts_with("training diverged") => {
            (Status::Diverged, e.exit_code())
        }
        Err(e) => (Status::Failed, e.exit_code()),
    };
    manifest.finish(status, code);
    manifest.write(&dir)?;
    result
}

fn execute(
    plan: &Plan,
    opts: &RunOptions,
    dir: &Path,
    device: &candle_core::Device,
    manifest: &mut Manifest,
) -> Result<Outcome> {
    let mut stages = report::StageTimer::new();
    let data = stages.time(
        "load",
        || data::load(plan, !opts.quiet),
        |d| {
            d.as_ref().map_or(0, |d| {
                (d.len(Part::Train) + d.len(Part::Valid) + d.len(Part::Test)) as u64
            })
        },
    )?;
    let data = Arc::new(data);
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
    report::write_data_csv(&dir.join("data.csv"), &data.classes, &parts)?;
    if plan.data.split.validate_on_test && !opts.quiet {
        eprintln!(
            "warning: validation metrics come from the test split (validate_on=test): model selection sees the test set"
        );
    }

    let model = Model::new(&plan.model, plan.train.loss, device)?;
    let optimizer = optim::build(&plan.train.optimizer, model.trainable())?;
    let scheduler = Scheduler::new(
        &plan.train.schedule,
        plan.train.optimizer.lr(),
        plan.train.epochs,
    );
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // A second signal while the first is handled ends the process at once.
        signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&stop))
            .and_then(|_| signal_hook::flag::register(signal, Arc::clone(&stop)))
            .map_err(|e| Error::Runtime(format!("cannot install the signal handler: {e}")))?;
    }
    let bs = trainer::batch_size(plan, &data);
    let n_train = data.len(Part::Train);
    let batches = if plan.train.drop_last {
        n_train / bs
    } else {
        n_train.div_ceil(bs)
    };
    let mut trainer = Trainer {
        plan,
        data: Arc::clone(&data),
        model,
        optimizer,
        scheduler,
        device: device.clone(),
        dir,
        progress: Progress::new(opts.quiet, plan.train.epochs, batches),
        stop,
        interrupt_after: opts.interrupt_after,
    };

    let (state, history, restore) = if opts.resume.is_some() {
        let (state, restore) = state::load(
            &dir.join("resume"),
            &trainer.model,
            trainer.optimizer.as_mut(),
            device,
        )?;
        trainer.scheduler.load_state(&state.scheduler)?;
        let mut history = History::read_csv(&dir.join("train.csv"))?;
        history.rows.truncate(state.rows);
        (state, history, restore)
    } else {
        (Default::default(), History::default(), None)
    };
    let started = std::time::Instant::now();
    let start_epoch = state.epoch;
    let trained = trainer.train(state, history, restore)?;
    let epochs_run = trained.history.rows.len().saturating_sub(start_epoch);
    stages.record("train", started.elapsed(), (epochs_run * n_train) as u64);
    if opts.resume.is_some() {
        let _ = std::fs::remove_dir_all(dir.join("resume"));
    }
    manifest.status = match trained.ending {
        Ending::Completed => Status::Completed,
        Ending::StoppedEarly(_) => Status::StoppedEarly,
    };
    manifest.best_epoch = trained.best_epoch;
    manifest.stop_epoch = match trained.ending {
        Ending::StoppedEarly(e) => Some(e),
        Ending::Completed => None,
    };

    // The weights the test split sees.
    let model = &trainer.model;
    let best_file = dir.join("best.safetensors");
    match plan.evaluate.weights {
        Weights::Best if best_file.exists() && !trained.restored => model.load(&best_file)?,
        Weights::Last if trained.restored => {
            model.load_state(&trained.last_state.iter().cloned().collect())?
        }
        _ => {}
    }
    model.save(&dir.join("model.safetensors"))?;

    let mut metrics = BTreeMap::new();
    if let Some(last) = trained.history.rows.last() {
        metrics.extend(last.values.clone());
    }
    let started = std::time::Instant::now();
    let test = if data.has(Part::Test) {
        let _span = tracing::info_span!("evaluate").entered();
        let eval = trainer.evaluate(Part::Test)?;
        metrics.extend(named_metrics(
            "test_",
            &eval,
            &plan.evaluate.metrics,
            plan.evaluate.top_k,
            true,
        ));
        report::write_eval(dir, &data.classes, &eval.confusion)?;
        stages.record("evaluate", started.elapsed(), data.len(Part::Test) as u64);
        Some(eval)
    } else {
        None
    };

    // Diagnosis: train error from a clean pass, validation error from the
    // weights that were evaluated.
    let _span = tracing::info_span!("report").entered();
    let train_error = 1.0 - trainer.evaluate(Part::Train)?.confusion.accuracy();
    // Without a validation split the test split stands in, and without
    // either the variance cannot be measured (taken as 0).
    let val_error = match trainer::validation_part(plan, &data) {
        Some(Part::Test) | None => test
            .as_ref()
            .map_or(train_error, |e| 1.0 - e.confusion.accuracy()),
        Some(part) => 1.0 - trainer.evaluate(part)?.confusion.accuracy(),
    };
    let diagnosis = report::Diagnosis::from_plan(
        train_error,
        val_error,
        plan.diagnose.as_ref(),
        &trained.history,
    );
    report::atomic::write(&dir.join("diagnosis.txt"), diagnosis.to_string().as_bytes())?;
    // Through the progress reporter, so it prints above any live bar (and
    // not at all with --quiet).
    trainer.progress.message(&diagnosis.to_string());
    let marks = report::Marks {
        best_epoch: trained.best_epoch,
        early_stop: manifest.stop_epoch,
    };
    report::curves::write(dir, &trained.history, &marks)?;
    let failures = report::expect::check(&plan.expect, &metrics, &plan.path);
    stages.write_csv(&dir.join("stages.csv"))?;
    manifest.final_metrics = metrics.clone();

    let summary = summary_line(plan, &metrics, dir);
    trainer.progress.finish(&summary);
    for f in &failures {
        eprintln!("expectation failed: {f}");
    }
    Ok(Outcome {
        dir: dir.to_path_buf(),
        metrics,
        failures,
    })
}

/// The model's output must fit the classes the data turned out to have
/// (the analyzer checks this already when a source's header tells the
/// class count; CSV and image folders tell it only once read).
pub fn check_outputs(plan: &Plan, classes: &[String]) -> Result<()> {
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
    Err(data::split::at_loc(
        &plan.path,
        loc,
        &format!(
            "the model ends in {units} units but the data has {k} classes ({}{more}): {} needs {needs}",
            shown.join(", "),
            loss_name(plan.train.loss),
        ),
    ))
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

fn summary_line(plan: &Plan, metrics: &BTreeMap<String, f64>, dir: &Path) -> String {
    let shown: Vec<String> = ["test_accuracy", "test_loss", "val_accuracy", "val_loss"]
        .iter()
        .filter_map(|k| metrics.get(*k).map(|v| format!("{k} {v:.4}")))
        .collect();
    format!("{}: {} → {}", plan.name, shown.join(", "), dir.display())
}
