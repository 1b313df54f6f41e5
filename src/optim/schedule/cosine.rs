//! Cosine annealing from lr₀ to `min` over `span` epochs:
//! min + (lr₀ − min)·(1 + cos(π·e/span))/2, PyTorch's `CosineAnnealingLR`
//! with T_max = span (the last epoch, e = span − 1, is just above `min`;
//! `min` would be reached one epoch later).

pub(crate) fn lr(base: f64, epoch: usize, span: usize, min: f64) -> f64 {
    let span = span.max(1) as f64;
    let progress = (epoch as f64 / span).min(1.0);
    min + (base - min) * (1.0 + (std::f64::consts::PI * progress).cos()) / 2.0
}

#[cfg(test)]
mod tests {
    // lr₀ = 1, min = 0, span 4: e = 0 → 1, 1 → (1 + cos π/4)/2 = 0.853553,
    // 2 → 0.5, 3 → 0.146447; min = 0.1: e = 2 → 0.1 + 0.9·0.5 = 0.55.
    #[test]
    fn follows_half_a_cosine() {
        let table = [
            (0, 0.0, 1.0),
            (1, 0.0, 0.853_553),
            (2, 0.0, 0.5),
            (3, 0.0, 0.146_447),
            (2, 0.1, 0.55),
        ];
        for (e, min, want) in table {
            let got = super::lr(1.0, e, 4, min);
            assert!((got - want).abs() < 1e-6, "epoch {e}: {got}");
        }
    }
}
