//! Everything an interrupted run needs to continue exactly where it
//! stopped: the position in the epoch, partial sums, the optimizer step,
//! schedule and early-stopping state. Model weights and optimizer moments
//! are stored beside it as safetensors.

use super::early_stop::{Best, EarlyStopping};
use crate::error::{Error, Result};
use crate::nn::Model;
use crate::optim::Optimizer;
use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// The loop's position and bookkeeping; serialised to `resume/state.yaml`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// 0-based epoch in progress.
    pub epoch: usize,
    /// Index of the next batch within the epoch.
    pub batch: usize,
    /// Optimizer steps taken so far (dropout masks derive from it).
    pub step: u64,
    /// Partial sums of the epoch in progress.
    pub loss_sum: f64,
    pub correct: u64,
    pub seen: u64,
    /// Rows of train.csv that belong to finished epochs.
    pub rows: usize,
    pub scheduler: Vec<f64>,
    pub early_stop: Option<EarlyStopping>,
    pub checkpoint_best: Option<Best>,
    /// Whether a restore-best snapshot is stored in `resume/restore.safetensors`.
    pub has_restore: bool,
}

const STATE: &str = "state.yaml";
const TENSORS: &str = "state.safetensors";
const RESTORE: &str = "restore.safetensors";

/// Writes the resume folder: model, optimizer and the loop state.
pub fn save(
    dir: &Path,
    state: &TrainState,
    model: &Model,
    optimizer: &dyn Optimizer,
    restore: Option<&[(String, Tensor)]>,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut tensors: HashMap<String, Tensor> = HashMap::new();
    for (name, t) in model.state()? {
        tensors.insert(format!("model/{name}"), t);
    }
    for (name, t) in optimizer.state()? {
        tensors.insert(format!("optim/{name}"), t);
    }
    save_tensors(&dir.join(TENSORS), &tensors)?;
    if let Some(snapshot) = restore {
        let map = snapshot.iter().cloned().collect::<HashMap<_, _>>();
        save_tensors(&dir.join(RESTORE), &map)?;
    }
    let yaml = serde_yaml_ng::to_string(state).map_err(|e| Error::Runtime(e.to_string()))?;
    crate::report::atomic::write(&dir.join(STATE), yaml.as_bytes())
}

/// Named tensors, in a stable order (a restore-best snapshot).
pub type Snapshot = Vec<(String, Tensor)>;

/// Reads a resume folder back into a model and optimizer; returns the loop
/// state and the restore-best snapshot, if any.
pub fn load(
    dir: &Path,
    model: &Model,
    optimizer: &mut dyn Optimizer,
    device: &Device,
) -> Result<(TrainState, Option<Snapshot>)> {
    let path = dir.join(STATE);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let state: TrainState = serde_yaml_ng::from_str(&text)
        .map_err(|e| Error::file(&path, format!("not a dlp resume state: {e}")))?;
    let tensors = load_tensors(&dir.join(TENSORS), device)?;
    let mut model_part = HashMap::new();
    let mut optim_part = HashMap::new();
    for (name, t) in tensors {
        if let Some(rest) = name.strip_prefix("model/") {
            model_part.insert(rest.to_string(), t);
        } else if let Some(rest) = name.strip_prefix("optim/") {
            optim_part.insert(rest.to_string(), t);
        }
    }
    model.load_state(&model_part)?;
    optimizer.load_state(&optim_part)?;
    let restore = if state.has_restore {
        let mut v: Vec<(String, Tensor)> = load_tensors(&dir.join(RESTORE), device)?
            .into_iter()
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        Some(v)
    } else {
        None
    };
    Ok((state, restore))
}

/// safetensors through a temporary file and a rename.
pub fn save_tensors(path: &Path, tensors: &HashMap<String, Tensor>) -> Result<()> {
    let tmp = path.with_extension("safetensors.tmp");
    candle_core::safetensors::save(tensors, &tmp)
        .map_err(|e| Error::Runtime(format!("{}: {e}", tmp.display())))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// Reads safetensors, naming the file in any error.
pub fn load_tensors(path: &Path, device: &Device) -> Result<HashMap<String, Tensor>> {
    if !path.exists() {
        return Err(Error::file(path, "no such file"));
    }
    candle_core::safetensors::load(path, device)
        .map_err(|e| Error::file(path, format!("not a readable safetensors file ({e})")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Mode;

    #[test]
    fn state_round_trips_through_yaml_bit_for_bit() {
        // A plateau schedule stores ±∞ for "no best yet"; partial sums must
        // come back exactly for a resumed run to match an uninterrupted one.
        let state = TrainState {
            epoch: 3,
            batch: 7,
            step: 43,
            loss_sum: 0.1 + 0.2,
            correct: 17,
            seen: 112,
            rows: 3,
            scheduler: vec![1e-3, f64::INFINITY, 2.0],
            early_stop: None,
            checkpoint_best: Some(Best::new(Mode::Max, 0.0)),
            has_restore: false,
        };
        let yaml = serde_yaml_ng::to_string(&state).expect("serialises");
        let back: TrainState = serde_yaml_ng::from_str(&yaml).expect("deserialises");
        assert_eq!(back, state);
        assert_eq!(back.loss_sum.to_bits(), (0.1f64 + 0.2).to_bits());
    }
}
