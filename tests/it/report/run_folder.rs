//! A run folder written by the report pieces, read back: the manifest round
//! trip, and `dlp diff` (the built binary) on folders and CSV files.

use dlp::diff;
use dlp::plan::*;
use dlp::records::{EpochRow, History, Manifest, Status};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The blobs pipeline of the language reference (book section 4.4.3), resolved.
fn blobs_plan() -> Plan {
    let loc = |line, column| Loc { line, column };
    Plan {
        name: "blobs".into(),
        path: "pipelines/blobs.dlp".into(),
        seed: 2,
        vars: BTreeMap::from([
            ("width".to_string(), Value::Int(25)),
            ("rate".to_string(), Value::Float(0.5)),
        ]),
        data: DataPlan {
            source: Source::Blobs {
                samples: 1000,
                centers: 3,
                features: 2,
                std: 2.0,
                seed: 2,
                generator: BlobsGenerator::Numpy,
            },
            split: SplitPlan {
                train: SplitSize::Count(800),
                valid: None,
                test: TestSplit::Size(SplitSize::Count(200)),
                stratify: false,
                shuffle: false,
                validate_on_test: true,
                seed: 7,
                loc: loc(6, 3),
            },
            source_loc: loc(5, 3),
        },
        preprocess: vec![Preprocess::Normalize { per_channel: false }],
        augment: AugmentPlan::default(),
        model: ModelPlan {
            input: Shape::Flat(2),
            layers: vec![
                LayerPlan {
                    name: "dense".into(),
                    layer: Layer::Dense {
                        units: 25,
                        activation: Activation::Relu,
                        l2: 0.0,
                    },
                    input: Shape::Flat(2),
                    output: Shape::Flat(25),
                    params: 75,
                    trainable: 75,
                    loc: loc(10, 3),
                    inputs: Vec::new(),
                },
                LayerPlan {
                    name: "dense_1".into(),
                    layer: Layer::Dense {
                        units: 3,
                        activation: Activation::Softmax,
                        l2: 0.0,
                    },
                    input: Shape::Flat(25),
                    output: Shape::Flat(3),
                    params: 78,
                    trainable: 78,
                    loc: loc(11, 3),
                    inputs: Vec::new(),
                },
            ],
            init_seed: 11,
            dropout_seed: 12,
        },
        transfer: None,
        train: TrainPlan {
            loss: Loss::CrossEntropy,
            label_smoothing: 0.0,
            optimizer: OptimizerPlan {
                kind: Optimizer::Adam {
                    lr: 0.001,
                    beta1: 0.9,
                    beta2: 0.999,
                    epsilon: 1e-7,
                },
                clip_norm: None,
                decay: 0.0,
            },
            schedule: SchedulePlan {
                kind: Schedule::Constant,
                warmup: 0,
                warmup_lr: None,
            },
            batch: BatchSize::Size(32),
            drop_last: false,
            epochs: 1000,
            early_stop: Some(EarlyStopPlan {
                monitor: "val_loss".into(),
                mode: Mode::Min,
                min_delta: 0.0,
                patience: 50,
                restore_best: true,
                loc: loc(19, 3),
            }),
            checkpoint: None,
            class_weight: None,
            device: DeviceSpec::Cpu,
            shuffle_seed: 13,
        },
        evaluate: EvaluatePlan {
            metrics: vec![
                Metric::Accuracy,
                Metric::Precision,
                Metric::Recall,
                Metric::F1,
                Metric::Confusion,
            ],
            top_k: None,
            weights: Weights::Best,
        },
        diagnose: Some(DiagnosePlan {
            human_error: 0.005,
            tolerance: 0.02,
        }),
        expect: vec![Expectation {
            metric: "test_accuracy".into(),
            op: CmpOp::Ge,
            value: 0.8,
            loc: loc(23, 12),
        }],
        sweep: None,
        defaults: BTreeSet::from(["train.optimizer.beta1".to_string()]),
    }
}

fn history(val_loss: &[f64]) -> History {
    let mut h = History::new();
    for (i, v) in val_loss.iter().enumerate() {
        h.push(EpochRow {
            epoch: i + 1,
            lr: 0.001,
            values: BTreeMap::from([
                ("loss".to_string(), 1.0 / (i + 1) as f64),
                ("accuracy".to_string(), 0.5 + 0.1 * i as f64),
                ("val_loss".to_string(), *v),
                ("val_accuracy".to_string(), 0.6 + 0.05 * i as f64),
            ]),
        });
    }
    h
}

/// A run folder with `run.yaml` (final metrics) and `train.csv`.
fn run_folder(dir: &Path, test_accuracy: f64, val_loss: &[f64]) {
    std::fs::create_dir_all(dir).unwrap();
    let mut m = Manifest::start(blobs_plan(), "cpu", 2);
    m.final_metrics = BTreeMap::from([
        ("test_accuracy".to_string(), test_accuracy),
        ("test_loss".to_string(), 0.45),
    ]);
    m.finish(Status::Completed, 0);
    m.write(dir).unwrap();
    history(val_loss).write_csv(&dir.join("train.csv")).unwrap();
}

fn dlp_diff(args: &[&str]) -> (i32, String, String) {
    let out = crate::common::dlp()
        .arg("diff")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The version Cargo.lock resolves `package` to, read now: the manifest
/// must record what the build linked, not a string kept by hand.
fn locked_version(package: &str) -> String {
    let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock");
    let text = std::fs::read_to_string(&lock).unwrap();
    let versions: Vec<&str> = text
        .split("\n[[package]]\n")
        .filter(|p| p.starts_with(&format!("name = \"{package}\"\n")))
        .filter_map(|p| p.lines().nth(1)?.strip_prefix("version = \""))
        .filter_map(|v| v.strip_suffix('"'))
        .collect();
    assert_eq!(
        versions.len(),
        1,
        "{package} in {}: {versions:?}",
        lock.display()
    );
    assert!(
        versions[0].split('.').count() == 3
            && versions[0].split('.').all(|n| n.parse::<u32>().is_ok()),
        "{versions:?}"
    );
    versions[0].to_string()
}

#[test]
fn manifest_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let mut m = Manifest::start(blobs_plan(), "cpu", 2);
    assert_eq!(m.status, Status::Running);
    assert_eq!(m.seed, 2);
    assert_eq!(m.dlp_version, env!("CARGO_PKG_VERSION"));
    assert_eq!(m.candle_version, locked_version("candle-core"));
    m.preprocessing.insert(
        "mean".into(),
        serde_yaml_ng::to_value(vec![0.25, -1.5]).unwrap(),
    );
    m.best_epoch = Some(12);
    m.stop_epoch = Some(62);
    m.final_metrics.insert("test_accuracy".into(), 0.819);
    m.final_metrics.insert("val_loss".into(), f64::NAN);
    m.finish(Status::StoppedEarly, 0);
    m.write(dir.path()).unwrap();
    let text = std::fs::read_to_string(dir.path().join("run.yaml")).unwrap();
    assert!(text.contains("status: stopped_early\n"), "{text}");
    assert!(text.contains("test_accuracy: 0.819\n"), "{text}");
    let back = Manifest::read(dir.path()).unwrap();
    // NaN != NaN: compare that field apart.
    assert!(back.final_metrics["val_loss"].is_nan());
    let (mut a, mut b) = (m.clone(), back.clone());
    a.final_metrics.remove("val_loss");
    b.final_metrics.remove("val_loss");
    assert_eq!(a, b);
    // RFC 3339, UTC, whole seconds.
    let ended = back.ended.unwrap();
    assert_eq!(ended.len(), 20, "{ended}");
    assert!(
        ended.ends_with('Z') && ended.as_bytes()[10] == b'T',
        "{ended}"
    );
}

#[test]
fn manifest_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let err = Manifest::read(dir.path()).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("{}: ", dir.path().join("run.yaml").display())),
        "{err}"
    );
    std::fs::write(dir.path().join("run.yaml"), "status: [unclosed\n").unwrap();
    let err = Manifest::read(dir.path()).unwrap_err().to_string();
    assert!(err.contains("run.yaml: "), "{err}");
}

#[test]
fn folder_rule_run_yaml_then_eval_csv_then_train_csv_last_row() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("a");
    run_folder(&run, 0.819, &[0.9, 0.7, 0.8]);
    let loaded = diff::load(&run).unwrap();
    let want: BTreeMap<String, f64> = BTreeMap::from([
        ("test_accuracy".to_string(), 0.819),
        ("test_loss".to_string(), 0.45),
        // train.csv, last row (epoch 3).
        ("loss".to_string(), 1.0 / 3.0),
        ("accuracy".to_string(), 0.5 + 0.1 * 2.0),
        ("val_loss".to_string(), 0.8),
        ("val_accuracy".to_string(), 0.6 + 0.05 * 2.0),
    ]);
    assert_eq!(loaded.values, want);
    assert_eq!(loaded.curves.as_ref().map(|h| h.rows.len()), Some(3));
    // eval.csv in `metric,value` form sits between the two; run.yaml wins.
    std::fs::write(
        run.join("eval.csv"),
        "metric,value\ntest_accuracy,0.5\ntest_f1,0.81\n",
    )
    .unwrap();
    let loaded = diff::load(&run).unwrap();
    assert_eq!(loaded.values["test_accuracy"], 0.819);
    assert_eq!(loaded.values["test_f1"], 0.81);
    // The run's own eval.csv (the classification report) gives the test
    // metrics under the run's names: class rows by index, macro and
    // weighted averages, accuracy. Supports are not metrics.
    std::fs::write(
        run.join("eval.csv"),
        "class,precision,recall,f1,support\n\
         cat,0.5,0.6,0.5454545454545454,10\n\
         dog,0.7,0.8,0.7466666666666667,10\n\
         macro_avg,0.6,0.7,0.6460606060606061,20\n\
         weighted_avg,0.6,0.7,0.6460606060606061,20\n\
         accuracy,0.7,0.7,0.7,20\n",
    )
    .unwrap();
    let loaded = diff::load(&run).unwrap();
    let from_eval: BTreeMap<&str, f64> = loaded
        .values
        .iter()
        .filter(|(k, _)| k.starts_with("test_") && k.as_str() != "test_loss")
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(
        from_eval,
        BTreeMap::from([
            // run.yaml's figure wins over eval.csv's 0.7.
            ("test_accuracy", 0.819),
            ("test_f1", 0.6460606060606061),
            ("test_f1_0", 0.5454545454545454),
            ("test_f1_1", 0.7466666666666667),
            ("test_f1_weighted", 0.6460606060606061),
            ("test_precision", 0.6),
            ("test_precision_0", 0.5),
            ("test_precision_1", 0.7),
            ("test_precision_weighted", 0.6),
            ("test_recall", 0.7),
            ("test_recall_0", 0.6),
            ("test_recall_1", 0.8),
            ("test_recall_weighted", 0.7),
        ])
    );
    // Nothing is printed about it: the report is read, not skipped.
    let (code, _, err) = dlp_diff(&[run.to_str().unwrap(), run.to_str().unwrap()]);
    assert_eq!((code, err.as_str()), (0, ""));
    std::fs::write(
        run.join("eval.csv"),
        "class,precision,recall,f1,support\ncat,0.5,x,0.5,10\n",
    )
    .unwrap();
    let err = diff::load(&run).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "{}: line 2: recall of `cat`: `x` is not a number",
            run.join("eval.csv").display()
        )
    );
}

#[test]
fn diff_identical_folders_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    run_folder(&a, 0.819, &[0.9, 0.7, 0.8]);
    run_folder(&b, 0.819, &[0.9, 0.7, 0.8]);
    let (code, out, err) = dlp_diff(&[a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out,
        "exact comparison (no --tol given): every metric and curve must be identical\n\
         metric         better  old       new       delta      result\n\
         accuracy       higher  0.7       0.7       0 (0.00%)  same\n\
         loss           lower   0.333333  0.333333  0 (0.00%)  same\n\
         test_accuracy  higher  0.819     0.819     0 (0.00%)  same\n\
         test_loss      lower   0.45      0.45      0 (0.00%)  same\n\
         val_accuracy   higher  0.7       0.7       0 (0.00%)  same\n\
         val_loss       lower   0.8       0.8       0 (0.00%)  same\n\
         \n\
         curve (train.csv)  epochs  max |new - old|  at epoch  result\n\
         lr                 3       0                -         same\n\
         loss               3       0                -         same\n\
         accuracy           3       0                -         same\n\
         val_loss           3       0                -         same\n\
         val_accuracy       3       0                -         same\n\
         no difference: 6 metrics and 5 curves identical\n"
    );
}

#[test]
fn diff_worse_folder_exact_fails_gate_decides_by_named_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    run_folder(&a, 0.819, &[0.9, 0.7, 0.8]);
    run_folder(&b, 0.80, &[0.9, 0.7, 0.82]);
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let (code, out, err) = dlp_diff(&[a, b]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.ends_with(
            "3 of 11 differ (exact comparison: no --tol given): test_accuracy, val_loss, curve.val_loss\n"
        ),
        "{out}"
    );
    // Exact mode fails the reverse direction too: an improvement is a difference.
    let (code, _, _) = dlp_diff(&[b, a]);
    assert_eq!(code, 1);
    // 0.819 → 0.80 is 0.019 down; val_loss 0.8 → 0.82 is 2.5 % up.
    let (code, out, _) = dlp_diff(&[
        a,
        b,
        "--tol",
        "test_accuracy=-0.02",
        "--tol",
        "val_loss=+3%",
    ]);
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = dlp_diff(&[a, b, "--tol", "test_accuracy=0.02", "--tol", "val_loss=2%"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.ends_with("1 metric regressed beyond tolerance: val_loss\n"),
        "{out}"
    );
    // Only the named metric decides: val_loss regressed but is information.
    let (code, out, _) = dlp_diff(&[a, b, "--tol", "test_accuracy=-0.02"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(
            "\nval_loss       lower   0.8       0.82      +0.02 (+2.50%)   -      worse\n"
        ),
        "{out}"
    );
    // Improvements never fail a gate: the reverse direction passes.
    let (code, out, _) = dlp_diff(&[b, a, "--tol", "test_accuracy=0", "--tol", "val_loss=0"]);
    assert_eq!(code, 0, "{out}");
    // The curve: epoch 3's val_loss moved by 0.02.
    let (code, out, _) = dlp_diff(&[a, b, "--tol", "curve.val_loss=0.01"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.ends_with("1 metric regressed beyond tolerance: curve.val_loss\n"),
        "{out}"
    );
}

#[test]
fn diff_formats_markdown_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    run_folder(&a, 0.819, &[0.9, 0.7, 0.8]);
    run_folder(&b, 0.80, &[0.9, 0.7, 0.8]);
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let (code, md, _) = dlp_diff(&[a, b, "--tol", "test_accuracy=-0.01", "--format", "markdown"]);
    assert_eq!(code, 1);
    let lines: Vec<&str> = md.lines().collect();
    assert_eq!(lines[0], "### dlp diff: ❌ fails");
    // The regression is the first row of the first table.
    assert_eq!(lines[6], "| --- | --- | --- | --- | --- | --- | --- |");
    assert_eq!(
        lines[7],
        "| `test_accuracy` | higher | 0.819 | 0.8 | -0.019 (-2.32%) | -0.01 | **REGRESSED** |"
    );
    assert!(
        md.contains("<details><summary>5 other metrics for information, not gated</summary>"),
        "{md}"
    );
    assert!(
        md.ends_with("**1 metric regressed beyond tolerance: test_accuracy**\n"),
        "{md}"
    );
    let (code, json, _) = dlp_diff(&[a, b, "--format", "json"]);
    assert_eq!(code, 1);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["mode"], "exact");
    assert_eq!(doc["passed"], false);
    assert_eq!(doc["failures"], serde_json::json!(["test_accuracy"]));
    assert_eq!(doc["old"], a);
    assert_eq!(doc["metrics"].as_array().unwrap().len(), 6);
    assert_eq!(doc["curves"].as_array().unwrap().len(), 5);
}

#[test]
fn diff_csv_files() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    history(&[0.9, 0.7]).write_csv(&a).unwrap();
    history(&[0.9, 0.7, 0.6]).write_csv(&b).unwrap();
    // Last rows: loss 1/2 → 1/3, accuracy 0.6 → 0.7, val_loss 0.7 → 0.6, val_accuracy 0.65 → 0.7.
    let tols = [
        "--tol",
        "loss=0",
        "--tol",
        "accuracy=0",
        "--tol",
        "val_loss=0",
        "--tol",
        "val_accuracy=0",
    ];
    let mut args = vec![a.to_str().unwrap(), b.to_str().unwrap()];
    args.extend(tols);
    let (code, out, err) = dlp_diff(&args);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out.lines().filter(|l| l.ends_with(" better")).count(),
        4,
        "{out}"
    );
    let m = dir.path().join("m.csv");
    std::fs::write(&m, "metric,value\nval_loss,0.65\n").unwrap();
    let (code, out, _) = dlp_diff(&[
        b.to_str().unwrap(),
        m.to_str().unwrap(),
        "--tol",
        "val_loss=+0.1",
        "--tol",
        "loss=0",
    ]);
    // val_loss 0.6 → 0.65 is within 0.1; loss is gated and missing in new.
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("MISSING in new"), "{out}");
    assert!(
        out.ends_with("1 metric regressed beyond tolerance: loss\n"),
        "{out}"
    );
}

#[test]
fn diff_usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    run_folder(&a, 0.819, &[0.9]);
    let a = a.to_str().unwrap();
    let missing = dir.path().join("nope");
    let (code, _, err) = dlp_diff(&[a, missing.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert_eq!(
        err,
        format!(
            "error: {}: no such run folder or CSV file\n",
            missing.display()
        )
    );
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let (code, _, err) = dlp_diff(&[a, empty.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains(
            "not a run folder: it has no run.yaml, seeds.csv, metrics.csv, eval.csv or train.csv"
        ),
        "{err}"
    );
    let (code, _, err) = dlp_diff(&[a, a, "--tol", "val_loss=5%%"]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("error: --tol `val_loss=5%%`: `5%%` is not a number"),
        "{err}"
    );
    let (code, _, err) = dlp_diff(&[a, a, "--tol", "val_los=0.1"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--tol names `val_los`, which neither side has"),
        "{err}"
    );
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "epoch,lr,loss\n1,0.1,abc\n").unwrap();
    let (code, _, err) = dlp_diff(&[a, bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert_eq!(
        err,
        format!(
            "error: {}: line 2: column `loss`: `abc` is not a number\n",
            bad.display()
        )
    );
}

fn dlp_cmd(args: &[&str]) -> (i32, String, String) {
    let out = crate::common::dlp().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// `dlp baseline RUN DIR` keeps the metric CSVs (no weights, no run.yaml,
/// no timings); `dlp diff DIR RUN` accepts it; a refresh from an
/// unchanged run changes no byte, and one from another run is what the
/// next diff compares against.
#[test]
fn baseline_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, bl) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("bl"),
    );
    run_folder(&a, 0.819, &[0.9, 0.7, 0.8]);
    run_folder(&b, 0.80, &[0.9, 0.7, 0.8]);
    std::fs::write(
        a.join("stages.csv"),
        "stage,seconds,items,items_per_second\n",
    )
    .unwrap();
    std::fs::write(a.join("model.safetensors"), b"weights").unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let (code, out, err) = dlp_cmd(&["baseline", &s(&a), &s(&bl)]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        format!("baseline {}: metrics.csv, train.csv\n", bl.display())
    );
    assert_eq!(files_in(&bl), ["baseline.yaml", "metrics.csv", "train.csv"]);
    assert_eq!(
        std::fs::read_to_string(bl.join("metrics.csv")).unwrap(),
        "metric,value\ntest_accuracy,0.819\ntest_loss,0.45\n"
    );
    assert_eq!(
        std::fs::read(bl.join("train.csv")).unwrap(),
        std::fs::read(a.join("train.csv")).unwrap()
    );
    let first: Vec<Vec<u8>> = files_in(&bl)
        .iter()
        .map(|f| std::fs::read(bl.join(f)).unwrap())
        .collect();
    let (code, out, _) = dlp_diff(&[&s(&bl), &s(&a)]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.ends_with("no difference: 6 metrics and 5 curves identical\n"),
        "{out}"
    );
    let (code, out, _) = dlp_diff(&[&s(&bl), &s(&b), "--tol", "test_accuracy=-0.01"]);
    assert_eq!(code, 1, "{out}");
    // Refreshing from the same run rewrites the same bytes.
    assert_eq!(dlp_cmd(&["baseline", &s(&a), &s(&bl)]).0, 0);
    let again: Vec<Vec<u8>> = files_in(&bl)
        .iter()
        .map(|f| std::fs::read(bl.join(f)).unwrap())
        .collect();
    assert_eq!(first, again);
    // Refreshed from b, the baseline is b.
    assert_eq!(dlp_cmd(&["baseline", &s(&b), &s(&bl)]).0, 0);
    assert_eq!(dlp_diff(&[&s(&bl), &s(&b)]).0, 0);

    // A multi-seed folder: seeds.csv and summary.csv; a refresh removes
    // the single run's files.
    let multi = dir.path().join("multi");
    std::fs::create_dir(&multi).unwrap();
    std::fs::write(
        multi.join("seeds.yaml"),
        "pipeline: /p/blobs.dlp\noverrides: []\nseeds: [2, 99]\n",
    )
    .unwrap();
    std::fs::write(
        multi.join("seeds.csv"),
        "run,seed,test_accuracy\nseed-01,2,0.84\nseed-02,99,0.835\n",
    )
    .unwrap();
    std::fs::write(multi.join("summary.csv"), "metric,n,mean\n").unwrap();
    let (code, _, err) = dlp_cmd(&["baseline", &s(&multi), &s(&bl)]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(files_in(&bl), ["baseline.yaml", "seeds.csv", "summary.csv"]);
    assert!(
        std::fs::read_to_string(bl.join("baseline.yaml"))
            .unwrap()
            .ends_with("pipeline: blobs\nkind: seeds\nseeds: [2, 99]\n")
    );
    let (code, out, _) = dlp_diff(&[&s(&bl), &s(&multi)]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("seeds: 2 old, 2 new;"), "{out}");

    // Refusals: a folder that is not a baseline, an unfinished run.
    let (code, _, err) = dlp_cmd(&["baseline", &s(&a), &s(&b)]);
    assert_eq!(code, 2);
    assert_eq!(
        err,
        format!(
            "error: {}: the folder has files and no baseline.yaml, so it is not a baseline; \
             refusing to write into it (give a new or empty folder)\n",
            b.display()
        )
    );
    let unfinished = dir.path().join("u");
    std::fs::create_dir(&unfinished).unwrap();
    let mut m = Manifest::start(blobs_plan(), "cpu", 2);
    m.finish(Status::Interrupted, 130);
    m.write(&unfinished).unwrap();
    let (code, _, err) = dlp_cmd(&["baseline", &s(&unfinished), &s(&dir.path().join("new"))]);
    assert_eq!(code, 2);
    assert!(
        err.contains("the run has not finished (status interrupted)"),
        "{err}"
    );
    assert!(!dir.path().join("new").exists());
}

/// The CI examples are YAML of their systems' shapes, and every `dlp …`
/// command in them parses as this build's command line.
#[test]
fn ci_examples_are_valid_yaml_with_real_dlp_commands() {
    use clap::Parser;
    use serde_yaml_ng::Value;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ci");
    let load = |name: &str| -> Value {
        let text = std::fs::read_to_string(root.join(name)).unwrap();
        serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let mut scripts: Vec<(String, String)> = Vec::new();

    // GitHub Actions: `on`, and jobs with `runs-on` and steps that each
    // either use an action or run a script.
    let gh = load("github-actions.yml");
    assert!(gh.get("on").is_some(), "github-actions.yml: no `on`");
    let jobs = gh["jobs"].as_mapping().expect("jobs");
    assert!(!jobs.is_empty());
    for (name, job) in jobs {
        assert!(job["runs-on"].as_str().is_some(), "{name:?}: runs-on");
        let steps = job["steps"].as_sequence().expect("steps");
        for step in steps {
            let uses = step.get("uses").and_then(Value::as_str);
            let run = step.get("run").and_then(Value::as_str);
            assert!(uses.is_some() != run.is_some(), "{step:?}: one of uses/run");
            if let Some(u) = uses {
                assert!(u.contains('@'), "{u}: pin a version");
            }
            if let Some(r) = run {
                scripts.push(("github-actions.yml".into(), r.to_string()));
            }
        }
    }

    // GitLab: every job has a stage from `stages` and a script list.
    let gl = load("gitlab-ci.yml");
    let stages: Vec<&str> = gl["stages"]
        .as_sequence()
        .expect("stages")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let reserved = ["stages", "variables", "default", "include", "workflow"];
    let mut gl_jobs = 0;
    for (name, job) in gl.as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        if reserved.contains(&name) || name.starts_with('.') {
            continue;
        }
        gl_jobs += 1;
        let stage = job["stage"].as_str().expect("stage");
        assert!(stages.contains(&stage), "{name}: stage {stage}");
        for line in job["script"].as_sequence().expect("script") {
            scripts.push(("gitlab-ci.yml".into(), line.as_str().unwrap().to_string()));
        }
    }
    assert!(gl_jobs >= 1);

    // Every dlp command parses; together they run, diff and post markdown.
    let mut used: BTreeSet<(String, String)> = BTreeSet::new();
    for (file, script) in &scripts {
        for line in script.replace("\\\n", " ").lines() {
            let words = shell_words(line);
            for cmd in words.split(|w| ["|", "||", "&&", ";"].contains(&w.as_str())) {
                let cmd: Vec<&String> = cmd
                    .iter()
                    .take_while(|w| !w.starts_with('>') && !w.starts_with("2>"))
                    .collect();
                if cmd.first().map(|w| w.as_str()) != Some("dlp") {
                    continue;
                }
                if let Err(e) = dlp::cli::Cli::try_parse_from(cmd.iter().map(|w| w.as_str())) {
                    panic!("{file}: `{line}`: {e}");
                }
                used.insert((file.clone(), cmd[1].clone()));
                if cmd.iter().any(|w| *w == "markdown") {
                    used.insert((file.clone(), "markdown".into()));
                }
            }
        }
    }
    for file in ["github-actions.yml", "gitlab-ci.yml"] {
        for what in ["run", "diff", "markdown"] {
            assert!(
                used.contains(&(file.to_string(), what.to_string())),
                "{file}: no `dlp {what}` ({used:?})"
            );
        }
    }
}

/// Splits a shell line into words: quotes group, operators stand alone,
/// `#` starts a comment. Enough for the CI examples' lines.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut chars = line.chars().peekable();
    let flush = |word: &mut String, words: &mut Vec<String>| {
        if !word.is_empty() {
            words.push(std::mem::take(word));
        }
    };
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => quote = Some(c),
            (None, '#') if word.is_empty() => break,
            (None, c) if c.is_whitespace() => flush(&mut word, &mut words),
            (None, '|' | '&' | ';') => {
                flush(&mut word, &mut words);
                let mut op = c.to_string();
                if chars.peek() == Some(&c) {
                    op.push(c);
                    chars.next();
                }
                words.push(op);
            }
            (None, c) => word.push(c),
        }
    }
    flush(&mut word, &mut words);
    words
}
