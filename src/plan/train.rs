//! The `train` and `evaluate` sections, resolved.

use super::Loc;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainPlan {
    pub loss: Loss,
    /// `loss cross_entropy label_smoothing=ε`: targets y·(1 − ε) + ε/K
    /// (Keras' and PyTorch's `label_smoothing`); 0 = none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub label_smoothing: f64,
    pub optimizer: OptimizerPlan,
    pub schedule: SchedulePlan,
    pub batch: BatchSize,
    pub drop_last: bool,
    pub epochs: usize,
    pub early_stop: Option<EarlyStopPlan>,
    pub checkpoint: Option<CheckpointPlan>,
    pub class_weight: Option<ClassWeight>,
    pub device: DeviceSpec,
    /// Seed of the per-epoch shuffle stream.
    pub shuffle_seed: u64,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    CrossEntropy,
    BinaryCrossEntropy,
    Mse,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizerPlan {
    pub kind: Optimizer,
    /// Clip the global gradient norm to this value.
    pub clip_norm: Option<f64>,
    /// Keras' legacy inverse-time decay: lr / (1 + decay · iterations).
    pub decay: f64,
}

impl OptimizerPlan {
    pub fn lr(&self) -> f64 {
        match self.kind {
            Optimizer::Sgd { lr, .. }
            | Optimizer::Adam { lr, .. }
            | Optimizer::AdamW { lr, .. }
            | Optimizer::RmsProp { lr, .. }
            | Optimizer::Adagrad { lr, .. } => lr,
        }
    }
}

/// Update rules follow Keras 3 (see each optimizer's file in `optim/`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Optimizer {
    Sgd {
        lr: f64,
        momentum: f64,
        nesterov: bool,
        /// Keras 3's decoupled decay, w ← w − lr·wd·w before the step
        /// (not PyTorch SGD's coupled `weight_decay`); 0 = none.
        #[serde(default, skip_serializing_if = "is_zero")]
        weight_decay: f64,
    },
    Adam {
        lr: f64,
        beta1: f64,
        beta2: f64,
        epsilon: f64,
    },
    #[serde(rename = "adamw", alias = "adam_w")]
    AdamW {
        lr: f64,
        beta1: f64,
        beta2: f64,
        epsilon: f64,
        weight_decay: f64,
    },
    #[serde(rename = "rmsprop", alias = "rms_prop")]
    RmsProp {
        lr: f64,
        rho: f64,
        momentum: f64,
        epsilon: f64,
    },
    Adagrad {
        lr: f64,
        initial_accumulator: f64,
        epsilon: f64,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchedulePlan {
    pub kind: Schedule,
    /// Linear warm-up epochs before the schedule starts (0 = none).
    pub warmup: usize,
    /// `warmup_lr=R`: the warm-up epochs run at the constant rate R (He et
    /// al.'s 0.01 for ResNet-110) instead of ramping linearly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup_lr: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    Constant,
    /// lr₀ · factor^⌊e / every⌋.
    Step {
        every: usize,
        factor: f64,
    },
    /// lr₀ · factor^(number of milestones ≤ e), e the 0-based epoch counted
    /// from the start of training (PyTorch's `MultiStepLR`).
    Milestones {
        at: Vec<usize>,
        factor: f64,
    },
    /// lr₀ · factor^(e / every).
    Exponential {
        every: usize,
        factor: f64,
    },
    /// Cosine from lr₀ to `min` over the epochs bound.
    Cosine {
        min: f64,
    },
    /// Linear from lr₀ to `to` over the epochs bound.
    Linear {
        to: f64,
    },
    /// Keras' ReduceLROnPlateau.
    Plateau {
        monitor: String,
        mode: Mode,
        factor: f64,
        patience: usize,
        min_delta: f64,
        min_lr: f64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchSize {
    Size(usize),
    /// Batch gradient descent: the whole train split.
    All,
}

/// Whether a monitored metric improves downwards or upwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Min,
    Max,
}

impl Mode {
    /// The direction a metric improves in: losses and errors go down.
    pub(crate) fn for_metric(metric: &str) -> Mode {
        if metric.ends_with("loss") || metric.ends_with("error") {
            Mode::Min
        } else {
            Mode::Max
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EarlyStopPlan {
    pub monitor: String,
    pub mode: Mode,
    pub min_delta: f64,
    pub patience: usize,
    pub restore_best: bool,
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointPlan {
    pub monitor: String,
    pub mode: Mode,
    pub best_only: bool,
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassWeight {
    Balanced,
    List(Vec<f64>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceSpec {
    Auto,
    Cpu,
    Cuda(usize),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluatePlan {
    pub metrics: Vec<Metric>,
    pub top_k: Option<usize>,
    pub weights: Weights,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    Accuracy,
    Precision,
    Recall,
    F1,
    Confusion,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Weights {
    Best,
    Last,
}

/// Where the weights the test split sees come from, resolved from
/// `evaluate weights=`, `early_stop restore_best=` and `checkpoint
/// best_only=` ([`super::Plan::test_weights`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TestWeights {
    /// The weights after the last epoch trained.
    Last,
    /// Early stopping's best epoch, restored when training ends. It wins
    /// over a best-only checkpoint, as in Keras: `fit` returns the model
    /// with `restore_best_weights` applied, while `ModelCheckpoint` only
    /// writes a file.
    RestoredBest,
    /// `best.safetensors`: the checkpoint's best epoch.
    CheckpointBest,
}
