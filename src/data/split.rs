//! Train/validation/test splits: counts or fractions, an official test
//! part, stratification and a seeded shuffle.

use crate::diagnostics::{Kind, Report};
use crate::error::{Error, Result};
use crate::plan::{Loc, SplitPlan, SplitSize, TestSplit};
use crate::rng;
use rand::seq::SliceRandom;
use std::path::Path;

/// Rows of each part. `test_official` means `test` indexes the source's
/// official test part, else the training part like the others.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Assignment {
    pub train: Vec<usize>,
    pub valid: Option<Vec<usize>>,
    pub test: Option<Vec<usize>>,
    pub test_official: bool,
}

fn resolve(size: SplitSize, pool: usize) -> usize {
    match size {
        SplitSize::Count(n) => n,
        SplitSize::Fraction(f) => (f * pool as f64).round() as usize,
    }
}

/// An error at the split statement (its location kept in the plan),
/// rendered as the analyzer's own: one renderer, [`Report`].
pub(crate) fn at_loc(path: &Path, loc: Loc, msg: &str) -> Error {
    Error::Invalid(Box::new(Report::at_loc(
        path,
        loc,
        Kind::Data,
        msg.to_string(),
    )))
}

/// Orders `rows` so that every run of consecutive rows keeps the class
/// proportions (within one sample per class): row j of class k sorts at
/// (j + ½)/count_k. Within a class the given order is kept.
fn stratified_order(rows: &[usize], labels: &[u32]) -> Vec<usize> {
    let classes = labels.iter().map(|&l| l as usize + 1).max().unwrap_or(0);
    let mut count = vec![0usize; classes];
    for &r in rows {
        count[labels[r] as usize] += 1;
    }
    let mut seen = vec![0usize; classes];
    let mut keyed: Vec<(f64, u32, usize)> = rows
        .iter()
        .map(|&r| {
            let k = labels[r] as usize;
            let j = seen[k];
            seen[k] += 1;
            ((j as f64 + 0.5) / count[k] as f64, labels[r], r)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    keyed.into_iter().map(|(_, _, r)| r).collect()
}

/// Splits the training part (`labels`, one per row). `official_test` is
/// whether the source has an official test part; `name` names the source
/// in errors; `file` is the pipeline (for the error's location).
pub(crate) fn assign(
    plan: &SplitPlan,
    labels: &[u32],
    official_test: bool,
    name: &str,
    file: &Path,
) -> Result<Assignment> {
    let pool = labels.len();
    let official = matches!(plan.test, TestSplit::Official);
    if official && !official_test {
        return Err(at_loc(
            file,
            plan.loc,
            &format!("test=official, but {name} has no official test part"),
        ));
    }
    let train = resolve(plan.train, pool);
    let valid = if plan.validate_on_test {
        None
    } else {
        plan.valid.map(|v| resolve(v, pool))
    };
    let test = match plan.test {
        TestSplit::Size(s) => Some(resolve(s, pool)),
        _ => None,
    };
    let (mut t, v, s) = (train, valid.unwrap_or(0), test.unwrap_or(0));
    // Fractions that sum to at most 1 may round past the pool: trim train.
    let fractions_only = [
        Some(plan.train),
        plan.valid,
        match plan.test {
            TestSplit::Size(s) => Some(s),
            _ => None,
        },
    ]
    .iter()
    .flatten()
    .all(|s| matches!(s, SplitSize::Fraction(_)));
    if fractions_only && t + v + s > pool && t + v + s <= pool + 2 {
        t = pool.saturating_sub(v + s);
    }
    if t + v + s > pool {
        let msg = if official {
            match valid {
                Some(v) => format!(
                    "split asks for {t} + {v} = {} training samples but {name}'s training part has {pool}",
                    t + v
                ),
                None => format!(
                    "split asks for {t} training samples but {name}'s training part has {pool}"
                ),
            }
        } else {
            let mut terms = vec![format!("{t} train")];
            if let Some(v) = valid {
                terms.push(format!("{v} valid"));
            }
            if let Some(s) = test {
                terms.push(format!("{s} test"));
            }
            format!(
                "split asks for {} = {} samples but {name} has {pool}",
                terms.join(" + "),
                t + v + s
            )
        };
        return Err(at_loc(file, plan.loc, &msg));
    }
    if t == 0 {
        return Err(at_loc(file, plan.loc, "split leaves no training samples"));
    }
    let mut rows: Vec<usize> = (0..pool).collect();
    let mut g = rng::generator(plan.seed);
    if plan.shuffle {
        rows.shuffle(&mut g);
    }
    if plan.stratify {
        rows = stratified_order(&rows, labels);
    }
    let mut take = |n: usize, from: &mut std::vec::IntoIter<usize>| -> Vec<usize> {
        let mut part: Vec<usize> = from.by_ref().take(n).collect();
        if plan.stratify && plan.shuffle {
            part.shuffle(&mut g);
        }
        part
    };
    let mut it = rows.into_iter();
    let train_rows = take(t, &mut it);
    let valid_rows = valid.map(|v| take(v, &mut it));
    let test_rows = test.map(|s| take(s, &mut it));
    Ok(Assignment {
        train: train_rows,
        valid: valid_rows,
        test: test_rows,
        test_official: official,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_resolve_against_the_pool() {
        let rows: [(SplitSize, usize, usize); 5] = [
            (SplitSize::Count(45_000), 50_000, 45_000),
            (SplitSize::Fraction(0.7), 1000, 700),
            (SplitSize::Fraction(0.15), 1000, 150),
            (SplitSize::Fraction(0.5), 3, 2),
            (SplitSize::Fraction(0.01), 1_000_000, 10_000),
        ];
        for (size, pool, want) in rows {
            assert_eq!(resolve(size, pool), want, "{size:?} of {pool}");
        }
    }

    #[test]
    fn stratified_order_interleaves_by_class_rank() {
        // Class 0 rows 0..4, class 1 rows 4,5: keys 1/8,3/8,5/8,7/8 and 1/4,3/4.
        let labels = [0, 0, 0, 0, 1, 1];
        let rows: Vec<usize> = (0..6).collect();
        assert_eq!(stratified_order(&rows, &labels), [0, 4, 1, 2, 5, 3]);
    }

    #[test]
    fn rounding_past_the_pool_trims_train() {
        let plan = SplitPlan {
            train: SplitSize::Fraction(0.5),
            valid: None,
            test: TestSplit::Size(SplitSize::Fraction(0.5)),
            stratify: false,
            shuffle: false,
            validate_on_test: false,
            seed: 0,
            loc: Loc::default(),
        };
        let a = assign(&plan, &[0, 0, 0], false, "x", Path::new("none.dlp")).unwrap();
        assert_eq!((a.train, a.test), (vec![0], Some(vec![1, 2])));
    }
}
