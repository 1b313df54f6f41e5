//! Linear warm-up over the first E epochs: epoch e < E gets lr₀·(e+1)/E,
//! from lr₀/E up to lr₀; the schedule proper then starts counting from 0.

/// The warm-up rate of epoch `epoch`, or `None` once warm-up is over.
pub(crate) fn lr(base: f64, epoch: usize, epochs: usize) -> Option<f64> {
    (epoch < epochs).then(|| base * (epoch + 1) as f64 / epochs as f64)
}

#[cfg(test)]
mod tests {
    // E = 4, lr₀ = 0.1: 0.025, 0.05, 0.075, 0.1, then done.
    #[test]
    fn ramps_linearly_then_stops() {
        let want = [Some(0.025), Some(0.05), Some(0.075), Some(0.1), None];
        for (e, w) in want.iter().enumerate() {
            let got = super::lr(0.1, e, 4);
            match (got, w) {
                (Some(g), Some(w)) => assert!((g - w).abs() < 1e-15),
                (None, None) => {}
                _ => panic!("epoch {e}: {got:?} vs {w:?}"),
            }
        }
    }
}
