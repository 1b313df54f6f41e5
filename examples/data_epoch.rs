//! Loads a CIFAR-10-sized set, splits it 45,000/5,000/official, normalises,
//! and iterates one augmented training epoch of batches (128) through the
//! prefetching iterator; then times augmentation alone.
//!
//! `cargo run --release --example gen_cifar -- /tmp/c`, then
//! `DLP_DATA=/tmp/c /usr/bin/time -v target/release/examples/data_epoch`
//! (peak resident memory is "Maximum resident set size").

use dlp::data::{Part, augment, load_parts};
use dlp::plan::{
    AugmentPlan, Builtin, DataPlan, Flip, Loc, Preprocess, Source, SplitPlan, SplitSize, TestSplit,
};
use std::sync::Arc;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let plan = DataPlan {
        source: Source::Builtin(Builtin::Cifar10),
        split: SplitPlan {
            train: SplitSize::Count(45_000),
            valid: Some(SplitSize::Count(5_000)),
            test: TestSplit::Official,
            stratify: false,
            shuffle: true,
            validate_on_test: false,
            seed: 42,
            loc: Loc::default(),
        },
        source_loc: Loc::default(),
    };
    let aug = AugmentPlan {
        rotate: Some(15.0),
        shift: Some((0.1, 0.1)),
        flip: Some(Flip::Horizontal),
        seed: 42,
        ..Default::default()
    };
    let t = Instant::now();
    let pre = [Preprocess::Normalize { per_channel: false }];
    let ds = Arc::new(load_parts(
        &plan,
        &pre,
        std::path::Path::new("cifar10.dlp"),
        false,
    )?);
    println!(
        "loaded, split and fitted in {:.2}s: train {} valid {} test {}; {:?}",
        t.elapsed().as_secs_f64(),
        ds.len(Part::Train),
        ds.len(Part::Valid),
        ds.len(Part::Test),
        ds.stats.steps
    );
    let t = Instant::now();
    let mut n = 0;
    for b in ds.batches(
        Part::Train,
        (0..ds.len(Part::Train)).collect(),
        128,
        false,
        Some((aug.clone(), 0)),
    ) {
        n += b?.y.len();
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "one augmented epoch of {n} images in batches of 128: {s:.2}s ({:.0} img/s)",
        n as f64 / s
    );
    // Augmentation alone on 32×32×3, in parallel as batches are built.
    let img: Vec<f32> = (0..3072).map(|i| (i % 256) as f32).collect();
    let count = 20_000usize;
    let t = Instant::now();
    use rayon::prelude::*;
    let sum: f64 = (0..count)
        .into_par_iter()
        .map_init(Vec::new, |scratch, i| {
            let mut x = img.clone();
            augment::apply(&aug, 1, i, &mut x, scratch, (3, 32, 32), 255.0);
            f64::from(x[0])
        })
        .sum();
    let s = t.elapsed().as_secs_f64();
    println!(
        "augmentation alone: {count} images in {s:.2}s = {:.0} img/s on {} threads (checksum {sum:.1})",
        count as f64 / s,
        rayon::current_num_threads()
    );
    Ok(())
}
