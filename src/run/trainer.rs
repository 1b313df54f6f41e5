//! The training loop: epochs of shuffled (and augmented) batches, the
//! schedule, validation, checkpoints, early stopping, divergence and
//! interruption. Everything random derives from the plan's seed streams,
//! so the same seed on the same device gives the same CSVs, and a resumed
//! run continues bit for bit.

use super::early_stop::{Best, Decision, EarlyStopping};
use super::evaluate::{Evaluation, evaluate, named_metrics, predict};
use super::state::{self, TrainState};
use crate::data::{Dataset, Part};
use crate::error::{Error, Result};
use crate::nn::{ForwardMode, Model, loss};
use crate::optim::{Optimizer, Scheduler};
use crate::plan::{BatchSize, ClassWeight, Plan};
use crate::report::{EpochRow, History, Progress};
use crate::rng;
use candle_core::{DType, Device, Tensor};
use rand::seq::SliceRandom;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Why training ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// All epochs ran.
    Completed,
    /// Early stopping ended it at this 1-based epoch.
    StoppedEarly(usize),
}

/// What the loop hands back to the runner.
pub struct Trained {
    pub ending: Ending,
    pub history: History,
    /// 1-based epoch of the best monitored value, when something monitors.
    pub best_epoch: Option<usize>,
    /// The weights at the end of the last epoch (before any restore).
    pub last_state: Vec<(String, Tensor)>,
    /// Whether the best weights were restored at the end (`restore_best`).
    pub restored: bool,
}

/// Everything the loop works on.
pub struct Trainer<'a> {
    pub plan: &'a Plan,
    pub data: Arc<Dataset>,
    pub model: Model,
    pub optimizer: Box<dyn Optimizer>,
    pub scheduler: Scheduler,
    pub device: Device,
    pub dir: &'a Path,
    pub progress: Progress,
    pub stop: Arc<AtomicBool>,
    /// Test hook: behave as if interrupted after this many optimizer steps.
    pub interrupt_after: Option<u64>,
}

/// The validation part: `Valid`, or `Test` with `validate_on=test`.
pub fn validation_part(plan: &Plan, data: &Dataset) -> Option<Part> {
    if data.has(Part::Valid) {
        Some(Part::Valid)
    } else if plan.data.split.validate_on_test && data.has(Part::Test) {
        Some(Part::Test)
    } else {
        None
    }
}

/// The batch size of the training split.
pub fn batch_size(plan: &Plan, data: &Dataset) -> usize {
    match plan.train.batch {
        BatchSize::Size(n) => n,
        BatchSize::All => data.len(Part::Train),
    }
    .max(1)
}

/// Loss weights per class: a list as written, or `balanced`
/// (scikit-learn's n / (k · count), [`crate::nn::loss::balanced_class_weights`]).
pub fn class_weights(plan: &Plan, data: &Dataset, device: &Device) -> Result<Option<Tensor>> {
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

fn scalar(t: &Tensor) -> Result<f64> {
    Ok(f64::from(t.to_dtype(DType::F32)?.to_scalar::<f32>()?))
}

impl Trainer<'_> {
    /// The shuffled sample order of a 0-based epoch.
    fn order(&self, epoch: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.data.len(Part::Train)).collect();
        let mut g = rng::generator(rng::derive(self.plan.train.shuffle_seed, &[epoch as u64]));
        order.shuffle(&mut g);
        order
    }

    /// A clean pass (no dropout, no augmentation) over `part`.
    pub fn evaluate(&self, part: Part) -> Result<Evaluation> {
        let bs = batch_size(self.plan, &self.data).clamp(256, 1024);
        evaluate(
            &self.model,
            &self.data,
            part,
            bs,
            self.plan.train.loss,
            self.data.classes.len(),
            &self.device,
        )
    }

    /// Runs epochs from `state` on. `history` holds the rows of finished
    /// epochs (empty for a fresh run).
    pub fn train(
        &mut self,
        mut state: TrainState,
        mut history: History,
        mut restore: Option<Vec<(String, Tensor)>>,
    ) -> Result<Trained> {
        let plan = self.plan;
        let epochs = plan.train.epochs;
        let bs = batch_size(plan, &self.data);
        let weights = class_weights(plan, &self.data, &self.device)?;
        let val_part = validation_part(plan, &self.data);
        let augment = (!plan.augment.is_empty()).then(|| plan.augment.clone());
        let mut early = match (&state.early_stop, &plan.train.early_stop) {
            (Some(saved), _) => Some(saved.clone()),
            (None, Some(p)) => Some(EarlyStopping::new(p)),
            (None, None) => None,
        };
        let mut ckpt_best = match (&state.checkpoint_best, &plan.train.checkpoint) {
            (Some(saved), _) => Some(saved.clone()),
            (None, Some(c)) => Some(Best::new(c.mode, 0.0)),
            (None, None) => None,
        };
        let mut ending = Ending::Completed;

        while state.epoch < epochs {
            let epoch = state.epoch;
            let _span = tracing::info_span!("epoch", epoch = epoch + 1).entered();
            let lr = self.scheduler.lr(epoch);
            self.progress.start_epoch(epoch + 1);
            let order = self.order(epoch);
            let skip = (state.batch * bs).min(order.len());
            let rest = order[skip..].to_vec();
            let aug = augment.clone().map(|a| (a, epoch as u64));
            for batch in self
                .data
                .batches(Part::Train, rest, bs, plan.train.drop_last, aug)
            {
                let batch = batch?;
                let rows = batch.y.len();
                let x = Tensor::from_vec(batch.x, batch.dims.as_slice(), &self.device)?;
                let y = Tensor::from_vec(batch.y.clone(), rows, &self.device)?;
                let out = self
                    .model
                    .forward(&x, ForwardMode::Train { step: state.step })?;
                let mut total = loss(plan.train.loss, &out, &y, weights.as_ref())?;
                if let Some(penalty) = self.model.l2_penalty()? {
                    total = (total + penalty)?;
                }
                let value = scalar(&total)?;
                if !value.is_finite() {
                    return Err(Error::Diverged(format!(
                        "training diverged: the loss became {value} at epoch {}, step {} (batch {} of the epoch), learning rate {}. \
                         Lower the learning rate (the chapter: a loss that goes up or explodes from the start means the learning rate is too high).",
                        epoch + 1,
                        state.step + 1,
                        state.batch + 1,
                        self.optimizer.effective_lr(lr),
                    )));
                }
                let grads = total.backward()?;
                self.optimizer.step(&grads, lr)?;
                let preds = predict(&self.model.probabilities(&out.detach())?)?;
                let correct = preds.iter().zip(&batch.y).filter(|(p, t)| p == t).count();
                state.step += 1;
                state.batch += 1;
                state.loss_sum += value * rows as f64;
                state.correct += correct as u64;
                state.seen += rows as u64;
                self.progress.batch(
                    state.batch,
                    state.loss_sum / state.seen as f64,
                    Some(state.correct as f64 / state.seen as f64),
                );
                let hook = self.interrupt_after.is_some_and(|n| state.step >= n);
                if self.stop.load(Ordering::SeqCst) || hook {
                    state.early_stop = early.clone();
                    state.checkpoint_best = ckpt_best.clone();
                    state.scheduler = self.scheduler.state();
                    state.has_restore = restore.is_some();
                    state::save(
                        &self.dir.join("resume"),
                        &state,
                        &self.model,
                        self.optimizer.as_ref(),
                        restore.as_deref(),
                    )?;
                    return Err(Error::Interrupted(format!(
                        "interrupted at epoch {}, step {}; continue with `dlp run --resume {}`",
                        epoch + 1,
                        state.step,
                        self.dir.display()
                    )));
                }
            }

            // End of epoch: training figures, validation, bookkeeping.
            let mut values = BTreeMap::new();
            if state.seen > 0 {
                values.insert("loss".to_string(), state.loss_sum / state.seen as f64);
                values.insert(
                    "accuracy".to_string(),
                    state.correct as f64 / state.seen as f64,
                );
            }
            if let Some(part) = val_part {
                let _span = tracing::info_span!("validate").entered();
                let eval = self.evaluate(part)?;
                values.extend(named_metrics(
                    "val_",
                    &eval,
                    &plan.evaluate.metrics,
                    None,
                    false,
                ));
            }
            let row = EpochRow {
                epoch: epoch + 1,
                lr,
                values: values.clone(),
            };
            history.push(row.clone());
            history.write_csv(&self.dir.join("train.csv"))?;
            self.progress.end_epoch(&row);
            self.scheduler.end_epoch(epoch, &values);

            if let (Some(best), Some(c)) = (ckpt_best.as_mut(), &plan.train.checkpoint) {
                let improved = values
                    .get(&c.monitor)
                    .is_some_and(|&v| best.update(epoch + 1, v));
                if c.best_only {
                    if improved {
                        self.model.save(&self.dir.join("best.safetensors"))?;
                    }
                } else {
                    self.model.save(&self.dir.join("last.safetensors"))?;
                }
            }
            let mut stop = false;
            if let (Some(es), Some(p)) = (early.as_mut(), &plan.train.early_stop) {
                let current = values.get(&es.monitor).copied().unwrap_or(f64::NAN);
                match es.end_epoch(epoch + 1, current) {
                    Decision::Improved if p.restore_best => restore = Some(self.model.state()?),
                    Decision::Stop => {
                        ending = Ending::StoppedEarly(epoch + 1);
                        stop = true;
                    }
                    _ => {}
                }
            }
            state = TrainState {
                epoch: epoch + 1,
                step: state.step,
                rows: history.rows.len(),
                ..TrainState::default()
            };
            if stop {
                break;
            }
        }

        let last_state = self.model.state()?;
        let mut restored = false;
        if let (Some(snapshot), Some(p)) = (&restore, &plan.train.early_stop)
            && p.restore_best
        {
            let map = snapshot.iter().cloned().collect();
            self.model.load_state(&map)?;
            restored = true;
        }
        let best_epoch = early
            .as_ref()
            .map(|e| e.best.epoch)
            .or(ckpt_best.as_ref().map(|b| b.epoch))
            .filter(|&e| e > 0);
        Ok(Trained {
            ending,
            history,
            best_epoch,
            last_state,
            restored,
        })
    }
}
