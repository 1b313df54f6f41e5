//! Linear decay from lr₀ towards `to` over `span` epochs:
//! lr₀ + (to − lr₀)·e/span (PyTorch's `LinearLR` with total_iters = span,
//! the same convention as [`super::cosine`]).

pub(crate) fn lr(base: f64, epoch: usize, span: usize, to: f64) -> f64 {
    let progress = (epoch as f64 / span.max(1) as f64).min(1.0);
    base + (to - base) * progress
}

#[cfg(test)]
mod tests {
    // lr₀ = 0.1 to 0 over 4 epochs: 0.1, 0.075, 0.05, 0.025; past the span it stays at `to`.
    #[test]
    fn steps_evenly() {
        let table = [(0, 0.1), (1, 0.075), (2, 0.05), (3, 0.025), (9, 0.0)];
        for (e, want) in table {
            let got = super::lr(0.1, e, 4, 0.0);
            assert!((got - want).abs() < 1e-12, "epoch {e}: {got}");
        }
    }
}
