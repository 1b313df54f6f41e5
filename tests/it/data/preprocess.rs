//! Normalisation statistics from the train split only, hand-checked, and
//! their use on every split.

use dlp::data::preprocess::{self, Scope, Step};
use dlp::data::table::{Names, Table, Values};
use dlp::data::{Part, load_parts};
use dlp::plan::{DataPlan, Loc, Preprocess, Shape, Source, SplitPlan, SplitSize, TestSplit};

/// Two training images of 2 channels × 1×2 pixels, plus a third sample
/// (not in the train rows) with extreme values that must not count.
fn table() -> Table {
    Table {
        values: Values::U8(vec![0, 2, 10, 10, 4, 2, 20, 20, 255, 255, 255, 255]),
        numel: 4,
        labels: vec![0, 1, 0],
        names: Names::Unnamed,
    }
}

const SHAPE: Shape = Shape::Image {
    channels: 2,
    height: 1,
    width: 2,
};

#[test]
fn global_mean_std_over_all_train_pixels() {
    // Values 0,2,10,10,4,2,20,20: μ = 68/8 = 8.5; E[x²] = 1024/8 = 128;
    // σ² = 128 − 8.5² = 55.75 (population).
    let (stats, aff) = preprocess::fit(
        &[Preprocess::Normalize { per_channel: false }],
        &table(),
        &[0, 1],
        SHAPE,
    );
    let Step::Normalize { scope, mean, std } = &stats.steps[0] else {
        panic!()
    };
    assert_eq!(*scope, Scope::Global);
    assert!((mean[0] - 8.5).abs() < 1e-12);
    assert!((std[0] - 55.75f64.sqrt()).abs() < 1e-12);
    let mut x = vec![8.5, 8.5 + 55.75f32.sqrt(), 0.0, 20.0];
    aff.apply(&mut x);
    let s = 55.75f64.sqrt() + 1e-7;
    let want = [0.0, 55.75f64.sqrt() / s, -8.5 / s, 11.5 / s];
    for (a, b) in x.iter().zip(want) {
        assert!((f64::from(*a) - b).abs() < 1e-5, "{x:?}");
    }
    assert_eq!(stats.train_samples, 2);
}

#[test]
fn per_channel_and_after_scale() {
    // Channel 0: 0,2,4,2 → μ 2, σ² 2; channel 1: 10,10,20,20 → μ 15, σ 5.
    let (stats, _) = preprocess::fit(
        &[Preprocess::Normalize { per_channel: true }],
        &table(),
        &[0, 1],
        SHAPE,
    );
    let Step::Normalize { scope, mean, std } = &stats.steps[0] else {
        panic!()
    };
    assert_eq!((*scope, mean.clone()), (Scope::PerChannel, vec![2.0, 15.0]));
    assert!((std[0] - 2f64.sqrt()).abs() < 1e-12 && (std[1] - 5.0).abs() < 1e-12);
    // `scale 0.5` first: statistics of the scaled values.
    let steps = [
        Preprocess::Scale { factor: 0.5 },
        Preprocess::Normalize { per_channel: true },
    ];
    let (stats, aff) = preprocess::fit(&steps, &table(), &[0, 1], SHAPE);
    let Step::Normalize { mean, std, .. } = &stats.steps[1] else {
        panic!()
    };
    assert_eq!(mean, &vec![1.0, 7.5]);
    assert!((std[1] - 2.5).abs() < 1e-12);
    let mut x = vec![2.0, 2.0, 20.0, 20.0];
    aff.apply(&mut x);
    // (10 − 7.5)/2.5 = 1 for channel 1; channel 0 sits at its mean.
    assert!(x[0].abs() < 1e-6 && (x[2] - 1.0).abs() < 1e-5, "{x:?}");
}

#[test]
fn csv_features_normalise_per_feature_with_train_statistics() {
    // Train rows (file order, first 2): a = 1, 3 → μ 2, σ 1; b = 10, 10 → σ 0.
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("d.csv");
    std::fs::write(&p, "a,b,y\n1,10,x\n3,10,y\n100,20,x\n").unwrap();
    let plan = DataPlan {
        source: Source::Csv {
            path: p,
            label: "y".into(),
        },
        split: SplitPlan {
            train: SplitSize::Count(2),
            valid: None,
            test: TestSplit::Size(SplitSize::Count(1)),
            stratify: false,
            shuffle: false,
            validate_on_test: true,
            seed: 0,
            loc: Loc::default(),
        },
        source_loc: Loc::default(),
    };
    let ds = load_parts(
        &plan,
        &[Preprocess::Normalize { per_channel: false }],
        &tmp.path().join("p.dlp"),
        false,
    )
    .unwrap();
    let Step::Normalize { scope, mean, std } = &ds.stats.steps[0] else {
        panic!()
    };
    assert_eq!(
        (*scope, mean.clone(), std.clone()),
        (Scope::PerFeature, vec![2.0, 10.0], vec![1.0, 0.0])
    );
    let b = ds.batch(Part::Test, &[0], None).unwrap();
    // (100 − 2)/(1 + 1e-7) and (20 − 10)/(0 + 1e-7).
    assert!((f64::from(b.x[0]) - 98.0 / (1.0 + 1e-7)).abs() < 1e-3);
    assert!((f64::from(b.x[1]) / 1e8 - 1.0).abs() < 1e-5);
    let t = ds.batch(Part::Train, &[0, 1], None).unwrap();
    assert!((t.x[0] + 1.0).abs() < 1e-5 && (t.x[2] - 1.0).abs() < 1e-5);
    // The manifest form, with the feature columns `dlp predict` looks for.
    let yaml = serde_yaml_ng::to_string(&ds.stats).unwrap();
    assert!(yaml.contains("normalize"), "{yaml}");
    assert_eq!(ds.stats.columns, ["a", "b"]);
    assert!(yaml.ends_with("columns:\n- a\n- b\n"), "{yaml}");
}

/// `dlp predict` rebuilds the transform from the statistics a run stored
/// in `run.yaml`: through a YAML round trip it is the fitted transform bit
/// for bit, for every combination of steps; statistics of the wrong size
/// are refused.
#[test]
fn the_transform_rebuilt_from_stored_statistics_is_the_fitted_one() {
    let cases: &[&[Preprocess]] = &[
        &[],
        &[Preprocess::Scale {
            factor: 1.0 / 255.0,
        }],
        &[Preprocess::Normalize { per_channel: false }],
        &[
            Preprocess::Scale {
                factor: 1.0 / 255.0,
            },
            Preprocess::Normalize { per_channel: true },
        ],
        &[
            Preprocess::Normalize { per_channel: true },
            Preprocess::Scale { factor: 0.5 },
            Preprocess::Normalize { per_channel: false },
        ],
    ];
    for steps in cases {
        let (stats, fitted) = preprocess::fit(steps, &table(), &[0, 1], SHAPE);
        let yaml = serde_yaml_ng::to_string(&stats).unwrap();
        let back: preprocess::PreprocessStats = serde_yaml_ng::from_str(&yaml).unwrap();
        assert_eq!(back, stats, "{yaml}");
        let rebuilt = back.affine(SHAPE).unwrap();
        assert_eq!(rebuilt, fitted, "{steps:?}");
        assert!(!yaml.contains("columns"), "{yaml}");
    }
    let (stats, _) = preprocess::fit(
        &[Preprocess::Normalize { per_channel: true }],
        &table(),
        &[0, 1],
        SHAPE,
    );
    let three = Shape::Image {
        channels: 3,
        height: 1,
        width: 2,
    };
    assert_eq!(
        stats.affine(three).unwrap_err(),
        "normalize has 2 means and 2 standard deviations for 3 channels"
    );
}

/// Statistics over a thousand 3×4×4 images (more rows than one parallel
/// piece), in bytes and in floats: the same bits on 1, 2 and 3 threads,
/// and equal to a sequential sum.
#[test]
fn statistics_do_not_depend_on_threads() {
    let (rows, numel) = (1000usize, 48usize);
    let bytes: Vec<u8> = (0..rows * numel).map(|i| (i * 7919 % 251) as u8).collect();
    let shape = Shape::Image {
        channels: 3,
        height: 4,
        width: 4,
    };
    let train: Vec<usize> = (0..rows).rev().filter(|r| r % 10 != 3).collect();
    for values in [
        Values::U8(bytes.clone()),
        Values::F32(bytes.iter().map(|&b| f32::from(b) * 0.37 - 11.0).collect()),
    ] {
        let as_f64 = |i: usize| match &values {
            Values::U8(v) => f64::from(v[i]),
            Values::F32(v) => f64::from(v[i]),
        };
        // The reference: a plain two-pass sum per channel.
        let n = (train.len() * 16) as f64;
        let channel = |c: usize| {
            train
                .iter()
                .flat_map(move |&r| (0..16).map(move |j| r * 48 + c * 16 + j))
        };
        let mean: Vec<f64> = (0..3)
            .map(|c| channel(c).map(as_f64).sum::<f64>() / n)
            .collect();
        let var: Vec<f64> = (0..3)
            .map(|c| {
                channel(c)
                    .map(|i| (as_f64(i) - mean[c]).powi(2))
                    .sum::<f64>()
                    / n
            })
            .collect();
        let t = Table {
            values: values.clone(),
            numel,
            labels: vec![0; rows],
            names: Names::Unnamed,
        };
        let steps = [Preprocess::Normalize { per_channel: true }];
        let on = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| preprocess::fit(&steps, &t, &train, shape).0)
        };
        let one = on(1);
        assert_eq!(on(2), one);
        assert_eq!(on(3), one);
        let Step::Normalize {
            mean: m, std: s, ..
        } = &one.steps[0]
        else {
            panic!()
        };
        for c in 0..3 {
            assert!(
                (m[c] - mean[c]).abs() <= 1e-12 * mean[c].abs(),
                "{m:?} {mean:?}"
            );
            assert!(
                (s[c] - var[c].sqrt()).abs() <= 1e-12 * s[c],
                "{s:?} {var:?}"
            );
        }
    }
}
