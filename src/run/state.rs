//! The resume file, `resume.safetensors`: everything a run needs to
//! continue exactly where it stopped, in one file written atomically.
//!
//! It holds the model's weights (`model/…`), the optimizer's moments and
//! step (`optim/…`), early stopping's restore-best snapshot (`restore/…`)
//! and, as the safetensors metadata, the loop's [`TrainState`] as YAML: the
//! position in the epoch, partial sums, the rows of finished epochs, the
//! schedule, early stopping and the checkpoint rule. Random streams need no
//! state of their own: shuffling and augmentation derive from the seed and
//! the epoch, dropout masks from the seed and the step.
//!
//! The runner rewrites the file at the end of every epoch, every
//! `--save-every` inside an epoch, and on Ctrl-C or SIGTERM, through a
//! writer thread ([`super::saver::Saver`]) that writes at most once a
//! second (epochs shorter than that are saved when a second has passed).
//! Because it is one file replaced by a rename, a run killed at any moment (`kill -9`,
//! the OOM killer, a preempted machine) leaves either the previous complete
//! state or the new one, never a mixture; training from that point on is
//! deterministic, so redoing the lost batches gives the same bits.

use super::checkpoint::CheckpointRule;
use super::early_stop::EarlyStopping;
use crate::error::{Error, Result};
use crate::nn::Model;
use crate::optim::Optimizer;
use crate::records::{History, atomic};
use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// The resume file's name inside a run folder.
pub(crate) const FILE: &str = "resume.safetensors";

/// The metadata key holding the [`TrainState`] YAML.
const STATE_KEY: &str = "dlp_train_state";
/// The metadata key holding the finished epochs' rows, as `train.csv`
/// text: exact, and much cheaper to write every epoch than YAML.
const HISTORY_KEY: &str = "dlp_train_csv";

/// The loop's position and bookkeeping.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// 0-based epoch in progress (equal to the epoch bound once done).
    pub epoch: usize,
    /// Index of the next batch within the epoch.
    pub batch: usize,
    /// Optimizer steps taken so far (dropout masks derive from it).
    pub step: u64,
    /// Partial sums of the epoch in progress.
    pub loss_sum: f64,
    pub correct: u64,
    pub seen: u64,
    /// The rows of `train.csv` for the finished epochs (stored under
    /// their own key, as CSV).
    #[serde(skip)]
    pub history: History,
    pub scheduler: Vec<f64>,
    pub early_stop: Option<EarlyStopping>,
    pub checkpoint: Option<CheckpointRule>,
    /// The 1-based epoch after which a sweep's pruning rule stopped the
    /// run, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pruned: Option<usize>,
}

impl TrainState {
    /// Whether training is over: every epoch ran, or early stopping ended it.
    pub(crate) fn finished(&self, epochs: usize) -> bool {
        self.epoch >= epochs
            || self.pruned.is_some()
            || self
                .early_stop
                .as_ref()
                .is_some_and(|e| e.stopped_epoch.is_some())
    }
}

/// Named tensors, in a stable order (a restore-best snapshot).
pub(crate) type Snapshot = Vec<(String, Tensor)>;

/// The bytes of a resume file (`path` only names it in errors): copies of
/// the tensors, so training may go on while another thread writes them.
pub(crate) fn encode(
    path: &Path,
    state: &TrainState,
    model: &Model,
    optimizer: &dyn Optimizer,
    restore: Option<&[(String, Tensor)]>,
) -> Result<Vec<u8>> {
    let mut tensors: Vec<(String, Tensor)> = Vec::new();
    tensors.extend(
        model
            .state()?
            .into_iter()
            .map(|(n, t)| (format!("model/{n}"), t)),
    );
    tensors.extend(
        optimizer
            .state()?
            .into_iter()
            .map(|(n, t)| (format!("optim/{n}"), t)),
    );
    if let Some(snapshot) = restore {
        tensors.extend(
            snapshot
                .iter()
                .map(|(n, t)| (format!("restore/{n}"), t.clone())),
        );
    }
    let yaml = serde_yaml_ng::to_string(state).map_err(|e| Error::Runtime(e.to_string()))?;
    let yaml = crate::file_format::stamp(&yaml);
    let csv = state.history.csv_bytes(path)?;
    let csv = String::from_utf8(csv).map_err(|e| Error::Runtime(e.to_string()))?;
    atomic::safetensors_bytes(
        path,
        tensors,
        Some(HashMap::from([
            (STATE_KEY.into(), yaml),
            (HISTORY_KEY.into(), csv),
        ])),
    )
}

/// Reads only the loop state of a resume file (for `dlp status`).
pub fn peek(path: &Path) -> Result<TrainState> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    state_of(path, &bytes)
}

/// Reads a resume file back into a model and optimizer; returns the loop
/// state and the restore-best snapshot, if any.
pub(crate) fn load(
    path: &Path,
    model: &Model,
    optimizer: &mut dyn Optimizer,
    device: &Device,
) -> Result<(TrainState, Option<Snapshot>)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let state = state_of(path, &bytes)?;
    let tensors = candle_core::safetensors::load_buffer(&bytes, device)
        .map_err(|e| Error::file(path, format!("not a readable resume file ({e})")))?;
    let mut parts: HashMap<&str, HashMap<String, Tensor>> = HashMap::new();
    for (name, t) in tensors {
        let Some((part, rest)) = name.split_once('/') else {
            return Err(Error::file(path, format!("unexpected tensor `{name}`")));
        };
        let part = match part {
            "model" => "model",
            "optim" => "optim",
            "restore" => "restore",
            _ => return Err(Error::file(path, format!("unexpected tensor `{name}`"))),
        };
        parts.entry(part).or_default().insert(rest.to_string(), t);
    }
    let named = |e: Error| match e {
        Error::Runtime(msg) => Error::file(path, msg),
        other => other,
    };
    model
        .load_state(&parts.remove("model").unwrap_or_default())
        .map_err(named)?;
    optimizer
        .load_state(&parts.remove("optim").unwrap_or_default())
        .map_err(named)?;
    let restore = parts.remove("restore").map(|m| {
        let mut v: Snapshot = m.into_iter().collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    });
    Ok((state, restore))
}

fn state_of(path: &Path, bytes: &[u8]) -> Result<TrainState> {
    let bad = |why: String| Error::file(path, format!("not a dlp resume file ({why})"));
    let (_, meta) =
        safetensors::SafeTensors::read_metadata(bytes).map_err(|e| bad(e.to_string()))?;
    let entry = |key: &str| {
        meta.metadata()
            .as_ref()
            .and_then(|m| m.get(key))
            .ok_or_else(|| bad("no training state in its metadata".into()))
    };
    let yaml = entry(STATE_KEY)?;
    crate::file_format::check_yaml(path, yaml)?;
    let mut state: TrainState = serde_yaml_ng::from_str(yaml).map_err(|e| bad(e.to_string()))?;
    state.history = History::parse_csv(path, entry(HISTORY_KEY)?.as_bytes())?;
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Mode;
    use crate::records::EpochRow;
    use crate::run::early_stop::Best;
    use std::collections::BTreeMap;

    fn model_and_optimizer() -> (Model, Box<dyn Optimizer>) {
        let text = "seed 1
data {
  source blobs samples=30 centers=3 features=2
  split train=0.8 test=0.2
}
model { dense 3 activation=softmax }
train {
  loss cross_entropy
  optimizer adam
  epochs 1
}
";
        let plan = crate::analyze::analyze_source(text, Path::new("t.dlp"), &[]).unwrap();
        let model = Model::new(&plan.model, plan.train.loss, &Device::Cpu).unwrap();
        let optimizer = crate::optim::build(&plan.train.optimizer, model.trainable()).unwrap();
        (model, optimizer)
    }

    #[test]
    fn state_round_trips_through_the_file_bit_for_bit() {
        // A plateau schedule stores ±∞ for "no best yet"; partial sums and
        // metric rows must come back exactly for a resumed run to match an
        // uninterrupted one.
        let state = TrainState {
            epoch: 3,
            batch: 7,
            step: 43,
            loss_sum: 0.1 + 0.2,
            correct: 17,
            seen: 112,
            history: {
                let mut h = History::new();
                h.push(EpochRow {
                    epoch: 1,
                    lr: 1e-3,
                    values: BTreeMap::from([
                        ("loss".to_string(), 1.0 / 3.0),
                        ("val_loss".to_string(), f64::NAN),
                    ]),
                });
                h
            },
            scheduler: vec![1e-3, f64::INFINITY, 2.0],
            early_stop: None,
            checkpoint: Some(CheckpointRule {
                monitor: "val_accuracy".into(),
                best_only: true,
                best: Best::new(Mode::Max, 0.0),
            }),
            pruned: Some(3),
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        let (model, optimizer) = model_and_optimizer();
        let bytes = encode(&path, &state, &model, optimizer.as_ref(), None).unwrap();
        std::fs::write(&path, bytes).unwrap();
        let back = peek(&path).unwrap();
        assert_eq!(back.loss_sum.to_bits(), (0.1f64 + 0.2).to_bits());
        let row = &back.history.rows[0];
        assert_eq!(row.values["loss"].to_bits(), (1.0f64 / 3.0).to_bits());
        assert!(row.values["val_loss"].is_nan());
        assert_eq!(back.history.columns, ["loss", "val_loss"]);
        // NaN ≠ NaN, so compare the rest with the cell blanked.
        let blank = |mut s: TrainState| {
            s.history.rows[0].values.remove("val_loss");
            s
        };
        assert_eq!(blank(back), blank(state));
    }

    #[test]
    fn a_file_without_the_state_is_named_and_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(FILE);
        let t = Tensor::zeros(2, candle_core::DType::F32, &Device::Cpu).unwrap();
        atomic::write_safetensors(&p, vec![("x".into(), t)], None).unwrap();
        let err = peek(&p).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "{}: not a dlp resume file (no training state in its metadata)",
                p.display()
            )
        );
        std::fs::write(&p, b"garbage").unwrap();
        let err = peek(&p).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("{}: not a dlp resume file (", p.display())),
            "{err}"
        );
    }
}
