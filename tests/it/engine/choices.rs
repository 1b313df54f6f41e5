//! Every choice of a word-valued parameter changes what a run computes, not
//! only the plan (the schema walk in `src/analyze/schema_walk.rs` proves the
//! latter): one small blobs run per choice of the hidden activation, the
//! optimizer, the loss, the learning-rate schedule and the blobs generator
//! (and one image run per convolution padding, flip and fill mode), and no
//! two runs of one parameter may write the same `train.csv`. The
//! choices are read from `dlp::analyze::schema`, so a new one is walked
//! without a new line here.

use crate::common::*;
use dlp::analyze::schema;

/// A blobs run that trains in a fraction of a second; `{ACT}`, `{OPT}`,
/// `{LOSS}`, `{SCHED}`, `{GEN}` and `{OUT}` are filled in per case.
const TEMPLATE: &str = "seed 4
data {
  source blobs samples=80 centers=2 features=2 std=2 generator={GEN}
  split train=0.5 valid=0.25 test=0.25
}
model {
  dense 6 activation={ACT}
  dense {OUT}
}
train {
  loss {LOSS}
  optimizer {OPT} lr=0.05
  schedule {SCHED}
  batch 8
  epochs 4
}
";

struct Case<'a> {
    act: &'a str,
    opt: &'a str,
    loss: &'a str,
    sched: &'a str,
    generator: &'a str,
}

const BASE: Case<'static> = Case {
    act: "relu",
    opt: "adam",
    loss: "cross_entropy",
    sched: "constant",
    generator: "chacha",
};

/// The train.csv of one case's run.
fn train_csv(dir: &std::path::Path, name: &str, c: &Case) -> String {
    let out = match c.loss {
        "binary_cross_entropy" => "1 activation=sigmoid",
        "mse" => "2 activation=linear",
        _ => "2 activation=softmax",
    };
    let sched = match c.sched {
        // every=2: step and exponential differ at odd epochs.
        "step" => "step every=2 factor=0.5",
        "exponential" => "exponential every=2 factor=0.5",
        // Drops after epochs 1 and 3, where step drops after 2.
        "milestones" => "milestones at=[1, 3] factor=0.5",
        // A min_delta no epoch reaches: the rate drops every epoch.
        "plateau" => "plateau patience=0 factor=0.5 min_delta=10",
        s => s,
    };
    let text = TEMPLATE
        .replace("{ACT}", c.act)
        .replace("{OPT}", c.opt)
        .replace("{LOSS}", c.loss)
        .replace("{SCHED}", sched)
        .replace("{GEN}", c.generator)
        .replace("{OUT}", out);
    let p = write(dir, &format!("{name}.dlp"), &text);
    let run = dir.join(name);
    let o = run_quiet(&p, &run, &[]);
    assert_eq!(o.status.code(), Some(0), "{name}:\n{text}\n{}", stderr(&o));
    read(run.join("train.csv"))
}

/// Asserts the outputs of the runs (word, output) of `param` pairwise
/// different, except the pairs `same` documents as one meaning, which must
/// be equal.
pub(super) fn all_differ<W: AsRef<str>, T: PartialEq + std::fmt::Debug>(
    param: &str,
    runs: &[(W, T)],
    same: &[(&str, &str)],
) {
    for (i, (a, out_a)) in runs.iter().enumerate() {
        for (b, out_b) in &runs[i + 1..] {
            let (a, b) = (a.as_ref(), b.as_ref());
            if same.iter().any(|&p| p == (a, b) || p == (b, a)) {
                assert_eq!(out_a, out_b, "{param}: {a} and {b} are documented as one");
            } else {
                assert_ne!(out_a, out_b, "{param}: {a} and {b} computed the same");
            }
        }
    }
}

/// Runs every choice of one parameter and asserts the train.csv files are
/// pairwise different.
fn walk(param: &str, choices: &[&str], case: impl Fn(&str) -> Case<'static>) {
    let tmp = tempfile::tempdir().unwrap();
    let runs: Vec<(String, String)> = choices
        .iter()
        .map(|&c| {
            let name = format!("{param}-{c}");
            let csv = train_csv(tmp.path(), &name, &case(c));
            (c.to_string(), csv)
        })
        .collect();
    all_differ(param, &runs, &[]);
}

#[test]
fn every_activation_changes_the_training() {
    walk("activation", schema::ACTIVATIONS, |c| Case {
        act: Box::leak(c.to_string().into_boxed_str()),
        ..BASE
    });
}

#[test]
fn every_optimizer_changes_the_training() {
    walk("optimizer", schema::OPTIMIZERS, |c| Case {
        opt: Box::leak(c.to_string().into_boxed_str()),
        ..BASE
    });
}

#[test]
fn every_loss_changes_the_training() {
    walk("loss", schema::LOSSES, |c| Case {
        loss: Box::leak(c.to_string().into_boxed_str()),
        ..BASE
    });
}

#[test]
fn every_schedule_changes_the_training() {
    walk("schedule", schema::SCHEDULES, |c| Case {
        sched: Box::leak(c.to_string().into_boxed_str()),
        ..BASE
    });
}

#[test]
fn every_blobs_generator_changes_the_data() {
    walk("generator", schema::BLOBS_GENERATORS, |c| Case {
        generator: Box::leak(c.to_string().into_boxed_str()),
        ..BASE
    });
}

/// An image run (8×8 colour images, three classes) with `{PAD}`, `{FLIP}`
/// and `{FILL}` filled in per case.
const IMAGES: &str = "seed 4
data {
  source images \"imgs/\"
  split train=0.75 valid=0.25 test=official
}
preprocess { scale 1/255 }
augment {
  flip {FLIP}
  shift 0.3 0.3 fill={FILL}
}
model {
  conv2d 4 kernel=3 padding={PAD} activation=relu
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

/// Runs each choice of `param` in the image pipeline (`at` is its
/// placeholder, the others keep `base`) and asserts the train.csv files
/// are pairwise different.
fn walk_images(param: &str, at: &str, choices: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    colour_folder(&tmp.path().join("imgs"), 8, 2);
    let base = [
        ("{PAD}", "same"),
        ("{FLIP}", "horizontal"),
        ("{FILL}", "nearest"),
    ];
    let runs: Vec<(&str, String)> = choices
        .iter()
        .map(|&c| {
            let mut text = IMAGES.to_string();
            for (k, v) in base {
                text = text.replace(k, if k == at { c } else { v });
            }
            let name = format!("{param}-{c}");
            let p = write(tmp.path(), &format!("{name}.dlp"), &text);
            let run = tmp.path().join(&name);
            let o = run_quiet(&p, &run, &[]);
            assert_eq!(o.status.code(), Some(0), "{name}:\n{text}\n{}", stderr(&o));
            (c, read(run.join("train.csv")))
        })
        .collect();
    all_differ(param, &runs, &[]);
}

#[test]
fn every_padding_flip_and_fill_changes_the_training() {
    walk_images("padding", "{PAD}", schema::PADDINGS);
    walk_images("flip", "{FLIP}", schema::FLIPS);
    walk_images("fill", "{FILL}", schema::FILLS);
}
