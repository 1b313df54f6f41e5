//! The statistics of multi-seed runs: a summary per metric (`summary.csv`)
//! and Welch's t-test between two sets of seeds (`dlp diff`).
//!
//! The t distribution is statrs'. Conventions follow NumPy and SciPy:
//! `sd` is the sample standard deviation (`ddof=1`), the 95 % interval is
//! the t interval of the mean (`scipy.stats.t.interval(0.95, n−1,
//! loc=mean, scale=sd/√n)`), and [`welch`] is
//! `scipy.stats.ttest_ind(a, b, equal_var=False)`, two-sided.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, StudentsT};

/// One metric over the seeds of a run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct Summary {
    pub n: usize,
    pub mean: f64,
    /// Sample standard deviation (n − 1 in the denominator); NaN for n < 2.
    pub sd: f64,
    pub min: f64,
    pub max: f64,
    /// The 95 % confidence interval of the mean (Student's t); NaN for n < 2.
    pub ci_low: f64,
    pub ci_high: f64,
}

impl Summary {
    /// The summary of `xs`. A NaN value makes every figure but `n` NaN:
    /// a seed that produced no number is not silently left out.
    pub(crate) fn of(xs: &[f64]) -> Summary {
        let n = xs.len();
        let nan = f64::NAN;
        if n == 0 || xs.iter().any(|x| x.is_nan()) {
            return Summary {
                n,
                mean: nan,
                sd: nan,
                min: nan,
                max: nan,
                ci_low: nan,
                ci_high: nan,
            };
        }
        let mean = xs.iter().sum::<f64>() / n as f64;
        let (sd, half) = if n >= 2 {
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            let sd = var.sqrt();
            (
                sd,
                t_quantile(0.975, (n - 1) as f64) * sd / (n as f64).sqrt(),
            )
        } else {
            (nan, nan)
        };
        Summary {
            n,
            mean,
            sd,
            min: xs.iter().copied().fold(f64::INFINITY, f64::min),
            max: xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            ci_low: mean - half,
            ci_high: mean + half,
        }
    }
}

impl Summary {
    /// The summary with its interval cut to `[lo, hi]`, the range the
    /// metric can take: the t interval is symmetric and runs past 1 for an
    /// accuracy near 1, where no mean can be (NaN stays NaN).
    pub(crate) fn within(self, lo: f64, hi: f64) -> Summary {
        let cut = |x: f64| if x.is_nan() { x } else { x.clamp(lo, hi) };
        Summary {
            ci_low: cut(self.ci_low),
            ci_high: cut(self.ci_high),
            ..self
        }
    }
}

/// Whether the metric `name` is a fraction in [0, 1]: accuracy (top-k
/// included), precision, recall and F1, with or without `val_`/`test_`.
pub(crate) fn is_fraction(name: &str) -> bool {
    let name = name
        .strip_prefix("val_")
        .or_else(|| name.strip_prefix("test_"))
        .unwrap_or(name);
    ["accuracy", "precision", "recall", "f1", "top_"]
        .iter()
        .any(|p| name.starts_with(p))
}

/// The `p` quantile of Student's t with `df` degrees of freedom.
fn t_quantile(p: f64, df: f64) -> f64 {
    StudentsT::new(0.0, 1.0, df).map_or(f64::NAN, |t| t.inverse_cdf(p))
}

/// Welch's unequal-variances t-test of `a` against `b`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct Welch {
    /// (mean(a) − mean(b)) / √(s²a/na + s²b/nb).
    pub t: f64,
    /// Welch–Satterthwaite degrees of freedom.
    pub df: f64,
    /// Two-sided p-value: the chance of a difference in means at least this
    /// large if both sets of seeds came from one distribution.
    pub p: f64,
}

/// Welch's t-test, two-sided, as `scipy.stats.ttest_ind(a, b,
/// equal_var=False)`. `None` when a side has fewer than 2 values or a NaN.
/// When neither side varies (every seed gave the same value) the means
/// are either equal (p = 1) or certainly different (p = 0); SciPy returns
/// NaN for both.
pub(crate) fn welch(a: &[f64], b: &[f64]) -> Option<Welch> {
    if a.len() < 2 || b.len() < 2 || a.iter().chain(b).any(|x| x.is_nan()) {
        return None;
    }
    let (sa, sb) = (Summary::of(a), Summary::of(b));
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (va, vb) = (sa.sd * sa.sd / na, sb.sd * sb.sd / nb);
    let diff = sa.mean - sb.mean;
    let se2 = va + vb;
    if se2 == 0.0 {
        let same = diff == 0.0;
        return Some(Welch {
            t: if same {
                0.0
            } else {
                diff.signum() * f64::INFINITY
            },
            df: na + nb - 2.0,
            p: if same { 1.0 } else { 0.0 },
        });
    }
    let t = diff / se2.sqrt();
    let df = se2 * se2 / (va * va / (na - 1.0) + vb * vb / (nb - 1.0));
    let p = StudentsT::new(0.0, 1.0, df).map_or(f64::NAN, |d| 2.0 * d.sf(t.abs()));
    Some(Welch {
        t,
        df,
        p: p.min(1.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64, rel: f64) {
        assert!(
            (got - want).abs() <= rel * want.abs().max(1e-300),
            "{got} vs {want}"
        );
    }

    // Made-up test accuracies of five seeds per side; SciPy 1.17.1:
    //
    //     import numpy as np
    //     from scipy import stats
    //     a = [0.84, 0.835, 0.845, 0.82, 0.83]
    //     b = [0.8, 0.815, 0.79, 0.805, 0.81]
    //     c = [0.84, 0.82, 0.85, 0.81, 0.845, 0.83, 0.825]
    //     for x, y in [(a, b), (a, c), (b, c)]:
    //         r = stats.ttest_ind(x, y, equal_var=False)
    //         print(repr(r.statistic), repr(r.pvalue), repr(r.df))
    //     for x in [a, c]:
    //         m, s = np.mean(x), np.std(x, ddof=1)
    //         print(repr(m), repr(s), stats.t.interval(0.95, len(x) - 1,
    //               loc=m, scale=s / np.sqrt(len(x))))
    #[test]
    fn welch_matches_scipy() {
        let a = [0.84, 0.835, 0.845, 0.82, 0.83];
        let b = [0.8, 0.815, 0.79, 0.805, 0.81];
        let c = [0.84, 0.82, 0.85, 0.81, 0.845, 0.83, 0.825];
        // (old, new, t, p, df)
        type Case<'a> = (&'a [f64], &'a [f64], f64, f64, f64);
        let cases: [Case; 3] = [
            (
                &a,
                &b,
                4.93196961916069,
                0.0011465920428410529,
                7.999999999999999,
            ),
            (
                &a,
                &c,
                0.3714565713309646,
                0.7180529421539324,
                9.991893316168635,
            ),
            (
                &b,
                &c,
                -3.9622034275306626,
                0.0026811270686265304,
                9.991893316168634,
            ),
        ];
        for (x, y, t, p, df) in cases {
            let w = welch(x, y).unwrap();
            close(w.t, t, 1e-12);
            close(w.df, df, 1e-12);
            close(w.p, p, 1e-9);
        }
        // Fewer than two seeds, or a NaN: no test.
        assert_eq!(welch(&[0.8], &b), None);
        assert_eq!(welch(&a, &[0.8, f64::NAN]), None);
        // No spread on either side.
        assert_eq!(welch(&[0.8, 0.8], &[0.8, 0.8]).unwrap().p, 1.0);
        assert_eq!(welch(&[0.8, 0.8], &[0.7, 0.7]).unwrap().p, 0.0);
    }

    #[test]
    fn summary_matches_numpy_and_scipy() {
        let a = Summary::of(&[0.84, 0.835, 0.845, 0.82, 0.83]);
        assert_eq!((a.n, a.min, a.max), (5, 0.82, 0.845));
        close(a.mean, 0.8339999999999999, 1e-15);
        close(a.sd, 0.00961769203083568, 1e-12);
        close(a.ci_low, 0.8220580580594999, 1e-12);
        close(a.ci_high, 0.8459419419404998, 1e-12);
        let c = Summary::of(&[0.84, 0.82, 0.85, 0.81, 0.845, 0.83, 0.825]);
        close(c.mean, 0.8314285714285715, 1e-15);
        close(c.sd, 0.01435104111039964, 1e-12);
        close(c.ci_low, 0.8181560720736809, 1e-12);
        close(c.ci_high, 0.8447010707834621, 1e-12);
        let one = Summary::of(&[0.5]);
        assert_eq!((one.mean, one.min, one.max), (0.5, 0.5, 0.5));
        assert!(one.sd.is_nan() && one.ci_low.is_nan());
        // An accuracy near 1: mean 0.99, sd 0.01, t(0.975, 4) = 2.776445,
        // so the t interval is 0.99 ± 0.0124169 = (0.977583, 1.002417);
        // the mean of values in [0, 1] cannot pass 1.
        let high = Summary::of(&[0.98, 1.0, 0.99, 1.0, 0.98]).within(0.0, 1.0);
        close(high.ci_low, 0.977583, 1e-6);
        assert_eq!(high.ci_high, 1.0);
        assert!(one.within(0.0, 1.0).ci_low.is_nan());
        assert!(is_fraction("test_accuracy") && is_fraction("val_f1_macro"));
        assert!(is_fraction("test_top_5_accuracy") && !is_fraction("val_loss"));
        assert!(Summary::of(&[0.5, f64::NAN]).mean.is_nan());
    }
}
