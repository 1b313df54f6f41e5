//! The training loop: epochs of shuffled (and augmented) batches, the
//! schedule, validation, checkpoints, early stopping, divergence,
//! interruption and the resume file. Everything random derives from the
//! plan's seed streams, so the same seed on the same device gives the same
//! CSVs, and a resumed run continues bit for bit.
//!
//! [`Trainer::train`] runs [`Trainer::train_epoch`] (the batches) and
//! [`Trainer::end_epoch`] (metrics, `train.csv`, schedule, checkpoint and
//! early-stopping decisions) until the state says training is over, and
//! saves the resume file after every epoch.

use super::checkpoint::CheckpointRule;
use super::early_stop::{Decision, EarlyStopping};
use super::evaluate::{Evaluation, evaluate, named_metrics, predict};
use super::input::on_device;
use super::saver::Saver;
use super::state::{self, Snapshot, TrainState};
use super::step::{Step, StepInputs, train_step};
use crate::data::{Dataset, Part};
use crate::error::{Error, Result};
use crate::nn::Model;
use crate::optim::{Optimizer, Scheduler};
use crate::plan::{BatchSize, ClassWeight, Plan};
use crate::records::{EpochRow, History};
use crate::rng;
use crate::terminal::Progress;
use candle_core::{Device, Tensor};
use rand::seq::SliceRandom;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Why training ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// All epochs ran.
    Completed,
    /// Early stopping ended it at this 1-based epoch.
    StoppedEarly(usize),
    /// A sweep's pruning rule ended it at this 1-based epoch.
    Pruned(usize),
}

/// A decision taken from outside the run at the end of each epoch: a
/// sweep's pruning rule ([`crate::sweeps::prune`]).
pub trait Pruner: Send + Sync + std::fmt::Debug {
    /// Whether to stop after 1-based `epoch`, given the run's rows so far.
    /// It may wait for other runs to reach `epoch`; once `stop` is set
    /// (Ctrl-C, SIGTERM) it returns [`Error::Interrupted`].
    fn prune(&self, epoch: usize, history: &History, stop: &AtomicBool) -> Result<bool>;
}

/// What the loop hands back to the runner.
pub(crate) struct Trained {
    pub ending: Ending,
    pub history: History,
    /// 1-based epoch of early stopping's best monitored value.
    pub early_stop_best: Option<usize>,
    /// 1-based epoch of the checkpoint's best monitored value.
    pub checkpoint_best: Option<usize>,
    /// The weights at the end of the last epoch (before any restore).
    pub last_state: Vec<(String, Tensor)>,
    /// Whether the best weights were restored at the end (`restore_best`).
    pub restored: bool,
}

impl Trained {
    /// 1-based epoch of the best monitored value, when something monitors
    /// (early stopping first, as its restore decides the final weights).
    pub(crate) fn best_epoch(&self) -> Option<usize> {
        self.early_stop_best.or(self.checkpoint_best)
    }

    /// The last epoch trained (1-based; 0 when none ran).
    pub(crate) fn last_epoch(&self) -> usize {
        self.history.last().map_or(0, |r| r.epoch)
    }
}

/// When and by whom the resume file is written.
pub(crate) struct Saving {
    /// The writer thread.
    writer: Saver,
    /// Also inside an epoch, once this long has passed since the last save
    /// (`--save-every`; zero saves after every batch). `None`: only at the
    /// ends of epochs and on interruption.
    pub every: Option<Duration>,
    /// Test hook: behave as if interrupted after this many optimizer steps.
    pub interrupt_after: Option<u64>,
    last: Instant,
    /// Training time spent on resume files (encoding them, waiting for the
    /// writer), and how many states were handed over.
    pub spent: Duration,
    pub count: u64,
    /// The state moved on since the last one handed over.
    unsaved: bool,
}

impl Saving {
    /// Saving into `path` (the resume file).
    pub(crate) fn new(
        path: &Path,
        every: Option<Duration>,
        interrupt_after: Option<u64>,
    ) -> Saving {
        Saving {
            writer: Saver::new(path),
            every,
            interrupt_after,
            last: Instant::now(),
            spent: Duration::ZERO,
            count: 0,
            unsaved: false,
        }
    }

    fn due(&self) -> bool {
        self.every.is_some_and(|d| self.last.elapsed() >= d)
    }
}

/// Everything the loop works on.
pub(crate) struct Trainer<'a> {
    pub plan: &'a Plan,
    pub data: Arc<Dataset>,
    pub model: Model,
    pub optimizer: Box<dyn Optimizer>,
    pub scheduler: Scheduler,
    pub device: Device,
    pub dir: &'a Path,
    pub progress: Progress,
    /// Set by SIGINT or SIGTERM: save and stop after the current batch.
    pub stop: Arc<AtomicBool>,
    pub saving: Saving,
    /// The loop's position and bookkeeping (what the resume file holds).
    pub state: TrainState,
    /// Early stopping's best weights so far (`restore_best`).
    pub restore: Option<Snapshot>,
    /// A sweep's pruning rule, asked at the end of every epoch.
    pub pruner: Option<Arc<dyn Pruner>>,
    /// `--track`: told each epoch's row.
    pub trackers: Option<Arc<crate::track::Trackers>>,
    /// The per-epoch validation passes: their time and the images they
    /// evaluated (`stages.csv`'s `validate` row, part of `train`'s time).
    pub validation: (Duration, u64),
    /// The training loop's time waiting for its next batch from the
    /// prefetch thread, which assembles, augments and puts it on the
    /// device, and the images it got (`stages.csv`'s `input` row, part of
    /// `train`'s time): near zero when the input keeps up with the steps.
    pub input: (Duration, u64),
    class_weights: Option<Tensor>,
}

/// Evaluation passes take the training batch size, kept within these
/// bounds (larger batches are faster without gradients; the upper bound
/// caps their memory).
pub(crate) const EVAL_BATCH: (usize, usize) = (256, 1024);

/// The validation part: `Valid`, or `Test` with `validate_on=test`.
pub(crate) fn validation_part(plan: &Plan, data: &Dataset) -> Option<Part> {
    if data.has(Part::Valid) {
        Some(Part::Valid)
    } else if plan.data.split.validate_on_test && data.has(Part::Test) {
        Some(Part::Test)
    } else {
        None
    }
}

/// The batch size of the training split.
pub(crate) fn batch_size(plan: &Plan, data: &Dataset) -> usize {
    match plan.train.batch {
        BatchSize::Size(n) => n,
        BatchSize::All => data.len(Part::Train),
    }
    .max(1)
}

/// Loss weights per class: a list as written, or `balanced`
/// (scikit-learn's n / (k · count), [`crate::nn::loss::balanced_class_weights`]).
pub(crate) fn class_weights(
    plan: &Plan,
    data: &Dataset,
    device: &Device,
) -> Result<Option<Tensor>> {
    let Some(cw) = &plan.train.class_weight else {
        return Ok(None);
    };
    let k = data.classes.len();
    let weights: Vec<f32> = match cw {
        ClassWeight::List(w) => {
            if w.len() != k {
                return Err(Error::Runtime(format!(
                    "class_weight lists {} weights but the data has {k} classes",
                    w.len()
                )));
            }
            w.iter().map(|&x| x as f32).collect()
        }
        ClassWeight::Balanced => {
            crate::nn::loss::balanced_class_weights(data.labels(Part::Train), k)
                .into_iter()
                .map(|x| x as f32)
                .collect()
        }
    };
    Ok(Some(Tensor::from_vec(weights, k, device)?))
}

/// The state of a run that has not trained yet.
pub(crate) fn fresh_state(plan: &Plan) -> TrainState {
    TrainState {
        early_stop: plan.train.early_stop.as_ref().map(EarlyStopping::new),
        checkpoint: plan.train.checkpoint.as_ref().map(CheckpointRule::new),
        ..TrainState::default()
    }
}

impl<'a> Trainer<'a> {
    /// A trainer starting from `state` (fresh, or read from a resume file).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        plan: &'a Plan,
        data: Arc<Dataset>,
        model: Model,
        optimizer: Box<dyn Optimizer>,
        scheduler: Scheduler,
        dir: &'a Path,
        progress: Progress,
        stop: Arc<AtomicBool>,
        saving: Saving,
        (state, restore): (TrainState, Option<Snapshot>),
    ) -> Result<Trainer<'a>> {
        let device = model.device().clone();
        let class_weights = class_weights(plan, &data, &device)?;
        Ok(Trainer {
            plan,
            data,
            model,
            optimizer,
            scheduler,
            device,
            dir,
            progress,
            stop,
            saving,
            state,
            restore,
            pruner: None,
            trackers: None,
            validation: (Duration::ZERO, 0),
            input: (Duration::ZERO, 0),
            class_weights,
        })
    }

    /// The shuffled sample order of a 0-based epoch.
    fn order(&self, epoch: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.data.len(Part::Train)).collect();
        let mut g = rng::generator(rng::derive(self.plan.train.shuffle_seed, &[epoch as u64]));
        order.shuffle(&mut g);
        order
    }

    /// A clean pass (no dropout, no augmentation) over `part`.
    pub(crate) fn evaluate(&self, part: Part) -> Result<Evaluation> {
        let bs = batch_size(self.plan, &self.data).clamp(EVAL_BATCH.0, EVAL_BATCH.1);
        evaluate(
            &self.model,
            &self.data,
            part,
            bs,
            &self.plan.train,
            self.data.classes.len(),
            &self.device,
        )
    }

    /// Runs epochs from the current state until training is over.
    pub(crate) fn train(&mut self) -> Result<Trained> {
        let epochs = self.plan.train.epochs;
        while !self.state.finished(epochs) {
            let epoch = self.state.epoch;
            let _span = tracing::info_span!("epoch", epoch = epoch + 1).entered();
            let lr = self.scheduler.lr(epoch) * self.lr_factor(epoch);
            self.train_epoch(lr)?;
            self.end_epoch(lr)?;
            self.thaw_if_due()?;
            self.offer_state()?;
        }
        if self.saving.unsaved {
            self.save_state()?;
        }
        self.flush_state()?;
        self.finish()
    }

    /// `transfer { unfreeze … factor=F }`: F once the layers thawed, else 1.
    fn lr_factor(&self, epoch: usize) -> f64 {
        self.plan
            .transfer
            .as_ref()
            .map_or(1.0, |t| t.lr_factor(epoch))
    }

    /// Two-phase fine-tuning: when the epochs trained reach `unfreeze
    /// after=`, every layer trains from now on, with a fresh optimizer over
    /// all of them (Keras' guide recompiles). Done before the end-of-epoch
    /// save, so a resume file's epoch alone tells the phase.
    fn thaw_if_due(&mut self) -> Result<()> {
        let Some(t) = &self.plan.transfer else {
            return Ok(());
        };
        let due = t.unfreeze.is_some_and(|u| u.after == self.state.epoch);
        if due && !t.freeze.is_empty() && !self.state.finished(self.plan.train.epochs) {
            self.model.set_frozen(t.frozen_at(self.state.epoch));
            self.optimizer =
                crate::optim::build(&self.plan.train.optimizer, self.model.trainable())?;
        }
        Ok(())
    }

    /// The batches of the epoch in progress, from the state's batch on.
    /// Saves and returns [`Error::Interrupted`] when a signal arrived.
    pub(crate) fn train_epoch(&mut self, lr: f64) -> Result<()> {
        let plan = self.plan;
        let epoch = self.state.epoch;
        self.progress.start_epoch(epoch + 1);
        let bs = batch_size(plan, &self.data);
        let order = self.order(epoch);
        let skip = (self.state.batch * bs).min(order.len());
        let augment = (!plan.augment.is_empty()).then(|| (plan.augment.clone(), epoch as u64));
        let mut batches = self.data.batches_then(
            Part::Train,
            (order[skip..].to_vec(), bs, plan.train.drop_last),
            augment,
            on_device(&self.device),
        );
        loop {
            let waited = Instant::now();
            let Some(batch) = batches.next() else { break };
            let batch = batch?;
            let rows = batch.rows();
            self.input.0 += waited.elapsed();
            self.input.1 += rows as u64;
            let inputs = StepInputs {
                model: &self.model,
                loss: plan.train.loss,
                label_smoothing: plan.train.label_smoothing,
                class_weights: self.class_weights.as_ref(),
            };
            let (loss, output) = match train_step(
                &inputs,
                self.optimizer.as_mut(),
                &batch.x,
                &batch.y,
                lr,
                self.state.step,
            )? {
                Step::Taken { loss, output } => (loss, output),
                Step::NonFinite(value) => return Err(self.diverged(value, lr)),
            };
            let preds = predict(&self.model.probabilities(&output)?)?;
            let correct = preds
                .iter()
                .zip(&batch.labels)
                .filter(|(p, t)| p == t)
                .count();
            let s = &mut self.state;
            s.step += 1;
            s.batch += 1;
            s.loss_sum += loss * rows as f64;
            s.correct += correct as u64;
            s.seen += rows as u64;
            self.progress.batch(
                s.batch,
                s.loss_sum / s.seen as f64,
                Some(s.correct as f64 / s.seen as f64),
            );
            let hook = self.saving.interrupt_after.is_some_and(|n| s.step >= n);
            if self.stop.load(Ordering::SeqCst) || hook {
                self.save_state()?;
                self.flush_state()?;
                return Err(Error::Interrupted(format!(
                    "interrupted at epoch {}, step {}; continue with `dlp run --resume {}`",
                    epoch + 1,
                    self.state.step,
                    self.dir.display()
                )));
            }
            if self.saving.due() {
                self.offer_state()?;
            }
        }
        Ok(())
    }

    fn diverged(&self, value: f64, lr: f64) -> Error {
        Error::Diverged(format!(
            "training diverged: the loss became {value} at epoch {}, step {} (batch {} of the epoch), learning rate {}. \
             Lower the learning rate (the chapter: a loss that goes up or explodes from the start means the learning rate is too high).",
            self.state.epoch + 1,
            self.state.step + 1,
            self.state.batch + 1,
            self.optimizer.effective_lr(lr),
        ))
    }

    /// The end of an epoch: its row (training figures and validation) in
    /// `train.csv`, the schedule, then the checkpoint rule's and early
    /// stopping's decisions; the state moves to the next epoch.
    pub(crate) fn end_epoch(&mut self, lr: f64) -> Result<()> {
        let epoch = self.state.epoch + 1;
        // train.csv's `lr` is the rate the epoch's first step used: the
        // schedule's, times the optimizer's legacy `decay` factor.
        let first_step = self.state.step - self.state.batch as u64;
        let row = EpochRow {
            epoch,
            lr: crate::optim::stepper::decayed(lr, self.plan.train.optimizer.decay, first_step),
            values: self.epoch_metrics()?,
        };
        self.state.history.push(row.clone());
        let outputs = tracing::info_span!("epoch_outputs").entered();
        self.state
            .history
            .write_csv(&self.dir.join(crate::records::history::FILE))?;
        self.progress.end_epoch(&row);
        if let Some(t) = &self.trackers {
            t.epoch(&row);
        }
        self.scheduler.end_epoch(epoch - 1, &row.values);

        if let Some(action) = self
            .state
            .checkpoint
            .as_mut()
            .and_then(|c| c.end_epoch(epoch, &row.values))
        {
            self.model.save(&self.dir.join(action.file()))?;
        }
        drop(outputs);
        let restore_best = self
            .plan
            .train
            .early_stop
            .as_ref()
            .is_some_and(|p| p.restore_best);
        if let Some(es) = self.state.early_stop.as_mut() {
            let current = row.values.get(&es.monitor).copied().unwrap_or(f64::NAN);
            if es.end_epoch(epoch, current) == Decision::Improved && restore_best {
                self.restore = Some(self.model.state()?);
            }
        }
        let stopping =
            self.state.finished(self.plan.train.epochs) || epoch >= self.plan.train.epochs;
        if let Some(pruner) = self.pruner.clone()
            && !stopping
        {
            match pruner.prune(epoch, &self.state.history, &self.stop) {
                Ok(true) => self.state.pruned = Some(epoch),
                Ok(false) => {}
                Err(e) => {
                    // The last save is from before this epoch ended: a
                    // resume redoes its remaining batches and asks again.
                    self.flush_state()?;
                    return Err(e);
                }
            }
        }
        let s = &mut self.state;
        s.epoch = epoch;
        s.batch = 0;
        s.loss_sum = 0.0;
        s.correct = 0;
        s.seen = 0;
        Ok(())
    }

    /// The epoch's training loss and accuracy, and the validation metrics.
    fn epoch_metrics(&mut self) -> Result<BTreeMap<String, f64>> {
        let s = &self.state;
        let mut values = BTreeMap::new();
        if s.seen > 0 {
            values.insert("loss".to_string(), s.loss_sum / s.seen as f64);
            values.insert("accuracy".to_string(), s.correct as f64 / s.seen as f64);
        }
        if let Some(part) = validation_part(self.plan, &self.data) {
            let _span = tracing::info_span!("validate").entered();
            let started = Instant::now();
            let eval = self.evaluate(part)?;
            self.validation.0 += started.elapsed();
            self.validation.1 += self.data.len(part) as u64;
            values.extend(named_metrics(
                "val_",
                &eval,
                &self.plan.evaluate.metrics,
                None,
                false,
            ));
        }
        Ok(values)
    }

    /// Saves the current state if the writer would write it at once;
    /// otherwise only notes that the file is behind (a later offer, or the
    /// end of training, catches up). Encoding a state the writer would
    /// replace before writing is wasted work: with epochs of a few
    /// milliseconds it was a tenth of the training time.
    fn offer_state(&mut self) -> Result<()> {
        if self.saving.writer.ready() {
            self.save_state()
        } else {
            self.saving.unsaved = true;
            Ok(())
        }
    }

    /// Hands the current state to the resume file's writer thread.
    fn save_state(&mut self) -> Result<()> {
        let _span = tracing::info_span!("save").entered();
        let started = Instant::now();
        self.state.scheduler = self.scheduler.state();
        let bytes = state::encode(
            &self.dir.join(state::FILE),
            &self.state,
            &self.model,
            self.optimizer.as_ref(),
            self.restore.as_deref(),
        )?;
        self.saving.writer.submit(bytes)?;
        self.saving.unsaved = false;
        self.saving.spent += started.elapsed();
        self.saving.count += 1;
        self.saving.last = Instant::now();
        Ok(())
    }

    /// Waits until the latest state is on disk (before the process may
    /// end, and before the runner removes the file).
    pub(crate) fn flush_state(&mut self) -> Result<()> {
        let started = Instant::now();
        let flushed = self.saving.writer.flush();
        self.saving.spent += started.elapsed();
        flushed
    }

    /// After the last epoch: restores the best weights (`restore_best`)
    /// and says how training ended.
    fn finish(&mut self) -> Result<Trained> {
        let last_state = self.model.state()?;
        let mut restored = false;
        if let Some(snapshot) = &self.restore
            && self
                .plan
                .train
                .early_stop
                .as_ref()
                .is_some_and(|p| p.restore_best)
        {
            self.model.load_state(&snapshot.iter().cloned().collect())?;
            restored = true;
        }
        let early = self.state.early_stop.as_ref();
        let ending = match (early.and_then(|e| e.stopped_epoch), self.state.pruned) {
            (Some(e), _) => Ending::StoppedEarly(e),
            (None, Some(e)) => Ending::Pruned(e),
            (None, None) => Ending::Completed,
        };
        let nonzero = |e: usize| (e > 0).then_some(e);
        Ok(Trained {
            ending,
            history: self.state.history.clone(),
            early_stop_best: early.and_then(|e| nonzero(e.best.epoch)),
            checkpoint_best: self
                .state
                .checkpoint
                .as_ref()
                .and_then(|c| nonzero(c.best.epoch)),
            last_state,
            restored,
        })
    }
}
