//! Every layer is reached by the name `dlp plan` shows (`dense_1`): in
//! `--set`, in sweeps, on the comparison page; a name that reaches nothing
//! gets the nearest valid path as its hint (Keras' `learning_rate` is
//! `lr`), never a wall of names or a hint that points at another layer,
//! and never the internal `kind`.

use crate::common::{dlp, read, small_blobs, stderr, stdout, write};
use std::path::Path;

/// Three dense layers: `dense`, `dense_1`, `dense_2` in `dlp plan`.
fn three_dense() -> String {
    small_blobs("")
        .replace("  dropout 0.1\n", "  dense 8 activation=relu\n")
        .replace("epochs 12", "epochs 2")
}

fn set_error(dir: &Path, set: &str) -> (Option<i32>, String) {
    let p = write(dir, "p.dlp", &three_dense());
    let o = dlp()
        .arg("check")
        .arg(&p)
        .args(["--set", set])
        .output()
        .unwrap();
    (o.status.code(), stderr(&o))
}

#[test]
fn set_reaches_each_layer_by_its_plan_name() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(tmp.path(), "p.dlp", &three_dense());
    let plan = |set: &[&str]| {
        let mut c = dlp();
        c.arg("plan").arg(&p).args(["--format", "yaml"]);
        for s in set {
            c.args(["--set", s]);
        }
        let o = c.output().unwrap();
        assert!(o.status.success(), "{set:?}: {}", stderr(&o));
        let y: serde_yaml_ng::Value = serde_yaml_ng::from_str(&stdout(&o)).unwrap();
        let layers = y["model"]["layers"].as_sequence().unwrap().clone();
        layers
            .iter()
            .map(|l| {
                (
                    l["name"].as_str().unwrap().to_string(),
                    l["layer"]["dense"]["units"].as_u64(),
                )
            })
            .collect::<Vec<_>>()
    };
    let names = |u: [u64; 3]| {
        vec![
            ("dense".to_string(), Some(u[0])),
            ("dense_1".to_string(), Some(u[1])),
            ("dense_2".to_string(), Some(u[2])),
        ]
    };
    assert_eq!(plan(&[]), names([16, 8, 3]));
    assert_eq!(plan(&["model.dense_1.units=5"]), names([16, 5, 3]));
    assert_eq!(plan(&["model.dense_1=6"]), names([16, 6, 3]));
    assert_eq!(plan(&["model.dense.units=4"]), names([4, 8, 3]));
}

#[test]
fn a_layer_that_is_not_there_is_not_another_one() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, err) = set_error(tmp.path(), "model.dense_3.units=8");
    assert_eq!(code, Some(2));
    assert_eq!(
        err,
        "error: --set model.dense_3.units: the model has no layer dense_3 (its layers, as `dlp plan` names them: dense, dense_1, dense_2)\n"
    );
}

#[test]
fn hints_name_the_nearest_path() {
    let tmp = tempfile::tempdir().unwrap();
    for (set, want) in [
        (
            "train.lr=0.1",
            "error: --set train.lr: train has no statement \"lr\"\nhint: did you mean train.optimizer.lr?\n",
        ),
        (
            "train.learning_rate=0.1",
            "error: --set train.learning_rate: train has no statement \"learning_rate\"\nhint: did you mean train.optimizer.lr?\n",
        ),
        (
            "train.optimizer.learning_rate=0.1",
            "error: --set train.optimizer.learning_rate: optimizer has no parameter \"learning_rate\" — did you mean \"lr\"?\nhint: did you mean train.optimizer.lr?\n",
        ),
        (
            "train.batch_size=8",
            "error: --set train.batch_size: train has no statement \"batch_size\" — did you mean \"batch\"?\nhint: did you mean train.batch?\n",
        ),
    ] {
        let (code, err) = set_error(tmp.path(), set);
        assert_eq!(code, Some(2), "{set}");
        assert_eq!(err, want, "{set}");
    }
}

#[test]
fn keras_names_and_kind_in_the_pipeline() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(
        tmp.path(),
        "p.dlp",
        &three_dense().replace(
            "optimizer adam lr=0.01",
            "optimizer adam learning_rate=0.01",
        ),
    );
    let o = dlp().arg("check").arg(&p).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(
            "error: unknown parameter \"learning_rate\" for optimizer — did you mean \"lr\"?\n"
        ),
        "{}",
        stderr(&o)
    );
    let p = write(
        tmp.path(),
        "p.dlp",
        &three_dense().replace("optimizer adam lr=0.01", "optimizer adam zz=1"),
    );
    let o = dlp().arg("check").arg(&p).output().unwrap();
    let err = stderr(&o);
    assert!(
        err.contains("error: unknown parameter \"zz\" for optimizer; it takes lr, "),
        "{err}"
    );
    assert!(!err.contains("kind"), "{err}");
}

/// A sweep over `model.dense_1.units` runs, and the comparison page of
/// its trials names the layer as `--set` does.
#[test]
fn sweeps_and_the_comparison_page_use_the_plan_name() {
    let tmp = tempfile::tempdir().unwrap();
    let text = three_dense() + "sweep grid {\n  model.dense_1.units = [4, 6]\n}\n";
    let p = write(tmp.path(), "p.dlp", &text);
    let out = tmp.path().join("sweep");
    let o = dlp()
        .arg("run")
        .arg(&p)
        .args(["--quiet", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    for (trial, units) in [("trial-001", 4), ("trial-002", 6)] {
        let m = dlp::records::Manifest::read(&out.join(trial)).unwrap();
        assert_eq!(m.plan.model.layers[1].name, "dense_1");
        assert_eq!(m.plan.model.layers[1].params, 16 * units + units);
    }
    let page = tmp.path().join("compare.html");
    let o = dlp()
        .arg("report")
        .arg(out.join("trial-001"))
        .arg(out.join("trial-002"))
        .arg("--out")
        .arg(&page)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let html = read(&page);
    assert!(
        html.contains("model.dense_1.units"),
        "the page names the layer"
    );
    assert!(!html.contains("model.layers["), "no third spelling");
}
