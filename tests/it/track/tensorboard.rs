//! `--track tensorboard`: the event files read back by PyPI tensorboard's
//! own `EventAccumulator` (scripts/track-check.py).

use super::tools::{self, blobs, check, train_csv};
use crate::common::{run, stderr, write};
use serde_json::Value;

fn f32_of(x: f64) -> f64 {
    x as f32 as f64
}

#[test]
fn tensorboard_shows_every_column_the_test_metrics_images_and_plan() {
    if !tools::have("tensorboard", "tensorboard") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let o = run(&[
        "run",
        blobs().to_str().unwrap(),
        "--set",
        "train.epochs=3",
        "--set",
        "train.optimizer.lr=0.02",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
        "--track",
        "tensorboard",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let runs = check(&["tensorboard", out.to_str().unwrap()]);
    let r = &runs["."];
    // Every train.csv column, each epoch at its step, as float32.
    let cols = train_csv(&out);
    assert!(cols.len() >= 5, "{cols:?}");
    for (name, values) in cols.iter().filter(|(n, _)| n != "epoch") {
        let want: Vec<Value> = values
            .iter()
            .enumerate()
            .map(|(i, v)| serde_json::json!([i + 1, f32_of(*v)]))
            .collect();
        assert_eq!(r["scalars"][name], Value::Array(want), "{name}");
    }
    // The test metrics at the last epoch, equal to run.yaml's.
    let manifest: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&crate::common::read(out.join("run.yaml"))).unwrap();
    let acc = manifest["final_metrics"]["test_accuracy"].as_f64().unwrap();
    assert_eq!(
        r["scalars"]["test_accuracy"],
        serde_json::json!([[3, f32_of(acc)]])
    );
    for m in ["test_loss", "test_f1", "test_precision", "test_recall"] {
        assert_eq!(r["scalars"][m][0][0], 3, "{m}");
    }
    // The curves and the confusion matrix, as the PNGs in the folder.
    for (tag, file) in [("curves", "curves.png"), ("confusion", "confusion.png")] {
        let png = std::fs::read(out.join(file)).unwrap();
        let (w, h) = image::image_dimensions(out.join(file)).unwrap();
        assert_eq!(
            r["images"][tag],
            serde_json::json!([[3, w, h, png.len()]]),
            "{tag}"
        );
    }
    // The resolved plan as text.
    let plan = r["text"]["plan"][0].as_str().unwrap();
    assert!(plan.contains("    train:"), "{plan}");
    assert!(plan.contains("lr: 0.02"), "{plan}");
    assert!(plan.contains("epochs: 3"), "{plan}");
    assert!(r["hparams"].as_object().unwrap().is_empty());
}

#[test]
fn tensorboard_shows_a_sweeps_trials_side_by_side_with_hparams() {
    if !tools::have("tensorboard", "tensorboard") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let text = crate::common::small_blobs("").replace("epochs 12", "epochs 2")
        + "sweep grid { train.optimizer.lr = [0.01, 0.05] }\n";
    let p = write(tmp.path(), "sw.dlp", &text);
    let out = tmp.path().join("sweep");
    let o = run(&[
        "run",
        p.to_str().unwrap(),
        "--quiet",
        "--out",
        out.to_str().unwrap(),
        "--track",
        "tensorboard",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let runs = check(&["tensorboard", out.to_str().unwrap()]);
    let names: Vec<&String> = runs.as_object().unwrap().keys().collect();
    assert_eq!(names, [".", "trial-001", "trial-002"]);
    let exp = &runs["."]["hparams"]["_hparams_/experiment"]["experiment"];
    assert_eq!(
        exp["hparamInfos"],
        serde_json::json!([{
            "name": "train.optimizer.lr",
            "type": "DATA_TYPE_FLOAT64",
            "domainDiscrete": [0.01, 0.05]
        }])
    );
    assert_eq!(exp["metricInfos"][0]["name"]["tag"], "val_loss");
    for (trial, lr) in [("trial-001", 0.01), ("trial-002", 0.05)] {
        let h = &runs[trial]["hparams"];
        assert_eq!(
            h["_hparams_/session_start_info"]["sessionStartInfo"]["hparams"],
            serde_json::json!({ "train.optimizer.lr": lr }),
            "{trial}"
        );
        assert_eq!(
            h["_hparams_/session_end_info"]["sessionEndInfo"]["status"],
            "STATUS_SUCCESS"
        );
        // The monitor the dashboard shows is the trial's own curve.
        let val: Vec<f64> = train_csv(&out.join(trial))
            .into_iter()
            .find(|(n, _)| n == "val_loss")
            .unwrap()
            .1;
        assert_eq!(
            runs[trial]["scalars"]["val_loss"][1][1].as_f64().unwrap(),
            f32_of(val[1])
        );
    }
}
