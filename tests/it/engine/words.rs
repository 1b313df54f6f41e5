//! Every word of every word-valued parameter changes what a run computes,
//! not only the plan. `choices.rs` walks the activations, optimizers,
//! losses, schedules, blobs generators, paddings, flips and fills; this
//! file walks every other parameter that takes words (read from
//! `schema::word_parameters()`, so a new one fails
//! `every_word_parameter_is_walked` until it has a case), the comparison
//! operators of `expect` and the axes of a sweep.
//!
//! A case runs the pipeline once per word and compares the bytes of the
//! files that word is meant to change: two words of one parameter may give
//! the same bytes only where the schema documents them as one meaning
//! (`per_channel` and `true` of `normalize`).

use super::choices::all_differ;
use crate::common::*;
use dlp::analyze::schema;
use std::path::Path;

/// A small blobs run; `{SPLIT}`, `{TRAIN}`, `{EVAL}` and `{SWEEP}` are
/// filled in per case.
const BLOBS: &str = "seed 4
data {
  source blobs samples=80 centers=2 features=2 std=2
  split train=0.5 valid=0.25 test=0.25 {SPLIT}
}
model {
  dense 6 activation=relu
  dense 2 activation=softmax
}
train {
  loss cross_entropy
  optimizer adam lr=0.05
  batch 8
  epochs 4
  {TRAIN}
}
{EVAL}
{SWEEP}
";

/// An image run (8×8 colour images, three classes, an official test
/// part); `{SPLIT}` and `{PRE}` are filled in per case.
const IMAGES: &str = "seed 4
data {
  source images \"imgs/\"
  split {SPLIT}
}
preprocess {
  scale 1/255
  {PRE}
}
model {
  conv2d 4 kernel=3 activation=relu
  flatten
  dense 3 activation=softmax
}
train {
  loss cross_entropy
  optimizer adam lr=0.01
  batch 8
  epochs 3
}
";

/// One parameter walked over its words.
struct Walk {
    /// The parameter, as [`schema::WordParameter::id`] names it.
    id: &'static str,
    /// The words run: the schema's, plus a number where the schema's only
    /// word is the alternative to one (`batch all` against `batch 8`).
    words: fn() -> Vec<&'static str>,
    /// The pipeline with the word written in.
    pipeline: fn(&str) -> String,
    /// Files of the run folder (or sweep folder) the word must change;
    /// `"*"` is the list of files the run wrote.
    files: &'static [&'static str],
    /// Pairs of words the schema documents as one meaning.
    same: &'static [(&'static str, &'static str)],
    /// Run first, in the folder the pipelines are written to.
    before: fn(&Path),
}

/// No preparation.
fn nothing(_: &Path) {}

/// The run `transfer.from.match` loads from: `src/`, two dense layers
/// with 2×2 kernels.
fn transfer_source(dir: &Path) {
    let text = blobs("", "", "", "").replace("dense 6 activation=relu", "dense 2 activation=relu");
    let p = write(dir, "src.dlp", &text);
    let o = run_quiet(&p, &dir.join("src"), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

fn blobs(split: &str, train: &str, eval: &str, sweep: &str) -> String {
    BLOBS
        .replace("{SPLIT}", split)
        .replace("{TRAIN}", train)
        .replace("{EVAL}", eval)
        .replace("{SWEEP}", sweep)
}

fn images(split: &str, pre: &str) -> String {
    IMAGES.replace("{SPLIT}", split).replace("{PRE}", pre)
}

/// The words the schema gives a parameter.
fn words_of(section: &str, statement: &str, key: &str) -> Vec<&'static str> {
    schema::word_parameters()
        .into_iter()
        .find(|p| (p.section, p.statement, p.key) == (section, statement, key))
        .unwrap_or_else(|| panic!("the schema has no words for {section}.{statement}.{key}"))
        .words
        .to_vec()
}

/// The walks. Rules that watch `val_loss` with `mode=max` (which calls
/// its fall a worsening) act after the first epoch, so their words differ.
const CASES: &[Walk] = &[
    Walk {
        id: "data.split.stratify",
        words: || words_of("data", "split", "stratify"),
        pipeline: |w| blobs(&format!("stratify={w}"), "", "", ""),
        files: &["data.csv"],
        same: &[],
        before: nothing,
    },
    Walk {
        id: "data.split.shuffle",
        words: || words_of("data", "split", "shuffle"),
        pipeline: |w| blobs(&format!("shuffle={w}"), "", "", ""),
        files: &["data.csv"],
        same: &[],
        before: nothing,
    },
    Walk {
        id: "data.split.validate_on",
        words: || words_of("data", "split", "validate_on"),
        pipeline: |w| {
            let split = if w == "test" {
                "train=0.5 test=0.5 validate_on=test"
            } else {
                "train=0.5 valid=0.25 test=0.25 validate_on=valid"
            };
            blobs("", "", "", "").replace("train=0.5 valid=0.25 test=0.25 ", split)
        },
        files: &["train.csv"],
        same: &[],
        before: nothing,
    },
    Walk {
        id: "data.split.test",
        words: || {
            let mut w = words_of("data", "split", "test");
            w.push("0.2");
            w
        },
        pipeline: |w| match w {
            "official" => images("train=0.75 valid=0.25 test=official", ""),
            fraction => images(&format!("train=0.6 valid=0.2 test={fraction}"), ""),
        },
        files: &["data.csv"],
        same: &[],
        before: nothing,
    },
    Walk {
        id: "preprocess.normalize.method",
        words: || words_of("preprocess", "normalize", "method"),
        pipeline: |w| {
            images(
                "train=0.75 valid=0.25 test=official",
                &format!("normalize {w}"),
            )
        },
        files: &["train.csv"],
        same: &[],
        before: nothing,
    },
    Walk {
        id: "preprocess.normalize.per_channel",
        words: || words_of("preprocess", "normalize", "per_channel"),
        pipeline: |w| {
            let per = if w == "per_channel" {
                "per_channel".to_string()
            } else {
                format!("per_channel={w}")
            };
            images(
                "train=0.75 valid=0.25 test=official",
                &format!("normalize mean_std {per}"),
            )
        },
        files: &["train.csv"],
        same: &[("per_channel", "true")],
        before: nothing,
    },
    Walk {
        id: "train.early_stop.mode",
        words: || words_of("train", "early_stop", "mode"),
        pipeline: |w| {
            blobs(
                "",
                &format!("early_stop monitor=val_loss patience=0 mode={w}"),
                "",
                "",
            )
        },
        files: &["train.csv"],
        same: &[],
        before: nothing,
    },
    Walk {
        id: "train.early_stop.restore_best",
        words: || words_of("train", "early_stop", "restore_best"),
        pipeline: |w| {
            blobs(
                "",
                &format!("early_stop monitor=val_loss patience=0 mode=max restore_best={w}"),
                "",
                "",
            )
        },
        files: &["eval.csv"],
        same: &[],
        before: nothing,
    },
    Walk {
        id: "train.checkpoint.mode",
        words: || words_of("train", "checkpoint", "mode"),
        pipeline: |w| {
            blobs(
                "",
                &format!("checkpoint monitor=val_loss best_only=true mode={w}"),
                "",
                "",
            )
        },
        files: &["best.safetensors"],
        same: &[],
        before: nothing,
    },
    Walk {
        id: "train.checkpoint.best_only",
        words: || words_of("train", "checkpoint", "best_only"),
        pipeline: |w| {
            blobs(
                "",
                &format!("checkpoint monitor=val_loss best_only={w}"),
                "",
                "",
            )
        },
        files: &["*"],
        same: &[],
        before: nothing,
    },
    Walk {
        id: "train.schedule.mode",
        words: || words_of("train", "schedule", "mode"),
        pipeline: |w| {
            blobs(
                "",
                &format!("schedule plateau monitor=val_loss patience=0 factor=0.5 mode={w}"),
                "",
                "",
            )
        },
        files: &["train.csv"],
        same: &[],
        before: nothing,
    },
    Walk {
        id: "train.batch.drop_last",
        words: || words_of("train", "batch", "drop_last"),
        pipeline: |w| blobs("", "", "", "").replace("batch 8", &format!("batch 16 drop_last={w}")),
        files: &["train.csv"],
        same: &[],
        before: nothing,
    },
    Walk {
        id: "train.batch.size",
        words: || {
            let mut w = words_of("train", "batch", "size");
            w.push("8");
            w
        },
        pipeline: |w| blobs("", "", "", "").replace("batch 8", &format!("batch {w}")),
        files: &["train.csv"],
        same: &[],
        before: nothing,
    },
    Walk {
        id: "train.class_weight.weights",
        words: || {
            let mut w = words_of("train", "class_weight", "weights");
            w.push("[1, 1]");
            w
        },
        pipeline: |w| blobs("", &format!("class_weight {w}"), "", ""),
        files: &["train.csv"],
        same: &[],
        before: nothing,
    },
    Walk {
        id: "train.optimizer.nesterov",
        words: || words_of("train", "optimizer", "nesterov"),
        pipeline: |w| {
            blobs("", "", "", "").replace(
                "optimizer adam lr=0.05",
                &format!("optimizer sgd lr=0.1 momentum=0.9 nesterov={w}"),
            )
        },
        files: &["train.csv"],
        same: &[],
        before: nothing,
    },
    Walk {
        id: "evaluate.weights.which",
        words: || words_of("evaluate", "weights", "which"),
        pipeline: |w| {
            blobs(
                "",
                "checkpoint monitor=val_loss best_only=true mode=max",
                &format!("evaluate {{ weights {w} }}"),
                "",
            )
        },
        files: &["eval.csv"],
        same: &[],
        before: nothing,
    },
    Walk {
        id: "evaluate.metrics.weights",
        words: || words_of("evaluate", "metrics", "weights"),
        pipeline: |w| {
            blobs(
                "",
                "checkpoint monitor=val_loss best_only=true mode=max",
                &format!("evaluate {{ metrics accuracy weights={w} }}"),
                "",
            )
        },
        files: &["eval.csv"],
        same: &[],
        before: nothing,
    },
    Walk {
        id: "sweep.kind",
        words: || words_of("", "sweep", "kind"),
        pipeline: |w| {
            let head = if w == "random" { "random trials=2" } else { w };
            let sweep = format!("sweep {head} {{\n  train.optimizer.lr = [0.01, 0.2, 0.5]\n}}");
            blobs("", "", "", &sweep)
        },
        files: &["sweep.csv"],
        same: &[],
        before: nothing,
    },
    Walk {
        id: "sweep.goal",
        words: || words_of("", "sweep", "goal"),
        pipeline: |w| {
            let sweep =
                format!("sweep grid goal={w} {{\n  train.optimizer.lr = [0.001, 0.05, 0.5]\n}}");
            blobs("", "", "", &sweep)
        },
        files: &["sweep.csv"],
        same: &[],
        before: nothing,
    },
    Walk {
        id: "sweep.prune",
        words: || words_of("", "sweep", "prune"),
        pipeline: |w| {
            let sweep = format!(
                "sweep grid prune={w} startup=1 {{\n  train.optimizer.lr = [0.05, 0.0001]\n}}"
            );
            blobs("", "", "", &sweep)
        },
        files: &["sweep.csv"],
        same: &[],
        before: nothing,
    },
    Walk {
        id: "model.conv2d.use_bias",
        words: || words_of("model", "conv2d", "use_bias"),
        pipeline: |w| {
            images("train=0.75 valid=0.25 test=official", "").replace(
                "conv2d 4 kernel=3 activation=relu",
                &format!("conv2d 4 kernel=3 activation=relu use_bias={w}"),
            )
        },
        files: &["train.csv"],
        same: &[],
        before: nothing,
    },
    Walk {
        // In front of the source's two dense layers the target has batch
        // norm: by name `dense` takes the source's `dense`, by position
        // (the weighted layers' order: batch norm first) the source's
        // second, `dense_1`; both are 2×2.
        id: "transfer.from.match",
        words: || words_of("transfer", "from", "match"),
        pipeline: |w| {
            blobs("", "", "", "").replace(
                "  dense 6 activation=relu\n",
                "  batchnorm\n  dense 2 activation=relu\n",
            ) + &format!("transfer {{\n  from \"src\" layers=[dense] match={w}\n}}\n")
        },
        files: &["train.csv"],
        same: &[],
        before: transfer_source,
    },
];

/// Parameters whose words are walked elsewhere, or cannot change what a
/// run computes by design, with the reason.
const ELSEWHERE: &[(&str, &str)] = &[
    ("model.dense.activation", "choices.rs walks the activations"),
    (
        "model.conv2d.activation",
        "choices.rs walks the activations (one layer kind is enough: the activation is one op)",
    ),
    ("model.conv2d.padding", "choices.rs walks the paddings"),
    ("augment.flip.mode", "choices.rs walks the flips"),
    ("augment.shift.fill", "choices.rs walks the fill modes"),
    (
        "augment.rotate.fill",
        "choices.rs walks the fill modes (one transform is enough: they share the fill)",
    ),
    (
        "augment.zoom.fill",
        "choices.rs walks the fill modes (one transform is enough: they share the fill)",
    ),
    ("augment.fill.mode", "choices.rs walks the fill modes"),
    ("train.loss.kind", "choices.rs walks the losses"),
    ("train.optimizer.kind", "choices.rs walks the optimizers"),
    ("train.schedule.kind", "choices.rs walks the schedules"),
    (
        "data.source.generator",
        "choices.rs walks the blobs generators",
    ),
    (
        "data.source.kind",
        "each source kind is a loader of its own, tested on its files by tests/it/data",
    ),
    (
        "train.device.device",
        "the device says where a run computes, not what: on a machine without a GPU `cuda` is refused and `auto` is `cpu` (the GPU checks compare the two)",
    ),
];

/// The bytes of `files` in `dir`, in order (`"*"`: the sorted list of
/// the file names under `dir`).
fn fingerprint(dir: &Path, files: &[&str]) -> Vec<Vec<u8>> {
    files
        .iter()
        .map(|&f| {
            if f == "*" {
                let mut names: Vec<String> = std::fs::read_dir(dir)
                    .unwrap()
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect();
                names.sort();
                names.join("\n").into_bytes()
            } else {
                std::fs::read(dir.join(f))
                    .unwrap_or_else(|e| panic!("{}: {e}", dir.join(f).display()))
            }
        })
        .collect()
}

fn walk(case: &Walk) {
    let tmp = tempfile::tempdir().unwrap();
    colour_folder(&tmp.path().join("imgs"), 8, 2);
    (case.before)(tmp.path());
    let words = (case.words)();
    assert!(words.len() >= 2, "{}: {words:?}", case.id);
    let runs: Vec<(&str, Vec<Vec<u8>>)> = words
        .iter()
        .enumerate()
        .map(|(i, &w)| {
            let text = (case.pipeline)(w);
            let p = write(tmp.path(), &format!("{i}.dlp"), &text);
            let run = tmp.path().join(format!("run-{i}"));
            let o = run_quiet(&p, &run, &[]);
            assert_eq!(
                o.status.code(),
                Some(0),
                "{} = {w}:\n{text}\n{}",
                case.id,
                stderr(&o)
            );
            (w, fingerprint(&run, case.files))
        })
        .collect();
    all_differ(case.id, &runs, case.same);
}

#[test]
fn every_word_parameter_is_walked() {
    let walked: Vec<&str> = CASES.iter().map(|c| c.id).collect();
    let mut missing = Vec::new();
    for p in schema::word_parameters() {
        let id = p.id();
        let here = walked.contains(&id.as_str());
        let elsewhere = ELSEWHERE.iter().any(|(e, _)| *e == id);
        if !here && !elsewhere {
            missing.push(format!("{id} {:?}", p.words));
        }
    }
    assert!(
        missing.is_empty(),
        "word parameters nobody walks: {missing:#?}"
    );
    for id in walked.iter().chain(ELSEWHERE.iter().map(|(e, _)| e)) {
        assert!(
            schema::word_parameters().iter().any(|p| p.id() == *id),
            "{id} is not a word parameter of the schema"
        );
    }
}

#[test]
fn every_split_and_preprocess_word_changes_the_run() {
    for case in CASES.iter().filter(|c| c.id.starts_with(['d', 'p'])) {
        walk(case);
    }
}

#[test]
fn every_model_train_transfer_and_evaluate_word_changes_the_run() {
    for case in CASES.iter().filter(|c| c.id.starts_with(['t', 'e', 'm'])) {
        walk(case);
    }
}

#[test]
fn every_sweep_word_changes_the_sweep() {
    for case in CASES.iter().filter(|c| c.id.starts_with("sweep")) {
        walk(case);
    }
}

#[test]
fn every_expect_operator_gives_its_verdict() {
    let tmp = tempfile::tempdir().unwrap();
    let plain = write(tmp.path(), "plain.dlp", &blobs("", "", "", ""));
    let o = run_quiet(&plain, &tmp.path().join("plain"), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let m = dlp::records::Manifest::read(&tmp.path().join("plain")).unwrap();
    let v = m.final_metrics["test_accuracy"];
    let written = format!("{v}");
    // Below, at and above the run's own value, each operator's verdict is
    // the comparison's: exit 0 when it holds, 3 when it fails.
    type Holds = fn(f64, f64) -> bool;
    let ops: [(&str, Holds); 5] = [
        (">=", |a, b| a >= b),
        (">", |a, b| a > b),
        ("<=", |a, b| a <= b),
        ("<", |a, b| a < b),
        ("==", |a, b| a == b),
    ];
    let mut seen = Vec::new();
    for (op, holds) in ops {
        let mut verdicts = Vec::new();
        for x in [
            format!("{}", v - 0.05),
            written.clone(),
            format!("{}", v + 0.05),
        ] {
            let text = format!(
                "{}expect {{ test_accuracy {op} {x} }}\n",
                blobs("", "", "", "")
            );
            let p = write(tmp.path(), "e.dlp", &text);
            let dir = tmp.path().join("e");
            let o = run_quiet(&p, &dir, &[]);
            std::fs::remove_dir_all(&dir).unwrap();
            let want = if holds(v, x.parse().unwrap()) { 0 } else { 3 };
            assert_eq!(o.status.code(), Some(want), "{text}\n{}", stderr(&o));
            verdicts.push(want);
        }
        seen.push(verdicts);
    }
    // No two operators agree on all three values.
    for (i, a) in seen.iter().enumerate() {
        for b in &seen[i + 1..] {
            assert_ne!(a, b, "{seen:?}");
        }
    }
}

#[test]
fn every_sweep_axis_form_reaches_the_trials() {
    let tmp = tempfile::tempdir().unwrap();
    let text = blobs("", "", "", "")
        .replace("seed 4\n", "seed 4\nlet width = 6\n")
        .replace("dense 6 activation=relu", "dense $width activation=relu")
        + "sweep random trials=3 seed=2 {\n  train.optimizer.lr = loguniform(0.001, 0.1)\n  \
           train.optimizer.beta1 = uniform(0.5, 0.95)\n  width = [3, 9]\n}\n";
    let p = write(tmp.path(), "s.dlp", &text);
    let out = tmp.path().join("s");
    let o = run_quiet(&p, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let summary = read(out.join("sweep.csv"));
    let mut lines = summary.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(
        head[..4],
        [
            "trial",
            "train.optimizer.lr",
            "train.optimizer.beta1",
            "width"
        ],
        "{summary}"
    );
    let mut csvs = Vec::new();
    for (i, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        let lr: f64 = cells[1].parse().unwrap();
        let beta1: f64 = cells[2].parse().unwrap();
        assert!((0.001..=0.1).contains(&lr), "{line}");
        assert!((0.5..=0.95).contains(&beta1), "{line}");
        assert!(["3", "9"].contains(&cells[3]), "{line}");
        // The trial's manifest and its model hold the drawn values.
        let trial = out.join(format!("trial-{:03}", i + 1));
        let yaml = read(trial.join("run.yaml"));
        assert!(yaml.contains(&format!("lr: {}", cells[1])), "{yaml}");
        assert!(yaml.contains(&format!("beta1: {}", cells[2])), "{yaml}");
        assert!(yaml.contains(&format!("units: {}", cells[3])), "{yaml}");
        csvs.push(read(trial.join("train.csv")));
    }
    assert_eq!(csvs.len(), 3, "{summary}");
    assert!(csvs[0] != csvs[1] && csvs[1] != csvs[2] && csvs[0] != csvs[2]);
}
