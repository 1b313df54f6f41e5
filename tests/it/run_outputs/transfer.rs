//! Transfer learning on real handwriting: scikit-learn's 8×8 digits
//! (`tests/fixtures/digits/`, written by its `make.py`). A network
//! pretrained on the digits 0–4 gives its convolutions and first dense
//! to a network for the digits 5–9 trained on 50 images; the frozen
//! layers come out byte for byte as loaded, the new head trains, and the
//! accuracy is reported beside the same network trained from scratch with
//! the same budget (reported beside it). Then two-phase fine-tuning, resume after `kill -9` in each
//! phase, `dlp plan`'s counts, `run.yaml`'s record, and the exact errors
//! `dlp check` gives for a missing run, a shape mismatch and an unknown
//! layer.

use super::run_text;
use crate::common::*;
use candle_core::Tensor;
use std::collections::HashMap;
use std::path::Path;

fn digits(part: &str) -> String {
    format!(
        "{}/tests/fixtures/digits/{part}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// A pipeline on the digits `set` (`low`: 0–4, `high`: 5–9) with the
/// given split, epochs and `transfer` section.
fn pipeline(set: &str, split: &str, epochs: usize, head: usize, transfer: &str) -> String {
    format!(
        "seed 1
data {{
  source idx images=\"{}\" labels=\"{}\"
  split {split} stratify=true
}}
preprocess {{ scale 1/16 }}
model {{
  conv2d 16 kernel=3 padding=same activation=relu
  maxpool 2
  conv2d 32 kernel=3 padding=same activation=relu
  maxpool 2
  flatten
  dense 32 activation=relu
  dense {head} activation=softmax
}}
{transfer}
train {{
  loss cross_entropy
  optimizer adam lr=0.005
  batch 16
  epochs {epochs}
}}
",
        digits(&format!("{set}-images.idx")),
        digits(&format!("{set}-labels.idx")),
    )
}

const BASE_SPLIT: &str = "train=0.7 valid=0.1 test=0.2";
const SMALL_SPLIT: &str = "train=50 valid=200 test=400";
const FROZEN: &str = "transfer {\n  from \"base\" layers=[conv2d, conv2d_1]\n  freeze loaded\n}";

/// `dlp check` of `text` (written as `dir/name`), which must refuse it
/// (exit 2): its standard error.
fn refused(dir: &Path, name: &str, text: &str) -> String {
    let p = write(dir, name, text);
    let o = run(&["check", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{name}: {}", stdout(&o));
    stderr(&o)
}

fn tensors(path: &Path) -> HashMap<String, Tensor> {
    candle_core::safetensors::load(path, &candle_core::Device::Cpu).unwrap()
}

fn bytes(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

fn test_accuracy(dir: &Path) -> f64 {
    let m = dlp::records::Manifest::read(dir).unwrap();
    m.final_metrics["test_accuracy"]
}

/// Pretrains on 0–4 once per test (about a second).
fn pretrain(dir: &Path) -> std::path::PathBuf {
    let (base, _) = run_text(dir, "base", &pipeline("low", BASE_SPLIT, 8, 5, ""));
    assert!(test_accuracy(&base) > 0.9, "{}", test_accuracy(&base));
    base
}

#[test]
fn frozen_base_stays_as_loaded_beside_training_from_scratch() {
    let tmp = tempfile::tempdir().unwrap();
    let base = pretrain(tmp.path());
    let (tuned, manifest) = run_text(
        tmp.path(),
        "tuned",
        &pipeline("high", SMALL_SPLIT, 12, 5, FROZEN),
    );
    let (scratch, _) = run_text(
        tmp.path(),
        "scratch",
        &pipeline("high", SMALL_SPLIT, 12, 5, ""),
    );

    let (src, got) = (
        tensors(&base.join("model.safetensors")),
        tensors(&tuned.join("model.safetensors")),
    );
    for layer in ["conv2d", "conv2d_1"] {
        for what in ["kernel", "bias"] {
            let name = format!("{layer}/{what}");
            let (a, b) = (bytes(&src[&name]), bytes(&got[&name]));
            assert!(
                a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
                "{name} changed while frozen"
            );
        }
    }
    // The new head (dense, dense_1) kept its fresh initialisation, not the
    // source's, and trained: it differs from both.
    let plan = dlp::analyze::load(&tmp.path().join("tuned.dlp"), &[]).unwrap();
    let init = dlp::nn::Model::new(&plan.model, plan.train.loss, &candle_core::Device::Cpu)
        .unwrap()
        .state()
        .unwrap();
    let init: HashMap<String, Tensor> = init.into_iter().collect();
    for name in ["dense/kernel", "dense_1/kernel", "dense_1/bias"] {
        assert_ne!(bytes(&got[name]), bytes(&src[name]), "{name}");
        assert_ne!(bytes(&got[name]), bytes(&init[name]), "{name}");
    }
    // run.yaml names the source and the MD5 of its weights.
    let record = manifest.transfer.expect("run.yaml records the transfer");
    assert_eq!(record.weights, tmp.path().join("base/model.safetensors"));
    let want = dlp::data::download::md5_file(&base.join("model.safetensors")).unwrap();
    assert_eq!(record.weights_md5, want);

    // Reported beside training from scratch: on 8×8 digits the 0–4
    // convolutions frozen give 0.9125 against 0.915 from scratch (seed 1;
    // README, *Transfer learning*). The frozen base must still carry the
    // head well above chance (0.2).
    let (t, s) = (test_accuracy(&tuned), test_accuracy(&scratch));
    eprintln!("digits 5–9 from 50 images, 12 epochs: frozen transfer {t:.4}, scratch {s:.4}");
    assert!(t > 0.85 && s > 0.85, "transfer {t}, scratch {s}");
}

/// `dlp plan`: the frozen layers leave the trainable count, as in Keras'
/// summary after `trainable = False`; the transfer section is shown.
#[test]
fn plan_counts_frozen_parameters_as_non_trainable() {
    let tmp = tempfile::tempdir().unwrap();
    pretrain(tmp.path());
    let text = pipeline(
        "high",
        SMALL_SPLIT,
        4,
        5,
        &FROZEN.replace(
            "freeze loaded",
            "freeze loaded\n  unfreeze after=2 factor=0.1",
        ),
    );
    let p = write(tmp.path(), "plan.dlp", &text);
    let o = run(&["plan", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    // conv2d 9·16 + 16 = 160, conv2d_1 9·16·32 + 32 = 4,640, dense
    // 128·32 + 32 = 4,128, dense_1 165: 9,093 in all, the convolutions'
    // 4,800 frozen (Keras' summary after `trainable = False` on them).
    for line in [
        "Total params: 9,093",
        "Trainable params: 4,293",
        "Non-trainable params: 4,800",
        "Frozen (trainable=False): conv2d, conv2d_1 (4,800 params)",
        "Unfrozen after epoch 2: every layer trains, lr × 0.1 (trainable params then 9,093)",
        "  from \"",
        "  freeze [conv2d, conv2d_1]",
        "  unfreeze after=2 factor=0.1",
    ] {
        assert!(out.contains(line), "no {line:?} in\n{out}");
    }
}

/// `match=position`: the source's layers with weights, in the order of its
/// `run.yaml`, pair with this model's; with dlp's names that is the same
/// pairing as by name here, so the two runs write the same bytes.
#[test]
fn match_by_position_pairs_layers_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    pretrain(tmp.path());
    let (by_name, _) = run_text(
        tmp.path(),
        "name",
        &pipeline("high", SMALL_SPLIT, 2, 5, FROZEN),
    );
    let positional = FROZEN.replace("conv2d_1]", "conv2d_1] match=position");
    let (by_pos, _) = run_text(
        tmp.path(),
        "position",
        &pipeline("high", SMALL_SPLIT, 2, 5, &positional),
    );
    assert_eq!(
        std::fs::read(by_name.join("model.safetensors")).unwrap(),
        std::fs::read(by_pos.join("model.safetensors")).unwrap()
    );
    // Without the source's run.yaml there is no order to read.
    std::fs::remove_file(tmp.path().join("base/run.yaml")).unwrap();
    let err = refused(
        tmp.path(),
        "noyaml.dlp",
        &pipeline("high", SMALL_SPLIT, 2, 5, &positional),
    );
    assert!(
        err.starts_with("error: match=position reads base/run.yaml: "),
        "{err}"
    );
}

/// Two-phase fine-tuning (frozen for 2 epochs, then everything at lr × 0.1):
/// the base moves in phase two; a run stopped by Ctrl-C or killed with
/// `kill -9` in either phase resumes to the bytes of the uninterrupted run.
#[test]
fn unfreeze_later_and_resume_in_either_phase() {
    let tmp = tempfile::tempdir().unwrap();
    let base = pretrain(tmp.path());
    let text = pipeline(
        "high",
        SMALL_SPLIT,
        4,
        5,
        &FROZEN.replace(
            "freeze loaded",
            "freeze loaded\n  unfreeze after=2 factor=0.1",
        ),
    );
    let p = write(tmp.path(), "two.dlp", &text);
    let whole = tmp.path().join("whole");
    let o = run_quiet(&p, &whole, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (src, got) = (
        tensors(&base.join("model.safetensors")),
        tensors(&whole.join("model.safetensors")),
    );
    assert_ne!(bytes(&src["conv2d/kernel"]), bytes(&got["conv2d/kernel"]));
    // train.csv's lr: 0.005 for two epochs, then 0.0005.
    let csv = read(whole.join("train.csv"));
    let lrs = super::floats(&csv, "lr");
    assert_eq!(lrs.len(), 4);
    assert!(
        (lrs[1] - 0.005).abs() < 1e-12 && (lrs[2] - 0.0005).abs() < 1e-12,
        "{lrs:?}"
    );

    let same = |cut: &Path, case: &str| {
        for f in ["train.csv", "eval.csv", "confusion.csv"] {
            assert_eq!(read(whole.join(f)), read(cut.join(f)), "{case}: {f}");
        }
        assert_eq!(
            std::fs::read(whole.join("model.safetensors")).unwrap(),
            std::fs::read(cut.join("model.safetensors")).unwrap(),
            "{case}: model.safetensors"
        );
    };
    // 50 images, batch 16: 4 steps an epoch. Step 6 is in phase one
    // (epoch 2), step 11 in phase two (epoch 3).
    for steps in ["6", "11"] {
        let cut = tmp.path().join(format!("int{steps}"));
        let o = dlp()
            .args(["run", p.to_str().unwrap(), "--quiet", "--out"])
            .arg(&cut)
            .env("DLP_INTERRUPT_AFTER_STEPS", steps)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
        let o = run(&["run", "--resume", cut.to_str().unwrap(), "--quiet"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        same(&cut, &format!("interrupted after step {steps}"));
    }
    // kill -9 mid-fine-tune: stopped in phase two (step 11, a flushed
    // save), resumed, and killed halfway through that process's first
    // train.csv write (the end of epoch 3, phase two); resumed again.
    use std::os::unix::process::ExitStatusExt;
    let cut = tmp.path().join("kill");
    let o = dlp()
        .args(["run", p.to_str().unwrap(), "--quiet", "--out"])
        .arg(&cut)
        .env("DLP_INTERRUPT_AFTER_STEPS", "11")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    let o = dlp()
        .args(["run", "--resume", cut.to_str().unwrap(), "--quiet"])
        .env("DLP_FAULT", "kill:train.csv:1")
        .output()
        .unwrap();
    assert_eq!(o.status.signal(), Some(9), "{}", stderr(&o));
    let o = run(&["run", "--resume", cut.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    same(&cut, "kill -9 in phase two");
}

/// The errors `dlp check` gives, at their line, for a source run that is
/// not there, a layer whose shapes differ, and a layer name that does not
/// exist.
#[test]
fn check_names_missing_runs_shapes_and_layers() {
    let tmp = tempfile::tempdir().unwrap();
    pretrain(tmp.path());
    let check = |name: &str, text: &str| refused(tmp.path(), name, text);
    let at = |name: &str, line: &str, col: usize, caret: &str, msg: &str| {
        format!(
            "error: {msg}\n  --> {}:17:{col}\n   |\n17 |   {line}\n   |   {caret}\n\n1 error\n",
            tmp.path().join(name).display()
        )
    };
    let missing = check(
        "missing.dlp",
        &pipeline(
            "high",
            SMALL_SPLIT,
            2,
            5,
            &FROZEN.replace("\"base\"", "\"nowhere\""),
        ),
    );
    assert_eq!(
        missing,
        at(
            "missing.dlp",
            "from \"nowhere\" layers=[conv2d, conv2d_1]",
            8,
            "     ^-------^",
            "run folder nowhere not found"
        )
    );
    let shapes = check(
        "shapes.dlp",
        &pipeline("high", SMALL_SPLIT, 2, 5, FROZEN)
            .replace("conv2d 32 kernel=3", "conv2d 32 kernel=5"),
    );
    assert_eq!(
        shapes,
        at(
            "shapes.dlp",
            "from \"base\" layers=[conv2d, conv2d_1]",
            31,
            "                            ^------^",
            "layer conv2d_1: conv2d_1/kernel is [32, 16, 3, 3] in base/model.safetensors but [32, 16, 5, 5] in this model"
        )
    );
    let unknown = check(
        "unknown.dlp",
        &pipeline(
            "high",
            SMALL_SPLIT,
            2,
            5,
            &FROZEN.replace("conv2d_1]", "conv2d_2]"),
        ),
    );
    assert_eq!(
        unknown,
        at(
            "unknown.dlp",
            "from \"base\" layers=[conv2d, conv2d_2]",
            31,
            "                            ^------^",
            "unknown layer \"conv2d_2\" — did you mean \"conv2d_1\"? (this model's layers: conv2d, max_pooling2d, conv2d_1, max_pooling2d_1, flatten, dense, dense_1)"
        )
    );
}

/// `match=position` asked for a layer past the source's last layer with
/// weights names the layer's place here and the source's count.
#[test]
fn position_past_the_source_names_both_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let src = "seed 4\ndata {\n  source blobs samples=80 centers=2 features=2 std=2\n  \
               split train=0.5 valid=0.25 test=0.25\n}\nmodel {\n  dense 2 activation=relu\n  \
               dense 2 activation=softmax\n}\ntrain {\n  loss cross_entropy\n  epochs 1\n}\n";
    let p = write(tmp.path(), "src.dlp", src);
    let o = run_quiet(&p, &tmp.path().join("src"), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let target = src.replace(
        "  dense 2 activation=relu",
        "  batchnorm\n  dense 2 activation=relu",
    ) + "transfer {\n  from \"src\" layers=[dense, dense_1] match=position\n}\n";
    let err = refused(tmp.path(), "t.dlp", &target);
    assert!(
        err.starts_with(
            "error: layer dense_1 is layer 3 with weights here, but src/model.safetensors has 2 \
             (match=position pairs them in order: dense, dense_1)\n"
        ),
        "{err}"
    );
}

/// `--seeds 2` of a frozen transfer: every seed starts from the same
/// source weights and keeps them byte for byte; the heads, drawn from each
/// seed, differ.
#[test]
fn every_seed_keeps_the_frozen_base() {
    let tmp = tempfile::tempdir().unwrap();
    let base = pretrain(tmp.path());
    let p = write(
        tmp.path(),
        "seeds.dlp",
        &pipeline("high", SMALL_SPLIT, 2, 5, FROZEN),
    );
    let out = tmp.path().join("seeds");
    let o = run_quiet(&p, &out, &["--seeds", "2"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let source = tensors(&base.join("model.safetensors"));
    let (a, b) = (
        tensors(&out.join("seed-01/model.safetensors")),
        tensors(&out.join("seed-02/model.safetensors")),
    );
    for name in [
        "conv2d/kernel",
        "conv2d/bias",
        "conv2d_1/kernel",
        "conv2d_1/bias",
    ] {
        assert_eq!(bytes(&a[name]), bytes(&source[name]), "{name}");
        assert_eq!(bytes(&b[name]), bytes(&source[name]), "{name}");
    }
    let head = a
        .keys()
        .find(|k| k.starts_with("dense") && k.ends_with("/kernel"))
        .unwrap()
        .clone();
    assert_ne!(bytes(&a[&head]), bytes(&b[&head]), "{head}");
}
