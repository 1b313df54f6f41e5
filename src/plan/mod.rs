//! The resolved plan: what the analyzer produces from a `.dlp` file and
//! every later stage consumes. Every value is concrete (variables,
//! `repeat` blocks and defaults resolved); `defaults` names the paths whose
//! value the user did not write, so `dlp plan` can mark them.
//!
//! This is the contract between the stages: `analyze` builds it,
//! `data`, `nn`, `optim` and `run` read it, `report` stores it in
//! `run.yaml`. It serialises to YAML with the same structure `dlp plan
//! --format yaml` prints.

mod data;
mod model;
mod shape;
pub mod summary;
mod train;
pub(crate) mod transfer;
pub mod trials;

pub use data::*;
pub use model::*;
pub use shape::Shape;
pub use train::*;
pub(crate) use transfer::{TransferPlan, Unfreeze};

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// A fully resolved pipeline.
///
/// Enum-valued fields are written as one-key maps (`test: {size: {count: 200}}`):
/// YAML tags cannot nest, and `run.yaml` stores this structure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Pipeline name: the file stem (`cifar10` for `pipelines/cifar10.dlp`).
    pub name: String,
    /// The file the plan was read from.
    pub path: PathBuf,
    /// The one seed every random stream derives from (see [`crate::rng`]).
    pub seed: u64,
    /// `let` variables after `--set` overrides, by name.
    pub vars: BTreeMap<String, Value>,
    #[serde(with = "serde_yaml_ng::with::singleton_map_recursive")]
    pub data: DataPlan,
    #[serde(with = "serde_yaml_ng::with::singleton_map_recursive")]
    pub preprocess: Vec<Preprocess>,
    #[serde(with = "serde_yaml_ng::with::singleton_map_recursive")]
    pub augment: AugmentPlan,
    #[serde(with = "serde_yaml_ng::with::singleton_map_recursive")]
    pub model: ModelPlan,
    /// `transfer { … }`: start from another run's weights, freeze layers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer: Option<TransferPlan>,
    #[serde(with = "serde_yaml_ng::with::singleton_map_recursive")]
    pub train: TrainPlan,
    #[serde(with = "serde_yaml_ng::with::singleton_map_recursive")]
    pub evaluate: EvaluatePlan,
    pub diagnose: Option<DiagnosePlan>,
    #[serde(with = "serde_yaml_ng::with::singleton_map_recursive")]
    pub expect: Vec<Expectation>,
    #[serde(with = "serde_yaml_ng::with::singleton_map_recursive")]
    pub sweep: Option<SweepPlan>,
    /// Dotted paths (`train.optimizer.epsilon`) whose value is a default.
    pub defaults: BTreeSet<String>,
}

/// A value as written in the language: used for variables and sweeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Value>),
}

/// Where later stages report errors against the pipeline (split sizes,
/// expectations): kept in the plan, defined with the diagnostics.
pub use crate::diagnostics::Loc;

/// `diagnose { human_error 0.005 tolerance=0.02 }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiagnosePlan {
    pub human_error: f64,
    pub tolerance: f64,
}

/// One line of `expect { METRIC OP NUMBER }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expectation {
    pub metric: String,
    pub op: CmpOp,
    pub value: f64,
    pub loc: Loc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CmpOp {
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "==")]
    Eq,
}

impl CmpOp {
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            CmpOp::Ge => ">=",
            CmpOp::Gt => ">",
            CmpOp::Le => "<=",
            CmpOp::Lt => "<",
            CmpOp::Eq => "==",
        }
    }

    pub(crate) fn holds(self, actual: f64, bound: f64) -> bool {
        match self {
            CmpOp::Ge => actual >= bound,
            CmpOp::Gt => actual > bound,
            CmpOp::Le => actual <= bound,
            CmpOp::Lt => actual < bound,
            CmpOp::Eq => actual == bound,
        }
    }
}

/// `sweep grid { … }` or `sweep random trials=N seed=S { … }`, with
/// `monitor=`, `goal=` and `prune=` on the head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepPlan {
    pub kind: SweepKind,
    /// In source order: a `let` variable name or a dotted path.
    pub axes: Vec<SweepAxis>,
    /// The per-epoch metric trials are ranked (and pruned) by: `monitor=`,
    /// else early stopping's monitor, else the checkpoint's, else
    /// `val_loss` (`loss` without validation data).
    #[serde(default = "default_sweep_monitor")]
    pub monitor: String,
    /// Whether lower or higher `monitor` values are better: `goal=`, else
    /// the mode of the monitor it took, else the metric's own direction.
    #[serde(default = "default_sweep_goal")]
    pub goal: Mode,
    /// Stopping unpromising trials early (`prune=median`).
    #[serde(default)]
    pub prune: Option<Prune>,
}

fn default_sweep_monitor() -> String {
    "val_loss".into()
}

fn default_sweep_goal() -> Mode {
    Mode::Min
}

/// How a sweep prunes trials.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prune {
    /// Optuna's median rule: after epoch `warmup`, a trial stops when its
    /// best monitored value so far is worse than the median of the earlier
    /// trials' values at the same epoch; the first `startup` trials are
    /// never pruned.
    Median { warmup: usize, startup: usize },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SweepKind {
    Grid,
    Random { trials: usize, seed: u64 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepAxis {
    pub target: String,
    pub values: SweepValues,
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SweepValues {
    List(Vec<Value>),
    Uniform {
        low: f64,
        high: f64,
    },
    #[serde(rename = "loguniform", alias = "log_uniform")]
    LogUniform {
        low: f64,
        high: f64,
    },
}

impl Plan {
    /// Where the weights the test split sees come from (see [`TestWeights`]).
    pub(crate) fn test_weights(&self) -> TestWeights {
        let restores = self
            .train
            .early_stop
            .as_ref()
            .is_some_and(|e| e.restore_best);
        match self.evaluate.weights {
            Weights::Last => TestWeights::Last,
            Weights::Best if restores => TestWeights::RestoredBest,
            Weights::Best => TestWeights::CheckpointBest,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activations_round_trip_as_text() {
        for a in [
            Activation::Relu,
            Activation::LeakyRelu { alpha: 0.3 },
            Activation::Softmax,
        ] {
            let text = String::from(a);
            assert_eq!(Activation::try_from(text), Ok(a));
        }
        assert_eq!(
            String::from(Activation::LeakyRelu { alpha: 0.3 }),
            "leaky_relu(alpha=0.3)"
        );
    }

    #[test]
    fn layers_with_activations_serialise_to_yaml_and_back() {
        let layer = Layer::Dense {
            units: 3,
            activation: Activation::LeakyRelu { alpha: 0.1 },
            l2: 0.0,
        };
        let yaml = serde_yaml_ng::to_string(&layer).expect("serialises");
        assert_eq!(serde_yaml_ng::from_str::<Layer>(&yaml).ok(), Some(layer));
        let split = TestSplit::Size(SplitSize::Fraction(0.2));
        let yaml = serde_yaml_ng::to_string(&split).expect("serialises");
        assert_eq!(
            serde_yaml_ng::from_str::<TestSplit>(&yaml).ok(),
            Some(split)
        );
    }
}
