//! `source cifar10` end to end through `load_parts`, from a prepared cache
//! (`DLP_DATA`) with the network unreachable (`DLP_MIRROR` on a closed
//! port). `load_parts` reads both from the environment, which the tests
//! of this binary share, so the test sets them for a child copy of the
//! binary that runs it (`common::run_in_child`).

use crate::common::{in_child, run_in_child};
use dlp::data::{Part, load_parts, synth};
use dlp::plan::{Builtin, DataPlan, Loc, Preprocess, Source, SplitPlan, SplitSize, TestSplit};
use std::path::PathBuf;

fn plan(train: usize, valid: usize) -> DataPlan {
    DataPlan {
        source: Source::Builtin(Builtin::Cifar10),
        split: SplitPlan {
            train: SplitSize::Count(train),
            valid: Some(SplitSize::Count(valid)),
            test: TestSplit::Official,
            stratify: false,
            shuffle: true,
            validate_on_test: false,
            seed: 42,
            loc: Loc { line: 2, column: 3 },
        },
        source_loc: Loc::default(),
    }
}

#[test]
fn cifar10_from_the_cache_offline() {
    let test = concat!(module_path!(), "::cifar10_from_the_cache_offline");
    if !in_child(test) {
        let tmp = tempfile::tempdir().unwrap();
        synth::write_cifar10(&tmp.path().join("cifar10"), 2000, 100, 1).unwrap();
        let mirror = "http://127.0.0.1:1/".as_ref();
        run_in_child(
            test,
            &[("DLP_DATA", tmp.path().as_os_str()), ("DLP_MIRROR", mirror)],
        );
        return;
    }
    let cache = PathBuf::from(std::env::var_os("DLP_DATA").unwrap());
    let pipeline = cache.join("cifar10.dlp");
    std::fs::write(
        &pipeline,
        "data {\n  split train=45000 valid=5000 test=official\n}\n",
    )
    .unwrap();
    let pre = [Preprocess::Normalize { per_channel: false }];
    let e = load_parts(&plan(45_000, 5_000), &pre, &pipeline, false).unwrap_err();
    assert!(
        e.to_string().starts_with(
            "error: split asks for 45000 + 5000 = 50000 training samples but cifar10's training part has 2000\n"
        ),
        "{e}"
    );
    let ds = load_parts(&plan(1800, 200), &pre, &pipeline, false).unwrap();
    assert_eq!(
        (ds.len(Part::Train), ds.len(Part::Valid), ds.len(Part::Test)),
        (1800, 200, 100)
    );
    assert_eq!(ds.classes[3], "cat");
    // Normalised with train statistics: the train split has mean ≈ 0, std ≈ 1.
    let b = ds
        .batch(Part::Train, &(0..1800).collect::<Vec<_>>(), None)
        .unwrap();
    let n = b.x.len() as f64;
    let mean = b.x.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var =
        b.x.iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n;
    assert!(
        mean.abs() < 1e-4 && (var.sqrt() - 1.0).abs() < 1e-4,
        "{mean} {var}"
    );
    assert_eq!(b.dims, [1800, 3, 32, 32]);
}
