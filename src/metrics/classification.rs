//! Accuracy, precision, recall, F1 and their averages from a
//! [`Confusion`] matrix, with scikit-learn's conventions:
//!
//! - a ratio with a zero denominator is 0 (`zero_division="warn"` → 0);
//! - F1 = 2·TP/(2·TP + FP + FN), which equals 2pr/(p + r) and is 0 when
//!   TP = 0;
//! - macro averages run over the classes that occur in the truth or the
//!   predictions (scikit-learn's `unique_labels`), weighted averages weight
//!   each class by its support.

use super::Confusion;

fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// One class's row of a classification report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassFigures {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: u64,
}

impl Confusion {
    /// Precision, recall, F1 and support of class `c`.
    #[cfg(test)]
    pub(crate) fn class_figures(&self, c: usize) -> ClassFigures {
        ClassFigures {
            precision: self.precision(c),
            recall: self.recall(c),
            f1: self.f1(c),
            support: self.support(c),
        }
    }

    /// For a binary task, the positive class's (class 1) figures, as
    /// scikit-learn's `average="binary"`; `None` with more than two classes.
    #[cfg(test)]
    pub(crate) fn binary_positive(&self) -> Option<ClassFigures> {
        (self.classes() == 2).then(|| self.class_figures(1))
    }

    /// Correct / total (0 for an empty matrix).
    pub fn accuracy(&self) -> f64 {
        ratio(self.correct(), self.total())
    }

    /// TP / (TP + FP) for class `c`.
    pub(crate) fn precision(&self, c: usize) -> f64 {
        ratio(self.count(c, c), self.predicted(c))
    }

    /// TP / (TP + FN) for class `c`.
    pub(crate) fn recall(&self, c: usize) -> f64 {
        ratio(self.count(c, c), self.support(c))
    }

    /// 2·TP / (2·TP + FP + FN) for class `c`.
    pub(crate) fn f1(&self, c: usize) -> f64 {
        let tp = self.count(c, c);
        ratio(2 * tp, self.support(c) + self.predicted(c))
    }

    /// Classes that occur among the true or predicted labels.
    fn present(&self) -> Vec<usize> {
        (0..self.classes())
            .filter(|&c| self.support(c) + self.predicted(c) > 0)
            .collect()
    }

    fn macro_of(&self, f: impl Fn(&Self, usize) -> f64) -> f64 {
        let present = self.present();
        if present.is_empty() {
            return 0.0;
        }
        present.iter().map(|&c| f(self, c)).sum::<f64>() / present.len() as f64
    }

    fn weighted_of(&self, f: impl Fn(&Self, usize) -> f64) -> f64 {
        let total = self.total();
        if total == 0 {
            return 0.0;
        }
        (0..self.classes())
            .map(|c| self.support(c) as f64 * f(self, c))
            .sum::<f64>()
            / total as f64
    }

    pub(crate) fn macro_precision(&self) -> f64 {
        self.macro_of(Self::precision)
    }
    pub(crate) fn macro_recall(&self) -> f64 {
        self.macro_of(Self::recall)
    }
    pub(crate) fn macro_f1(&self) -> f64 {
        self.macro_of(Self::f1)
    }
    pub(crate) fn weighted_precision(&self) -> f64 {
        self.weighted_of(Self::precision)
    }
    pub(crate) fn weighted_recall(&self) -> f64 {
        self.weighted_of(Self::recall)
    }
    pub(crate) fn weighted_f1(&self) -> f64 {
        self.weighted_of(Self::f1)
    }
}

/// Predicted class ids from probabilities laid out `(N, units)` row-major:
/// the arg-max (first one on ties), or for a single sigmoid unit
/// `p > 0.5 → 1` (Keras' binary accuracy: exactly 0.5 is class 0).
pub fn predicted_classes(probs: &[f32], units: usize) -> Vec<u32> {
    if units == 1 {
        return probs.iter().map(|&p| u32::from(p > 0.5)).collect();
    }
    probs
        .chunks(units.max(1))
        .map(|row| {
            let mut best = 0;
            for (i, &p) in row.iter().enumerate() {
                if p > row[best] {
                    best = i;
                }
            }
            best as u32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() < tol, "{a} vs {b}");
    }

    /// The chapter's binary example (class 1 = sick): TP 100, FN 30, FP 70, TN 800.
    fn chapter_example() -> Confusion {
        let mut truth = Vec::new();
        let mut pred = Vec::new();
        for (t, p, n) in [(1, 1, 100), (1, 0, 30), (0, 1, 70), (0, 0, 800)] {
            truth.extend(std::iter::repeat_n(t, n));
            pred.extend(std::iter::repeat_n(p, n));
        }
        Confusion::from_predictions(2, &truth, &pred)
    }

    // Book 4.1: accuracy 0.900, precision 100/170 = 0.5882, recall 100/130 = 0.7692,
    // F1 0.6667.
    #[test]
    fn chapter_confusion_example() {
        let c = chapter_example();
        close(c.accuracy(), 0.900, 1e-12);
        close(c.precision(1), 0.5882, 5e-5);
        close(c.recall(1), 0.7692, 5e-5);
        close(c.f1(1), 0.6667, 5e-5);
        assert_eq!(c.support(1), 130);
        assert_eq!(c.binary_positive(), Some(c.class_figures(1)));
        assert_eq!(Confusion::new(3).binary_positive(), None);
    }

    // Book 4.1: "always negative" on one sick patient in a million: accuracy 99.9999 %,
    // recall 0, precision 0 by scikit-learn's zero_division default.
    #[test]
    fn always_negative_has_zero_recall() {
        let mut c = Confusion::new(2);
        for _ in 0..999_999 {
            c.add(0, 0);
        }
        c.add(1, 0);
        close(c.accuracy(), 0.999_999, 1e-12);
        assert_eq!(c.recall(1), 0.0);
        assert_eq!(c.precision(1), 0.0);
        assert_eq!(c.f1(1), 0.0);
    }

    // Three classes, checked against scikit-learn's classification_report:
    // y_true = [0,0,0,1,1,2], y_pred = [0,0,1,1,2,2]
    //   class 0: p 2/2 = 1, r 2/3, f1 0.8, support 3
    //   class 1: p 1/2, r 1/2, f1 0.5, support 2
    //   class 2: p 1/2, r 1/1, f1 2/3, support 1
    //   macro p 2/3, r 0.722222, f1 0.655556
    //   weighted p (3 + 1 + 0.5)/6 = 0.75, r (2 + 1 + 1)/6 = 0.666667,
    //   f1 (2.4 + 1 + 0.666667)/6 = 0.677778
    #[test]
    fn per_class_and_averages_match_scikit_learn() {
        let c = Confusion::from_predictions(3, &[0, 0, 0, 1, 1, 2], &[0, 0, 1, 1, 2, 2]);
        let table = [
            (0, 1.0, 2.0 / 3.0, 0.8),
            (1, 0.5, 0.5, 0.5),
            (2, 0.5, 1.0, 2.0 / 3.0),
        ];
        for (k, p, r, f) in table {
            close(c.precision(k), p, 1e-12);
            close(c.recall(k), r, 1e-12);
            close(c.f1(k), f, 1e-12);
        }
        close(c.macro_precision(), 2.0 / 3.0, 1e-12);
        close(c.macro_recall(), 0.722_222, 1e-6);
        close(c.macro_f1(), 0.655_556, 1e-6);
        close(c.weighted_precision(), 0.75, 1e-12);
        close(c.weighted_recall(), 0.666_667, 1e-6);
        close(c.weighted_f1(), 0.677_778, 1e-6);
    }

    // scikit-learn leaves a class that is neither true nor predicted out of the macro
    // average: 4 declared classes, class 3 absent → the macro equals the 3-class one.
    #[test]
    fn absent_classes_do_not_dilute_the_macro_average() {
        let c = Confusion::from_predictions(4, &[0, 0, 0, 1, 1, 2], &[0, 0, 1, 1, 2, 2]);
        close(c.macro_f1(), 0.655_556, 1e-6);
    }

    // The book's F-score table: classifier A p = .95, r = .90 → F = .924; B p = .98,
    // r = .85 → F = .910. Each is built as counts (TP, FP, FN, TN) with those
    // precisions and recalls, and the code is checked against scikit-learn 1.9.1:
    //
    //   from sklearn.metrics import precision_recall_fscore_support, f1_score
    //   def make(tp, fp, fn, tn):
    //       return ([1]*tp + [0]*fp + [1]*fn + [0]*tn, [1]*tp + [1]*fp + [0]*fn + [0]*tn)
    //   for tp, fp, fn, tn in [(171, 9, 19, 801), (833, 17, 147, 1003)]:
    //       t, p = make(tp, fp, fn, tn)
    //       print(precision_recall_fscore_support(t, p, average="binary")[:3],
    //             f1_score(t, p, average="macro"), f1_score(t, p, average="weighted"))
    //
    //   A: 0.95 0.9 0.9243243243243243   macro 0.9535732051069474 weighted 0.9717075111921738
    //   B: 0.98 0.85 0.9103825136612022  macro 0.9174032383974213 weighted 0.9175436528921457
    #[test]
    fn f_score_table() {
        let table = [
            (
                (171, 9, 19, 801),
                [0.95, 0.9, 0.924_324_324_324_324_3],
                0.924,
                [0.953_573_205_106_947_4, 0.971_707_511_192_173_8],
            ),
            (
                (833, 17, 147, 1003),
                [0.98, 0.85, 0.910_382_513_661_202_2],
                0.910,
                [0.917_403_238_397_421_3, 0.917_543_652_892_145_7],
            ),
        ];
        for ((tp, fp, false_neg, tn), [p, r, f], book, [macro_f1, weighted_f1]) in table {
            let mut c = Confusion::new(2);
            for (t, pred, n) in [(1, 1, tp), (0, 1, fp), (1, 0, false_neg), (0, 0, tn)] {
                for _ in 0..n {
                    c.add(t, pred);
                }
            }
            close(c.precision(1), p, 1e-12);
            close(c.recall(1), r, 1e-12);
            close(c.f1(1), f, 1e-12);
            close(c.f1(1), book, 5e-4);
            close(c.macro_f1(), macro_f1, 1e-12);
            close(c.weighted_f1(), weighted_f1, 1e-12);
            let pos = c.binary_positive().map(|b| (b.precision, b.recall, b.f1));
            assert_eq!(pos, Some((c.precision(1), c.recall(1), c.f1(1))));
        }
    }

    #[test]
    fn predicted_classes_argmax_and_threshold() {
        assert_eq!(
            predicted_classes(&[0.1, 0.7, 0.2, 0.5, 0.5, 0.0], 3),
            vec![1, 0]
        );
        // Keras: `y_pred > 0.5`, so 0.5 itself is class 0.
        assert_eq!(
            predicted_classes(&[0.49, 0.5, 0.51, 0.9], 1),
            vec![0, 0, 1, 1]
        );
    }
}
