//! Split arithmetic through `load_parts`: counts, fractions, stratify,
//! `shuffle=false` order, official test parts, `validate_on=test`, and the
//! error at the split statement when sizes don't fit.

use dlp::data::{Part, load_parts, synth};
use dlp::plan::{DataPlan, Loc, Preprocess, Source, SplitPlan, SplitSize, TestSplit};
use std::path::{Path, PathBuf};

fn split(train: SplitSize, valid: Option<SplitSize>, test: TestSplit) -> SplitPlan {
    SplitPlan {
        train,
        valid,
        test,
        stratify: false,
        shuffle: false,
        validate_on_test: false,
        seed: 5,
        loc: Loc { line: 3, column: 3 },
    }
}

/// A CSV whose single feature is the row number and whose label is given.
fn csv(dir: &Path, labels: &[&str]) -> PathBuf {
    let mut s = String::from("row,label\n");
    for (i, l) in labels.iter().enumerate() {
        s.push_str(&format!("{i},{l}\n"));
    }
    let p = dir.join("rows.csv");
    std::fs::write(&p, s).unwrap();
    p
}

fn data(path: &Path, split: SplitPlan) -> DataPlan {
    DataPlan {
        source: Source::Csv {
            path: path.to_path_buf(),
            label: "label".into(),
        },
        split,
        source_loc: Loc::default(),
    }
}

/// The row numbers (= the feature) of a part, in order.
fn rows(ds: &dlp::data::Dataset, part: Part) -> Vec<usize> {
    let n = ds.len(part);
    let b = ds.batch(part, &(0..n).collect::<Vec<_>>(), None).unwrap();
    b.x.iter().map(|&v| v as usize).collect()
}

const NO_PRE: &[Preprocess] = &[];

#[test]
fn counts_without_shuffle_take_file_order() {
    let tmp = tempfile::tempdir().unwrap();
    let p = csv(tmp.path(), &["a"; 10]);
    let plan = data(
        &p,
        split(
            SplitSize::Count(6),
            Some(SplitSize::Count(2)),
            TestSplit::Size(SplitSize::Count(2)),
        ),
    );
    let ds = load_parts(&plan, NO_PRE, &tmp.path().join("x.dlp"), false).unwrap();
    assert_eq!(rows(&ds, Part::Train), [0, 1, 2, 3, 4, 5]);
    assert_eq!(rows(&ds, Part::Valid), [6, 7]);
    assert_eq!(rows(&ds, Part::Test), [8, 9]);
}

#[test]
fn fractions_shuffled_are_a_seeded_partition() {
    let tmp = tempfile::tempdir().unwrap();
    let p = csv(tmp.path(), &["a"; 100]);
    let mut s = split(
        SplitSize::Fraction(0.7),
        Some(SplitSize::Fraction(0.15)),
        TestSplit::Size(SplitSize::Fraction(0.15)),
    );
    s.shuffle = true;
    let ds = load_parts(
        &data(&p, s.clone()),
        NO_PRE,
        &tmp.path().join("x.dlp"),
        false,
    )
    .unwrap();
    let (t, v, te) = (
        rows(&ds, Part::Train),
        rows(&ds, Part::Valid),
        rows(&ds, Part::Test),
    );
    assert_eq!((t.len(), v.len(), te.len()), (70, 15, 15));
    let mut all: Vec<usize> = t.iter().chain(&v).chain(&te).copied().collect();
    assert_ne!(all, (0..100).collect::<Vec<_>>());
    all.sort();
    assert_eq!(all, (0..100).collect::<Vec<_>>());
    // Same seed, same split; another seed, another split.
    let again = load_parts(
        &data(&p, s.clone()),
        NO_PRE,
        &tmp.path().join("x.dlp"),
        false,
    )
    .unwrap();
    assert_eq!(rows(&again, Part::Train), t);
    s.seed = 6;
    let other = load_parts(&data(&p, s), NO_PRE, &tmp.path().join("x.dlp"), false).unwrap();
    assert_ne!(rows(&other, Part::Train), t);
}

#[test]
fn stratify_keeps_class_proportions() {
    let tmp = tempfile::tempdir().unwrap();
    // 80 "a" then 20 "b": a plain file-order split would put every b in test.
    let labels: Vec<&str> = (0..100).map(|i| if i < 80 { "a" } else { "b" }).collect();
    let p = csv(tmp.path(), &labels);
    for shuffle in [false, true] {
        let mut s = split(
            SplitSize::Count(50),
            Some(SplitSize::Count(25)),
            TestSplit::Size(SplitSize::Count(25)),
        );
        s.stratify = true;
        s.shuffle = shuffle;
        let ds = load_parts(&data(&p, s), NO_PRE, &tmp.path().join("x.dlp"), false).unwrap();
        assert_eq!(ds.class_counts(Part::Train), [40, 10]);
        assert_eq!(ds.class_counts(Part::Valid), [20, 5]);
        assert_eq!(ds.class_counts(Part::Test), [20, 5]);
    }
}

fn idx_plan(dir: &Path, split: SplitPlan) -> DataPlan {
    synth::write_mnist(dir, 50, 12, 3, false).unwrap();
    DataPlan {
        source: Source::Idx {
            images: dir.join("train-images-idx3-ubyte"),
            labels: dir.join("train-labels-idx1-ubyte"),
            test_images: Some(dir.join("t10k-images-idx3-ubyte")),
            test_labels: Some(dir.join("t10k-labels-idx1-ubyte")),
        },
        split,
        source_loc: Loc::default(),
    }
}

#[test]
fn official_test_part_and_validation_carved_from_training() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = idx_plan(
        tmp.path(),
        split(
            SplitSize::Count(40),
            Some(SplitSize::Count(10)),
            TestSplit::Official,
        ),
    );
    let ds = load_parts(&plan, NO_PRE, &tmp.path().join("x.dlp"), false).unwrap();
    assert_eq!(
        (ds.len(Part::Train), ds.len(Part::Valid), ds.len(Part::Test)),
        (40, 10, 12)
    );
    assert_eq!(ds.classes.len(), 10);
    let b = ds.batch(Part::Test, &[0, 11], None).unwrap();
    assert_eq!(b.dims, [2, 1, 28, 28]);
}

#[test]
fn validate_on_test_has_no_valid_part() {
    let tmp = tempfile::tempdir().unwrap();
    let p = csv(tmp.path(), &["a"; 10]);
    let mut s = split(
        SplitSize::Count(8),
        None,
        TestSplit::Size(SplitSize::Count(2)),
    );
    s.validate_on_test = true;
    let ds = load_parts(&data(&p, s), NO_PRE, &tmp.path().join("x.dlp"), false).unwrap();
    assert!(!ds.has(Part::Valid));
    assert_eq!(ds.len(Part::Valid), 0);
    assert!(ds.labels(Part::Valid).is_empty());
    assert_eq!(ds.len(Part::Test), 2);
}

#[test]
fn sizes_that_do_not_fit_point_at_the_split() {
    let tmp = tempfile::tempdir().unwrap();
    let pipeline = tmp.path().join("p.dlp");
    std::fs::write(
        &pipeline,
        "data {\n  source idx\n  split train=45 valid=10 test=official\n}\n",
    )
    .unwrap();
    let plan = idx_plan(
        tmp.path(),
        split(
            SplitSize::Count(45),
            Some(SplitSize::Count(10)),
            TestSplit::Official,
        ),
    );
    let e = load_parts(&plan, NO_PRE, &pipeline, false).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    // One renderer for the analyzer's errors and these: a kind, a span
    // (the statement's name), pest's layout and the closing count.
    let dlp::error::Error::Invalid(report) = &e else {
        panic!("{e:?}")
    };
    let d = &report.diagnostics[0];
    assert_eq!(d.kind, dlp::analyze::Kind::Data);
    assert_eq!(&report.source[d.span.start..d.span.end], "split");
    assert_eq!(
        e.to_string(),
        format!(
            "error: split asks for 45 + 10 = 55 training samples but train-images-idx3-ubyte's training part has 50\n --> {}:3:3\n  |\n3 |   split train=45 valid=10 test=official\n  |   ^---^\n\n1 error\n",
            pipeline.display()
        )
    );
    let p = csv(tmp.path(), &["a"; 10]);
    let s = split(
        SplitSize::Count(8),
        None,
        TestSplit::Size(SplitSize::Count(5)),
    );
    let e = load_parts(&data(&p, s), NO_PRE, &pipeline, false)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("error: split asks for 8 train + 5 test = 13 samples but rows.csv has 10\n"),
        "{e}"
    );
    let s = split(SplitSize::Count(8), None, TestSplit::Official);
    let e = load_parts(&data(&p, s), NO_PRE, &pipeline, false)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("error: test=official, but rows.csv has no official test part"),
        "{e}"
    );
}
