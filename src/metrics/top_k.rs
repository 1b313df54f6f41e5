//! Top-k accuracy: a sample counts when its true class is among the k
//! highest scores. Ties are counted in the sample's favour, as TensorFlow's
//! `in_top_k` does: the true class is in the top k when fewer than k
//! classes score strictly higher.

/// `probs` is `(N, classes)` row-major; `truth` holds N class ids.
/// Returns 0 for an empty batch.
pub(crate) fn top_k_accuracy(probs: &[f32], classes: usize, truth: &[u32], k: usize) -> f64 {
    if truth.is_empty() || classes == 0 {
        return 0.0;
    }
    let hits = probs
        .chunks(classes)
        .zip(truth)
        .filter(|(row, t)| {
            let score = row.get(**t as usize).copied().unwrap_or(f32::NEG_INFINITY);
            row.iter().filter(|&&p| p > score).count() < k
        })
        .count();
    hits as f64 / truth.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    // Hand values: sample 0 true class 2 is the top score (rank 1); sample 1 true class 0
    // is second; sample 2 true class 1 is last of 3. k = 1 → 1/3, k = 2 → 2/3, k = 3 → 1.
    #[test]
    fn ranks_by_score() {
        let probs = [0.1, 0.2, 0.7, 0.3, 0.6, 0.1, 0.5, 0.1, 0.4];
        let truth = [2, 0, 1];
        let table = [(1, 1.0 / 3.0), (2, 2.0 / 3.0), (3, 1.0)];
        for (k, want) in table {
            assert!(
                (top_k_accuracy(&probs, 3, &truth, k) - want).abs() < 1e-12,
                "k={k}"
            );
        }
    }

    #[test]
    fn ties_count_in_favour() {
        assert_eq!(top_k_accuracy(&[0.5, 0.5, 0.0], 3, &[1], 1), 1.0);
    }
}
