//! Refusing a model that cannot fit, before anything is allocated.
//!
//! [`Need`] is a lower bound of the memory a step takes: the weights, and
//! for training their gradients, the optimizer's moments and the
//! activations of one batch kept for the backward pass (float32 all). The
//! real peak is higher (scratch buffers, the data), so a refused run could
//! never have worked; one that passes may still be tight. The bound is
//! compared with what the machine, or the cgroup the process runs in, has
//! available now.

use crate::error::{Error, Result};
use crate::plan::{Optimizer, Plan};
use sysinfo::{MemoryRefreshKind, RefreshKind, System};

const F32: u64 = 4;

/// Bytes a model needs at least, by part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Need {
    pub weights: u64,
    pub gradients: u64,
    pub optimizer: u64,
    pub activations: u64,
    /// The batch the activations are for.
    pub batch: usize,
}

impl Need {
    /// Training with the plan's optimizer at batch size `batch`.
    pub(crate) fn training(plan: &Plan, batch: usize) -> Need {
        let model = &plan.model;
        let trainable = model.trainable_params() as u64;
        let moments = match plan.train.optimizer.kind {
            Optimizer::Sgd { momentum: 0.0, .. } => 0,
            Optimizer::Sgd { .. } | Optimizer::Adagrad { .. } => 1,
            Optimizer::RmsProp { momentum: 0.0, .. } => 1,
            Optimizer::RmsProp { .. } | Optimizer::Adam { .. } | Optimizer::AdamW { .. } => 2,
        };
        Need {
            weights: model.total_params() as u64 * F32,
            gradients: trainable * F32,
            optimizer: moments * trainable * F32,
            activations: activations(plan, batch),
            batch,
        }
    }

    /// Inference at batch size `batch`: the weights, and one layer's input
    /// and output at a time.
    pub(crate) fn inference(plan: &Plan, batch: usize) -> Need {
        let model = &plan.model;
        let widest = model
            .layers
            .iter()
            .map(|l| l.input.numel() as u64 + l.output.numel() as u64)
            .max()
            .unwrap_or(0);
        Need {
            weights: model.total_params() as u64 * F32,
            gradients: 0,
            optimizer: 0,
            activations: widest.saturating_mul(batch as u64).saturating_mul(F32),
            batch,
        }
    }

    pub(crate) fn total(&self) -> u64 {
        self.weights
            .saturating_add(self.gradients)
            .saturating_add(self.optimizer)
            .saturating_add(self.activations)
    }

    /// Refuses the need when it exceeds `available` bytes.
    pub(crate) fn check_against(&self, available: u64) -> Result<()> {
        if self.total() <= available {
            return Ok(());
        }
        let mut parts = vec![format!("weights {}", size(self.weights))];
        if self.gradients > 0 {
            parts.push(format!("gradients {}", size(self.gradients)));
        }
        if self.optimizer > 0 {
            parts.push(format!("optimizer state {}", size(self.optimizer)));
        }
        parts.push(format!(
            "activations for a batch of {}: {}",
            self.batch,
            size(self.activations)
        ));
        Err(Error::Runtime(format!(
            "the model needs at least {} of memory ({}), but this machine has {} available; \
             use a smaller model or batch",
            size(self.total()),
            parts.join(", "),
            size(available)
        )))
    }

    /// Refuses the need when it exceeds what this machine has available.
    pub(crate) fn check(&self) -> Result<()> {
        match available() {
            Some(bytes) => self.check_against(bytes),
            // Nothing to compare with: let the allocator decide.
            None => Ok(()),
        }
    }
}

/// Every layer's output for `batch` samples, kept for the backward pass,
/// plus the input batch itself.
fn activations(plan: &Plan, batch: usize) -> u64 {
    let per_sample: u64 = plan
        .model
        .layers
        .iter()
        .map(|l| l.output.numel() as u64)
        .fold(plan.model.input.numel() as u64, u64::saturating_add);
    per_sample.saturating_mul(batch as u64).saturating_mul(F32)
}

/// Memory available to this process now: RAM and swap, or the cgroup's
/// limit when that is lower. `None` where the platform does not say.
fn available() -> Option<u64> {
    let sys = System::new_with_specifics(
        RefreshKind::nothing().with_memory(MemoryRefreshKind::everything()),
    )
    .ok()?;
    let machine = sys.available_memory().saturating_add(sys.free_swap());
    if machine == 0 {
        return None;
    }
    Some(match sys.cgroup_limits() {
        Some(c) => machine.min(c.free_memory.saturating_add(c.free_swap)),
        None => machine,
    })
}

/// Bytes in binary units: `372.5 GiB`, `12.0 KiB`, `900 B`.
fn size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn plan(model: &str, optimizer: &str) -> Plan {
        let text = format!(
            "seed 1
data {{
  source blobs samples=30 centers=3 features=2
  split train=0.8 test=0.2
}}
model {{ {model} }}
train {{
  loss cross_entropy
  optimizer {optimizer}
  epochs 1
}}
"
        );
        crate::analyze::analyze_source(&text, Path::new("t.dlp"), &[]).unwrap()
    }

    #[test]
    fn training_need_by_hand() {
        // dense 1000 on 2 features: 2·1000 + 1000 = 3000 parameters; dense
        // 3: 1000·3 + 3 = 3003. 6003 float32 weights = 24,012 bytes; Adam
        // keeps two moments. Activations per sample: input 2, then 1000
        // and 3 outputs = 1005 values; a batch of 10 = 40,200 bytes.
        let p = plan("dense 1000\n dense 3 activation=softmax", "adam");
        let need = Need::training(&p, 10);
        assert_eq!(
            need,
            Need {
                weights: 24_012,
                gradients: 24_012,
                optimizer: 48_024,
                activations: 40_200,
                batch: 10,
            }
        );
        assert_eq!(need.total(), 136_248);
        let sgd = Need::training(&plan("dense 3 activation=softmax", "sgd momentum=0"), 1);
        assert_eq!(sgd.optimizer, 0);
    }

    #[test]
    fn a_need_beyond_the_machine_is_refused_with_its_size() {
        let p = plan("dense 1000\n dense 3 activation=softmax", "adam");
        let need = Need::training(&p, 10);
        assert!(need.check_against(136_248).is_ok());
        let err = need.check_against(100_000).unwrap_err().to_string();
        assert_eq!(
            err,
            "the model needs at least 133.1 KiB of memory (weights 23.4 KiB, gradients 23.4 KiB, \
             optimizer state 46.9 KiB, activations for a batch of 10: 39.3 KiB), but this machine \
             has 97.7 KiB available; use a smaller model or batch"
        );
    }

    #[test]
    fn sizes_in_binary_units() {
        assert_eq!(size(900), "900 B");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(3 << 30), "3.0 GiB");
        assert_eq!(size(u64::MAX), "16.0 EiB");
    }
}
