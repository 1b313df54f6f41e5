//! Batches: augmentation determinism independent of the thread count, the
//! prefetching iterator (order, drop_last, epochs, finishing on its
//! thread), and errors.

use dlp::data::{Dataset, Part, load_parts, synth};
use dlp::plan::{
    AugmentPlan, DataPlan, FillMode, Flip, Loc, Preprocess, Source, SplitPlan, SplitSize, TestSplit,
};
use std::sync::Arc;

fn dataset(dir: &std::path::Path) -> Arc<Dataset> {
    synth::write_mnist(dir, 40, 10, 2, true).unwrap();
    let plan = DataPlan {
        source: Source::Idx {
            images: dir.join("train-images-idx3-ubyte.gz"),
            labels: dir.join("train-labels-idx1-ubyte.gz"),
            test_images: Some(dir.join("t10k-images-idx3-ubyte.gz")),
            test_labels: Some(dir.join("t10k-labels-idx1-ubyte.gz")),
        },
        split: SplitPlan {
            train: SplitSize::Count(30),
            valid: Some(SplitSize::Count(10)),
            test: TestSplit::Official,
            stratify: false,
            shuffle: true,
            validate_on_test: false,
            seed: 1,
            loc: Loc::default(),
        },
        source_loc: Loc::default(),
    };
    let pre = [Preprocess::Normalize { per_channel: false }];
    Arc::new(load_parts(&plan, &pre, &dir.join("p.dlp"), false).unwrap())
}

fn aug() -> AugmentPlan {
    AugmentPlan {
        rotate: Some(15.0),
        shift: Some((0.1, 0.1)),
        zoom: Some(0.1),
        fill: Some(FillMode::Reflect),
        flip: Some(Flip::Horizontal),
        brightness: Some((0.8, 1.2)),
        crop: Some((28, 2)),
        seed: 77,
    }
}

#[test]
fn augmented_batches_do_not_depend_on_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = dataset(tmp.path());
    let idx: Vec<usize> = (0..30).rev().collect();
    let plan = aug();
    let with = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| ds.batch(Part::Train, &idx, Some((&plan, 3))).unwrap())
    };
    let one = with(1);
    assert_eq!(one, with(2));
    assert_eq!(one, with(5));
    // A sample's augmentation depends on its index, not on its batch.
    let single = ds.batch(Part::Train, &[29], Some((&plan, 3))).unwrap();
    assert_eq!(&single.x[..], &one.x[..784]);
    // Fresh each epoch, and different from the clean sample.
    let other = ds.batch(Part::Train, &idx, Some((&plan, 4))).unwrap();
    assert_ne!(one.x, other.x);
    let clean = ds.batch(Part::Train, &idx, None).unwrap();
    assert_ne!(one.x, clean.x);
    assert_eq!(one.y, clean.y);
}

#[test]
fn prefetching_iterator_yields_batches_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = dataset(tmp.path());
    let order: Vec<usize> = (0..30).rev().collect();
    let batches: Vec<_> = ds
        .batches(Part::Train, order.clone(), 8, false, Some((aug(), 2)))
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        batches.iter().map(|b| b.y.len()).collect::<Vec<_>>(),
        [8, 8, 8, 6]
    );
    assert_eq!(batches[0].dims, [8, 1, 28, 28]);
    assert_eq!(batches[3].indices, &order[24..]);
    let direct = ds
        .batch(Part::Train, &order[..8], Some((&aug(), 2)))
        .unwrap();
    assert_eq!(batches[0], direct);
    assert_eq!(
        ds.batches(Part::Train, order.clone(), 8, true, None)
            .count(),
        3
    );
    // Dropping a half-consumed iterator stops its worker.
    let mut it = ds.batches(Part::Valid, (0..10).collect(), 1, false, None);
    assert!(it.next().is_some());
    drop(it);
    assert_eq!(ds.labels(Part::Valid).len(), 10);
    assert_eq!(ds.class_counts(Part::Test).iter().sum::<usize>(), 10);
}

#[test]
fn bad_requests_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = dataset(tmp.path());
    let e = ds.batch(Part::Valid, &[10], None).unwrap_err().to_string();
    assert_eq!(e, "sample 10 is out of range: the valid split has 10");
    let mut bad = aug();
    bad.crop = Some((24, 0));
    let e = ds
        .batch(Part::Train, &[0], Some((&bad, 0)))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("crop 24 must equal the image size (28×28)"),
        "{e}"
    );
    let r: Vec<_> = ds
        .batches(Part::Train, vec![0, 99], 1, false, None)
        .collect();
    assert_eq!(r.len(), 2);
    assert!(r[1].is_err());
}

#[test]
fn batches_are_finished_on_the_prefetch_thread() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = dataset(tmp.path());
    let caller = std::thread::current().id();
    let order: Vec<usize> = (0..30).collect();
    let finished: Vec<_> = ds
        .batches_then(Part::Train, (order.clone(), 8, false), None, move |b| {
            Ok((std::thread::current().id() != caller, b.indices))
        })
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(finished.iter().all(|(elsewhere, _)| *elsewhere));
    let indices: Vec<usize> = finished.into_iter().flat_map(|(_, i)| i).collect();
    assert_eq!(indices, order);
    // An error from `finish` (a failed copy to the device) ends the batches.
    let r: Vec<_> = ds
        .batches_then(Part::Train, (order, 8, false), None, |b| {
            if b.indices[0] == 8 {
                Err(dlp::error::Error::Runtime("copy failed".into()))
            } else {
                Ok(b.indices[0])
            }
        })
        .collect();
    assert_eq!(r.len(), 2);
    assert_eq!(*r[0].as_ref().unwrap(), 0);
    assert_eq!(r[1].as_ref().unwrap_err().to_string(), "copy failed");
}
