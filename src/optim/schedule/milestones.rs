//! Step decay at given epochs: lr₀·factor^(number of milestones ≤ e) for
//! the 0-based epoch e, PyTorch's `MultiStepLR(milestones, gamma)`. He et
//! al. (2016, §4.2) train ResNets on CIFAR-10 at 0.1, divided by 10 at 32k
//! and 48k iterations: at batch 128 over 45k images (352 steps an epoch),
//! `schedule milestones at=[91, 137] factor=0.1` with `epochs 182`.

pub(crate) fn lr(base: f64, epoch: usize, at: &[usize], factor: f64) -> f64 {
    let passed = at.iter().filter(|&&m| m <= epoch).count();
    base * factor.powi(passed as i32)
}

#[cfg(test)]
mod tests {
    // PyTorch 2.15, `MultiStepLR(SGD([w], lr=0.1), milestones=[3, 5], gamma=0.1)`,
    // `get_last_lr()` before each of 7 epochs (step() after each):
    // [0.1, 0.1, 0.1, 0.01, 0.01, 0.001, 0.001] (to float rounding).
    #[test]
    fn divides_at_each_milestone() {
        let want = [0.1, 0.1, 0.1, 0.01, 0.01, 0.001, 0.001];
        for (e, w) in want.iter().enumerate() {
            let got = super::lr(0.1, e, &[3, 5], 0.1);
            assert!((got - w).abs() < 1e-12, "epoch {e}: {got}");
        }
    }
}
