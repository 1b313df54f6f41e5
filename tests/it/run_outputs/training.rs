//! Training options that must change what a run computes (the train seed,
//! class weights, drop_last, one-hot targets, augmentation) or what it
//! reports (top-k, the last epoch's weights, restore_best).

use super::{floats, run_text};
use crate::common::*;

/// `train seed=S` roots the training side's streams — shuffling, dropout
/// masks, augmentation — at S instead of the pipeline seed; the split and the
/// initial weights keep the pipeline seed, and statement seeds (`batch
/// seed=`, `dropout seed=`, `augment seed=`) still win. It changes
/// `train.csv`, and the same value reproduces it byte for byte.
#[test]
fn train_seed_drives_shuffling_dropout_and_augmentation() {
    use dlp::rng::{Stream, stream_seed};
    let plan = |text: &str| {
        dlp::analyze::analyze_source(text, std::path::Path::new("t.dlp"), &[])
            .unwrap_or_else(|e| panic!("{e}\n{text}"))
    };
    let base = small_blobs("");
    let seeded = base.replace("train {", "train seed=99 {");
    let (p0, p99) = (plan(&base), plan(&seeded));
    assert_eq!(p99.data.split.seed, p0.data.split.seed);
    assert_eq!(p99.model.init_seed, p0.model.init_seed);
    assert_eq!(p99.train.shuffle_seed, stream_seed(99, Stream::Shuffle));
    assert_eq!(p99.model.dropout_seed, stream_seed(99, Stream::Dropout));
    assert_eq!(p99.augment.seed, stream_seed(99, Stream::Augment));
    assert_ne!(p99.train.shuffle_seed, p0.train.shuffle_seed);
    // `train seed=` equal to the pipeline seed (7) changes nothing.
    assert_eq!(plan(&base.replace("train {", "train seed=7 {")), p0);
    // Statement seeds win over it.
    let p = plan(
        &seeded
            .replace("batch 16", "batch 16 seed=4")
            .replace("dropout 0.1", "dropout 0.1 seed=5"),
    );
    assert_eq!(p.train.shuffle_seed, 4);
    assert!(
        matches!(
            p.model.layers[1].layer,
            dlp::plan::Layer::Dropout { seed: Some(5), .. }
        ),
        "{:?}",
        p.model.layers[1]
    );

    let tmp = tempfile::tempdir().unwrap();
    let files = [("plain", &base), ("s99", &seeded), ("s99again", &seeded)];
    let mut csv = Vec::new();
    for (name, text) in files {
        let p = write(tmp.path(), &format!("{name}.dlp"), text);
        let out = tmp.path().join(name);
        let o = run_quiet(&p, &out, &[]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        // --quiet hides the plan's warnings (metrics accuracy, confusion).
        assert!(!stderr(&o).contains("warning:"), "{}", stderr(&o));
        csv.push(read(out.join("train.csv")));
    }
    assert_ne!(csv[0], csv[1], "train seed=99 changed nothing");
    assert_eq!(csv[1], csv[2], "train seed=99 does not reproduce");
}

/// `class_weight [1, 1, 1e-6]` makes class 2's samples weigh nothing: nothing
/// pulls its output up, so the model stops predicting it, while the
/// unweighted run gets it right. `balanced` (scikit-learn's n/(k·count) from
/// the train split) changes the loss of this nearly balanced set only a little.
#[test]
fn class_weight_changes_what_the_model_learns() {
    let tmp = tempfile::tempdir().unwrap();
    let plain = small_blobs("");
    let (_, a) = run_text(tmp.path(), "plain", &plain);
    let (_, b) = run_text(
        tmp.path(),
        "weighted",
        &small_blobs("class_weight [1, 1, 1e-6]"),
    );
    let recall = |m: &dlp::records::Manifest| m.final_metrics["test_recall_2"];
    assert!(
        recall(&a) > 0.9,
        "unweighted recall of class 2 {}",
        recall(&a)
    );
    assert!(
        recall(&b) < 0.2,
        "weighted recall of class 2 {}",
        recall(&b)
    );
    let (c, _) = run_text(
        tmp.path(),
        "balanced",
        &small_blobs("class_weight balanced"),
    );
    let first = |dir: &std::path::Path| floats(&read(dir.join("train.csv")), "loss")[0];
    let p = first(&tmp.path().join("plain"));
    let q = first(&c);
    assert!(
        p != q && (p - q).abs() < 0.05 * p,
        "loss {p} vs balanced {q}"
    );
}

/// `top_k=1` is the accuracy; `top_k=2` counts a sample when its class is one
/// of the two highest scores, so on a half-trained 3-class model it is above
/// the accuracy (and at most 1).
#[test]
fn top_k_is_reported_and_counts_the_k_best() {
    let tmp = tempfile::tempdir().unwrap();
    let weak = small_blobs("")
        .replace("epochs 12", "epochs 1")
        .replace("lr=0.01", "lr=0.001");
    let with = |k: usize| {
        weak.replace(
            "metrics accuracy precision recall f1 confusion",
            &format!("metrics f1 top_k={k}"),
        )
    };
    let (_, one) = run_text(tmp.path(), "k1", &with(1));
    let (_, two) = run_text(tmp.path(), "k2", &with(2));
    let m1 = &one.final_metrics;
    let m2 = &two.final_metrics;
    assert_eq!(m1["test_top_k"], m1["test_accuracy"]);
    assert_eq!(m2["test_accuracy"], m1["test_accuracy"]);
    assert!(m1["test_accuracy"] < 0.9, "{m1:?}");
    assert!(
        m2["test_top_k"] > m2["test_accuracy"] && m2["test_top_k"] <= 1.0,
        "{m2:?}"
    );
    // Without top_k there is no such metric.
    let (_, none) = run_text(tmp.path(), "none", &weak);
    assert!(!none.final_metrics.contains_key("test_top_k"));
}

/// 180 training samples in batches of 16: with `drop_last=true` each epoch
/// sees 11 full batches (176 samples), without it 12 (the last of 4), so
/// every epoch's training accuracy is a multiple of 1/176, resp. 1/180.
#[test]
fn drop_last_drops_the_partial_batch() {
    let tmp = tempfile::tempdir().unwrap();
    let three = small_blobs("").replace("epochs 12", "epochs 3");
    let (full, _) = run_text(tmp.path(), "keep", &three);
    let (dropped, _) = run_text(
        tmp.path(),
        "drop",
        &three.replace("batch 16", "batch 16 drop_last=true"),
    );
    let whole = |x: f64| (x - x.round()).abs() < 1e-9;
    let acc = |dir: &std::path::Path| floats(&read(dir.join("train.csv")), "accuracy");
    let (a, b) = (acc(&full), acc(&dropped));
    assert_eq!((a.len(), b.len()), (3, 3));
    assert!(a.iter().all(|x| whole(x * 180.0)), "{a:?}");
    assert!(b.iter().all(|x| whole(x * 176.0)), "{b:?}");
    assert!(
        b.iter().any(|x| !whole(x * 180.0)),
        "every accuracy also fits 180 samples: {b:?}"
    );
}

/// `weights=last` evaluates the test split with the last epoch's weights even
/// when `restore_best` keeps the best ones (the default then). With
/// validate_on=test and patience 0 the run stops one epoch after its best, and
/// the test figures are that epoch's validation figures.
#[test]
fn weights_last_evaluates_the_last_epoch() {
    let tmp = tempfile::tempdir().unwrap();
    let text = small_blobs("early_stop monitor=val_loss min_delta=0.02 restore_best=true")
        .replace(
            "train=0.6 valid=0.2 test=0.2",
            "train=0.8 test=0.2 validate_on=test",
        )
        .replace("epochs 12", "epochs 40");
    let (best_dir, best) = run_text(tmp.path(), "best", &text);
    let (last_dir, last) = run_text(
        tmp.path(),
        "last",
        &text.replace("metrics accuracy", "metrics weights=last accuracy"),
    );
    assert_eq!(best.plan.evaluate.weights, dlp::plan::Weights::Best);
    assert_eq!(last.plan.evaluate.weights, dlp::plan::Weights::Last);
    // Training itself is the same run.
    let csv = read(best_dir.join("train.csv"));
    assert_eq!(csv, read(last_dir.join("train.csv")));
    assert_eq!(best.status, dlp::records::Status::StoppedEarly);
    let (b, s) = (best.best_epoch.unwrap(), best.stop_epoch.unwrap());
    assert_eq!(s, b + 1);
    let val = floats(&csv, "val_loss");
    assert_eq!(best.final_metrics["test_loss"], val[b - 1]);
    assert_eq!(last.final_metrics["test_loss"], val[s - 1]);
    assert_ne!(val[b - 1], val[s - 1]);
    assert_ne!(
        std::fs::read(best_dir.join("model.safetensors")).unwrap(),
        std::fs::read(last_dir.join("model.safetensors")).unwrap()
    );
}

/// `one_hot` changes nothing with cross_entropy (documented; `dlp check`
/// warns): the run's files are byte-identical with and without it.
#[test]
fn one_hot_with_cross_entropy_changes_no_output() {
    let tmp = tempfile::tempdir().unwrap();
    let three = small_blobs("").replace("epochs 12", "epochs 3");
    let (a, _) = run_text(tmp.path(), "plain", &three);
    let (b, _) = run_text(
        tmp.path(),
        "onehot",
        &three.replace("model {", "preprocess { one_hot }\nmodel {"),
    );
    for f in ["train.csv", "eval.csv", "confusion.csv", "data.csv"] {
        assert_eq!(read(a.join(f)), read(b.join(f)), "{f}");
    }
}

/// Writes 200 8×8 grey images whose class is the bright half: class 0 left,
/// class 1 right, over a little noise, as IDX files `img.idx`, `lab.idx`.
fn halves(dir: &std::path::Path) {
    let (n, side) = (200usize, 8usize);
    let mut pixels = Vec::with_capacity(n * side * side);
    let mut labels = Vec::with_capacity(n);
    let mut state = 12345u32;
    for i in 0..n {
        let class = i % 2;
        labels.push(class as u8);
        for _ in 0..side {
            for x in 0..side {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let noise = (state >> 16) % 60;
                let bright = (x < side / 2) == (class == 0);
                pixels.push((noise + if bright { 150 } else { 0 }) as u8);
            }
        }
    }
    dlp::data::synth::write_idx(&dir.join("img.idx"), &[n, side, side], &pixels, false).unwrap();
    dlp::data::synth::write_idx(&dir.join("lab.idx"), &[n], &labels, false).unwrap();
}

/// Augmentation inside a run. The class is which half of the image is bright,
/// so a horizontal flip (p = 0.5) turns half the training images into the
/// other class: the training accuracy falls to about chance, while without
/// augmentation it is near 1, and a vertical flip (which keeps the halves)
/// leaves it high but changes the numbers. The same augment seed reproduces
/// train.csv; another changes it.
#[test]
fn augmentation_applies_to_training_batches() {
    let tmp = tempfile::tempdir().unwrap();
    halves(tmp.path());
    let pipeline = |augment: &str| {
        format!(
            "seed 3\ndata {{\n  source idx images=\"img.idx\" labels=\"lab.idx\"\n  split train=0.8 test=0.2\n}}\n\
             preprocess {{ scale 1/255 }}\n{augment}\n\
             model {{\n  flatten\n  dense 2 activation=softmax\n}}\n\
             train {{\n  loss cross_entropy\n  optimizer adam lr=0.05\n  batch 16\n  epochs 6\n}}\n"
        )
    };
    let last_acc = |dir: &std::path::Path| {
        *floats(&read(dir.join("train.csv")), "accuracy")
            .last()
            .unwrap()
    };
    let (plain, _) = run_text(tmp.path(), "plain", &pipeline(""));
    let (hflip, _) = run_text(
        tmp.path(),
        "hflip",
        &pipeline("augment { flip horizontal }"),
    );
    let (vflip, _) = run_text(tmp.path(), "vflip", &pipeline("augment { flip vertical }"));
    assert!(last_acc(&plain) > 0.95, "{}", last_acc(&plain));
    assert!(last_acc(&hflip) < 0.7, "{}", last_acc(&hflip));
    assert!(last_acc(&vflip) > 0.95, "{}", last_acc(&vflip));
    let csv = |dir: &std::path::Path| read(dir.join("train.csv"));
    assert_ne!(csv(&plain), csv(&vflip));
    let (again, _) = run_text(tmp.path(), "again", &pipeline("augment { flip vertical }"));
    assert_eq!(csv(&again), csv(&vflip));
    let (other, _) = run_text(
        tmp.path(),
        "other",
        &pipeline("augment seed=5 { flip vertical }"),
    );
    assert_ne!(csv(&other), csv(&vflip));
}

/// `weights=best` with both `restore_best` and a best-only checkpoint on
/// different monitors: early stopping's restored epoch is what the test
/// split sees (Keras: `fit` returns the restored model), `best.safetensors`
/// keeps the checkpoint's own best, `dlp plan` says so and `run.yaml`
/// records the epoch. With validate_on=test the test figures equal the
/// chosen epoch's validation figures, which tells the two apart.
#[test]
fn restore_best_wins_over_a_best_only_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let text = small_blobs(
        "early_stop monitor=val_loss patience=5 restore_best=true\n  checkpoint monitor=val_accuracy best_only=true",
    )
    .replace("std=1.5", "std=3")
    .replace(
        "train=0.6 valid=0.2 test=0.2",
        "train=0.8 test=0.2 validate_on=test",
    )
    .replace("epochs 12", "epochs 40");
    let p = write(tmp.path(), "both.dlp", &text);
    let o = run(&["plan", p.to_str().unwrap()]);
    assert!(
        stdout(&o).contains(
            "\n  the test split sees early stopping's best epoch by val_loss (restore_best=true); \
             it wins over checkpoint best_only, whose best epoch by val_accuracy is in best.safetensors\n"
        ),
        "{}",
        stdout(&o)
    );
    let (dir, m) = run_text(tmp.path(), "both", &text);
    let csv = read(dir.join("train.csv"));
    let (val_loss, val_acc) = (floats(&csv, "val_loss"), floats(&csv, "val_accuracy"));
    // The earliest minimum of val_loss and the earliest maximum of
    // val_accuracy (strict improvements, as both rules count them).
    let argbest = |v: &[f64], better: fn(f64, f64) -> bool| {
        (0..v.len()).fold(0, |b, i| if better(v[i], v[b]) { i } else { b }) + 1
    };
    let early = argbest(&val_loss, |a, b| a < b);
    let ckpt = argbest(&val_acc, |a, b| a > b);
    assert_ne!(early, ckpt, "the case needs two different best epochs");
    assert_eq!(m.best_epoch, Some(early));
    assert_eq!(m.test_epoch, Some(early));
    assert_eq!(m.final_metrics["test_loss"], val_loss[early - 1]);
    assert_eq!(m.final_metrics["test_accuracy"], val_acc[early - 1]);
    // best.safetensors holds the checkpoint's epoch: evaluated, it gives
    // that epoch's validation accuracy.
    let o = run(&[
        "eval",
        p.to_str().unwrap(),
        "--weights",
        dir.join("best.safetensors").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let accuracy = stdout(&o)
        .lines()
        .find_map(|l| l.strip_prefix("test_accuracy "))
        .map(|v| v.parse::<f64>().unwrap());
    assert_eq!(accuracy, Some(val_acc[ckpt - 1]));
}
