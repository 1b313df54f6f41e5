//! The trials of a sweep: which values each one runs with, and its seed.

use crate::error::{Error, Result};
use crate::plan::{SweepKind, SweepPlan, SweepValues, Value};
use crate::rng::{self, Stream};
use rand::RngExt;

/// One trial: the value of every axis, in the sweep's order.
pub(crate) type Trial = Vec<(String, Value)>;

/// The trials of a sweep: the cartesian product of the lists for `grid`
/// (last axis fastest), seeded draws for `random`.
pub fn trials(sweep: &SweepPlan) -> Result<Vec<Trial>> {
    match &sweep.kind {
        SweepKind::Grid => {
            let mut out: Vec<Trial> = vec![Vec::new()];
            for axis in &sweep.axes {
                let SweepValues::List(values) = &axis.values else {
                    return Err(Error::Usage(format!(
                        "sweep grid: {} must be a list (uniform/loguniform need `sweep random`)",
                        axis.target
                    )));
                };
                out = out
                    .into_iter()
                    .flat_map(|t| {
                        values.iter().map(move |v| {
                            let mut t = t.clone();
                            t.push((axis.target.clone(), v.clone()));
                            t
                        })
                    })
                    .collect();
            }
            Ok(out)
        }
        SweepKind::Random { trials, seed } => {
            let mut g = rng::generator(rng::stream_seed(*seed, Stream::Sweep));
            Ok((0..*trials)
                .map(|_| {
                    sweep
                        .axes
                        .iter()
                        .map(|axis| {
                            let v = match &axis.values {
                                SweepValues::List(values) => {
                                    values[g.random_range(0..values.len())].clone()
                                }
                                SweepValues::Uniform { low, high } => {
                                    Value::Float(low + (high - low) * g.random::<f64>())
                                }
                                SweepValues::LogUniform { low, high } => Value::Float(
                                    (low.ln() + (high.ln() - low.ln()) * g.random::<f64>()).exp(),
                                ),
                            };
                            (axis.target.clone(), v)
                        })
                        .collect()
                })
                .collect())
        }
    }
}

/// The pipeline seed of random trial `index` (0-based): derived from the
/// sweep's seed (`sweep random seed=`, else the pipeline seed's sweep
/// stream), and below 2⁶³ like every seed the language reads, since it
/// reaches the trial as the override `seed=…`.
pub fn trial_seed(sweep_seed: u64, index: usize) -> u64 {
    rng::derive(sweep_seed, &[TRIAL_SEEDS, index as u64]) >> 1
}

/// The path element that separates trial seeds from the draws of the
/// trials' values (which use `stream_seed(seed, Stream::Sweep)`).
const TRIAL_SEEDS: u64 = 1;

/// A value as `--set` reads it.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => format!("{f:?}"),
        Value::Str(s) => s.clone(),
        Value::List(items) => format!(
            "[{}]",
            items.iter().map(value_text).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// The folder name of trial `index` (0-based) of `count`: `trial-001`, …
/// (more digits from 1,000 trials on).
pub(crate) fn trial_name(index: usize, count: usize) -> String {
    let width = count.to_string().len().max(3);
    format!("trial-{:0width$}", index + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze;
    use crate::plan::{Loc, Mode, SweepAxis};
    use std::collections::BTreeSet;

    fn sweep(kind: SweepKind, axes: Vec<SweepAxis>) -> SweepPlan {
        SweepPlan {
            kind,
            axes,
            monitor: "val_loss".into(),
            goal: Mode::Min,
            prune: None,
        }
    }

    fn axis(target: &str, values: SweepValues) -> SweepAxis {
        SweepAxis {
            target: target.into(),
            values,
            loc: Loc::default(),
        }
    }

    #[test]
    fn grid_is_the_cartesian_product_last_axis_fastest() -> Result<()> {
        let sweep = sweep(
            SweepKind::Grid,
            vec![
                axis(
                    "train.optimizer.lr",
                    SweepValues::List(vec![Value::Float(0.1), Value::Float(0.01)]),
                ),
                axis(
                    "train.batch",
                    SweepValues::List(vec![Value::Int(64), Value::Int(128)]),
                ),
            ],
        );
        let t = trials(&sweep)?;
        let flat: Vec<String> = t
            .iter()
            .map(|t| {
                t.iter()
                    .map(|(_, v)| value_text(v))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        assert_eq!(flat, ["0.1 64", "0.1 128", "0.01 64", "0.01 128"]);
        Ok(())
    }

    const PIPELINE: &str = "data {\n  source blobs samples=30\n  split train=0.8 test=0.2\n}\n\
        model { dense 3 activation=softmax }\ntrain {\n  loss cross_entropy\n  epochs 1\n}\n";

    fn seed_of(overrides: &[String]) -> Result<u64> {
        let path = std::path::Path::new("t.dlp");
        Ok(analyze::analyze_source(PIPELINE, path, overrides)?.seed)
    }

    // Every trial seed must survive the trip through `--set seed=…`, and the
    // analyzer reads integers up to 2⁶³ − 1: a seed ≥ 2⁶³ (half of all
    // derived u64s) stopped 5 of 6 random sweeps part-way. Trial seeds follow
    // the sweep seed.
    #[test]
    fn trial_seeds_fit_the_language_and_follow_the_sweep_seed() -> Result<()> {
        let too_big = format!("seed={}", 1u64 << 63);
        assert!(seed_of(&[too_big]).is_err(), "the language took 2^63");
        for sweep_seed in [0, 1, 7, u64::MAX] {
            let seeds: Vec<u64> = (0..40).map(|i| trial_seed(sweep_seed, i)).collect();
            let unique: BTreeSet<u64> = seeds.iter().copied().collect();
            assert_eq!(unique.len(), seeds.len(), "{seeds:?}");
            for &s in &seeds {
                assert_eq!(seed_of(&[format!("seed={s}")])?, s);
            }
        }
        assert_ne!(trial_seed(1, 0), trial_seed(2, 0));
        Ok(())
    }

    #[test]
    fn random_draws_are_seeded_and_in_range() -> Result<()> {
        let sweep = sweep(
            SweepKind::Random {
                trials: 20,
                seed: 7,
            },
            vec![axis(
                "train.optimizer.lr",
                SweepValues::LogUniform {
                    low: 1e-4,
                    high: 1e-1,
                },
            )],
        );
        let a = trials(&sweep)?;
        assert_eq!(a, trials(&sweep)?);
        for t in &a {
            let Value::Float(lr) = t[0].1 else {
                panic!("not a float")
            };
            assert!((1e-4..=1e-1).contains(&lr), "{lr}");
        }
        Ok(())
    }
}
