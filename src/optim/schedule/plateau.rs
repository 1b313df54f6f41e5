//! Keras' `ReduceLROnPlateau` with cooldown 0: after `patience` epochs
//! without an improvement of more than `min_delta` (absolute) in the
//! monitored metric, lr ← max(lr·factor, min_lr) and the wait restarts.
//!
//! Keras' bookkeeping, kept exactly: `best` starts at ±∞; an epoch
//! improves when current < best − min_delta (mode min) or current >
//! best + min_delta (mode max); otherwise `wait` grows, and reaching
//! `patience` reduces the rate only while lr > min_lr (the wait is reset only
//! when it does). A missing metric leaves everything unchanged (Keras warns).

use crate::plan::Mode;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plateau {
    pub mode: Mode,
    pub factor: f64,
    pub patience: usize,
    pub min_delta: f64,
    pub min_lr: f64,
    /// The current learning rate.
    pub lr: f64,
    pub best: f64,
    pub wait: usize,
}

impl Plateau {
    pub(crate) fn new(
        base: f64,
        mode: Mode,
        factor: f64,
        patience: usize,
        min_delta: f64,
        min_lr: f64,
    ) -> Self {
        Plateau {
            mode,
            factor,
            patience,
            min_delta,
            min_lr,
            lr: base,
            best: match mode {
                Mode::Min => f64::INFINITY,
                Mode::Max => f64::NEG_INFINITY,
            },
            wait: 0,
        }
    }

    fn improves(&self, current: f64) -> bool {
        match self.mode {
            Mode::Min => current < self.best - self.min_delta,
            Mode::Max => current > self.best + self.min_delta,
        }
    }

    /// Keras' `on_epoch_end` with the monitored value.
    pub(crate) fn observe(&mut self, current: f64) {
        if self.improves(current) {
            self.best = current;
            self.wait = 0;
            return;
        }
        self.wait += 1;
        if self.wait >= self.patience && self.lr > self.min_lr {
            self.lr = (self.lr * self.factor).max(self.min_lr);
            self.wait = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Keras ReduceLROnPlateau(factor=0.5, patience=2, min_delta=0.01, min_lr=0.02), lr 0.1,
    // val_loss per epoch and the lr in force for the next epoch, traced by hand:
    //  e0 1.00 best 1.00 wait 0 → 0.1
    //  e1 0.995 (not < 0.99) wait 1 → 0.1
    //  e2 0.98 (< 0.99) best 0.98 wait 0 → 0.1
    //  e3 0.975 wait 1 → 0.1
    //  e4 0.98 wait 2 → reduce: 0.05, wait 0
    //  e5 0.979 wait 1 → 0.05
    //  e6 0.979 wait 2 → 0.025, wait 0
    //  e7 0.979 wait 1; e8 wait 2 → max(0.0125, 0.02) = 0.02
    //  e9 wait 1; e10 wait 2, lr = min_lr: unchanged, wait stays 2 → 0.02
    #[test]
    fn matches_keras_bookkeeping() {
        let mut p = Plateau::new(0.1, Mode::Min, 0.5, 2, 0.01, 0.02);
        let table = [
            (1.0, 0.1, 0),
            (0.995, 0.1, 1),
            (0.98, 0.1, 0),
            (0.975, 0.1, 1),
            (0.98, 0.05, 0),
            (0.979, 0.05, 1),
            (0.979, 0.025, 0),
            (0.979, 0.025, 1),
            (0.979, 0.02, 0),
            (0.979, 0.02, 1),
            (0.979, 0.02, 2),
        ];
        for (e, (v, lr, wait)) in table.iter().enumerate() {
            p.observe(*v);
            assert!((p.lr - lr).abs() < 1e-15, "epoch {e}: lr {}", p.lr);
            assert_eq!(p.wait, *wait, "epoch {e}");
        }
    }

    #[test]
    fn max_mode_improves_upwards() {
        let mut p = Plateau::new(1.0, Mode::Max, 0.1, 1, 0.0, 0.0);
        p.observe(0.5);
        p.observe(0.6);
        assert_eq!(p.lr, 1.0);
        p.observe(0.6);
        assert!((p.lr - 0.1).abs() < 1e-15);
    }
}
