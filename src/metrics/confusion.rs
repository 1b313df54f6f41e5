//! The confusion matrix: `count(t, p)` samples of true class `t` predicted
//! as `p` (rows = true class, columns = predicted, as scikit-learn).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confusion {
    classes: usize,
    /// Row-major, `classes × classes`.
    counts: Vec<u64>,
}

impl Confusion {
    pub(crate) fn new(classes: usize) -> Self {
        Confusion {
            classes,
            counts: vec![0; classes * classes],
        }
    }

    /// Counts pairs of `truth[i]`, `pred[i]` (the shorter length wins).
    pub fn from_predictions(classes: usize, truth: &[u32], pred: &[u32]) -> Self {
        let mut c = Confusion::new(classes);
        for (&t, &p) in truth.iter().zip(pred) {
            c.add(t, p);
        }
        c
    }

    /// Counts one sample. Class ids are checked by the data stage; an id
    /// out of range here is a bug, reported rather than miscounted.
    pub(crate) fn add(&mut self, t: u32, p: u32) {
        let (t, p) = (t as usize, p as usize);
        assert!(
            t < self.classes && p < self.classes,
            "class id out of range: true {t}, predicted {p}, {} classes",
            self.classes
        );
        self.counts[t * self.classes + p] += 1;
    }

    pub(crate) fn classes(&self) -> usize {
        self.classes
    }

    pub(crate) fn count(&self, t: usize, p: usize) -> u64 {
        self.counts[t * self.classes + p]
    }

    /// The matrix as rows (true classes).
    pub(crate) fn rows(&self) -> Vec<Vec<u64>> {
        self.counts
            .chunks(self.classes.max(1))
            .map(|r| r.to_vec())
            .collect()
    }

    pub(crate) fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Samples of true class `c` (scikit-learn's support).
    pub(crate) fn support(&self, c: usize) -> u64 {
        (0..self.classes).map(|p| self.count(c, p)).sum()
    }

    /// Samples predicted as class `c`.
    pub(crate) fn predicted(&self, c: usize) -> u64 {
        (0..self.classes).map(|t| self.count(t, c)).sum()
    }

    pub(crate) fn correct(&self) -> u64 {
        (0..self.classes).map(|c| self.count(c, c)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_truth_columns_are_predictions() {
        let c = Confusion::from_predictions(3, &[0, 0, 1, 2, 2, 2], &[0, 1, 1, 2, 0, 2]);
        assert_eq!(c.rows(), vec![vec![1, 1, 0], vec![0, 1, 0], vec![1, 0, 2]]);
        assert_eq!(c.count(2, 0), 1);
        assert_eq!(
            (c.support(2), c.predicted(0), c.correct(), c.total()),
            (3, 2, 4, 6)
        );
    }
}
