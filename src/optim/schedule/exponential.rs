//! Exponential decay, smooth per epoch: lr₀·factor^(e / every) (the
//! book's fig. 4.20, "× 0.1 every 8 epochs"; Keras' `ExponentialDecay`
//! without `staircase`).

pub(crate) fn lr(base: f64, epoch: usize, every: usize, factor: f64) -> f64 {
    base * factor.powf(epoch as f64 / every.max(1) as f64)
}

#[cfg(test)]
mod tests {
    // Fig. 4.20: lr₀ = 0.1 × 0.1 every 8 epochs: e = 0 → 0.1, 4 → 0.1·0.1^0.5 = 0.0316228,
    // 8 → 0.01, 12 → 0.00316228, 16 → 0.001, 1 → 0.1·0.1^(1/8) = 0.0749894.
    #[test]
    fn tenth_every_eight_epochs() {
        let table = [
            (0, 0.1),
            (1, 0.074_989_4),
            (4, 0.031_622_8),
            (8, 0.01),
            (12, 0.003_162_28),
            (16, 0.001),
        ];
        for (e, want) in table {
            let got = super::lr(0.1, e, 8, 0.1);
            assert!((got - want).abs() < 1e-5 * want, "epoch {e}: {got}");
        }
    }
}
