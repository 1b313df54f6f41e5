//! Step decay: lr₀·factor^⌊e / every⌋ for 0-based epoch e (the book's
//! fig. 4.19, "halve every 5 epochs").

pub(crate) fn lr(base: f64, epoch: usize, every: usize, factor: f64) -> f64 {
    base * factor.powi((epoch / every.max(1)) as i32)
}

#[cfg(test)]
mod tests {
    // Fig. 4.19: lr₀ = 0.1 halved every 5 epochs: epochs 0–4 → 0.1, 5–9 → 0.05,
    // 10–14 → 0.025, 15–19 → 0.0125.
    #[test]
    fn halves_every_five_epochs() {
        let want = [0.1, 0.05, 0.025, 0.0125];
        for e in 0..20 {
            let got = super::lr(0.1, e, 5, 0.5);
            assert!((got - want[e / 5]).abs() < 1e-15, "epoch {e}: {got}");
        }
    }
}
