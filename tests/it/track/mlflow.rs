//! `--track mlflow` against a real `mlflow server` (PyPI) on a loopback
//! port with a SQLite store, read back through MLflow's own client.

use super::tools::{self, MlflowServer, blobs, check, train_csv};
use crate::common::{dlp, stderr, stdout};
use serde_json::Value;
use std::path::Path;
use std::process::Output;

fn dlp_run(uri: &str, experiment: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = dlp();
    c.env("MLFLOW_TRACKING_URI", uri)
        .env("MLFLOW_EXPERIMENT_NAME", experiment)
        .env_remove("MLFLOW_TRACKING_TOKEN")
        .env_remove("MLFLOW_TRACKING_USERNAME")
        .env_remove("MLFLOW_TRACKING_PASSWORD");
    for (k, v) in env {
        c.env(k, v);
    }
    c.args(args).output().expect("dlp runs")
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A run's metrics as (step, value) lists, params, artifact names and the
/// tags that do not depend on time or place.
fn comparable(run: &Value) -> Value {
    let mut tags = run["tags"].as_object().unwrap().clone();
    tags.retain(|k, _| {
        [
            "dlp.status",
            "dlp.version",
            "dlp.pipeline_hash",
            "dlp.device",
            "dlp.exit_code",
        ]
        .contains(&k.as_str())
    });
    let artifacts: Vec<Value> = run["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a[0].clone())
        .collect();
    serde_json::json!({
        "status": run["status"],
        "params": run["params"],
        "metrics": run["metrics"],
        "tags": tags,
        "artifacts": artifacts,
    })
}

#[test]
fn mlflow_holds_the_runs_params_metrics_tags_artifacts_and_status() {
    if !tools::have("mlflow", "mlflow") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let server = MlflowServer::start(tmp.path());
    let out = tmp.path().join("run");
    let secret = "s3cr3t-t0ken-never-written";
    let o = dlp_run(
        &server.uri(),
        "dlp-one",
        &[
            "run",
            path(&blobs()),
            "--set",
            "train.epochs=3",
            "--set",
            "train.optimizer.lr=0.02",
            "--quiet",
            "--out",
            path(&out),
            "--track",
            "mlflow",
        ],
        // The server has no authentication: the header is sent and ignored.
        &[("MLFLOW_TRACKING_TOKEN", secret)],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let runs = server.runs("dlp-one");
    assert_eq!(runs.len(), 1, "{runs:?}");
    let r = &runs[0];
    assert_eq!(r["status"], "FINISHED");
    assert_eq!(r["name"], "run");
    assert_eq!(r["parent"], Value::Null);
    // The resolved plan under the --set names.
    let params = &r["params"];
    assert_eq!(params["train.optimizer"], "adam");
    assert_eq!(params["train.optimizer.lr"], "0.02");
    assert_eq!(params["train.epochs"], "3");
    assert_eq!(params["train.batch"], "32");
    assert_eq!(params["seed"], "2");
    assert!(
        params
            .as_object()
            .unwrap()
            .keys()
            .any(|k| k.starts_with("model.dense") && k.ends_with(".units")),
        "{params}"
    );
    // Every train.csv column per epoch, exactly.
    for (name, values) in train_csv(&out).iter().filter(|(n, _)| n != "epoch") {
        let want: Vec<Value> = values
            .iter()
            .enumerate()
            .map(|(i, v)| serde_json::json!([i + 1, v]))
            .collect();
        assert_eq!(r["metrics"][name], Value::Array(want), "{name}");
    }
    let manifest: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&crate::common::read(out.join("run.yaml"))).unwrap();
    let acc = manifest["final_metrics"]["test_accuracy"].as_f64().unwrap();
    assert_eq!(r["metrics"]["test_accuracy"], serde_json::json!([[3, acc]]));
    let tags = &r["tags"];
    assert_eq!(tags["dlp.version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(tags["dlp.device"], "cpu");
    assert_eq!(tags["dlp.status"], "completed");
    assert_eq!(tags["dlp.exit_code"], "0");
    assert!(
        tags["dlp.pipeline_hash"]
            .as_str()
            .unwrap()
            .starts_with("md5:")
    );
    // The artifacts, byte for byte as long as the files.
    let arts: Vec<(String, u64)> = r["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a[0].as_str().unwrap().to_string(), a[1].as_u64().unwrap()))
        .collect();
    for name in [
        "pipeline.dlp",
        "run.yaml",
        "train.csv",
        "eval.csv",
        "confusion.csv",
        "report.html",
        "model.safetensors",
        "curves.png",
    ] {
        let len = std::fs::metadata(out.join(name)).unwrap().len();
        assert!(arts.contains(&(name.to_string(), len)), "{name}: {arts:?}");
    }
    // The token is nowhere in the run folder.
    for entry in walk(&out) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(secret),
            "{} holds the token",
            entry.display()
        );
    }
    assert!(!stderr(&o).contains(secret));
    // Nothing left to send.
    let s = dlp().args(["sync", path(&out)]).output().unwrap();
    assert!(s.status.success(), "{}", stderr(&s));
    assert!(stdout(&s).contains("up to date"), "{}", stdout(&s));
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn mlflow_makes_a_seeds_folder_a_parent_with_nested_runs() {
    if !tools::have("mlflow", "mlflow") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let server = MlflowServer::start(tmp.path());
    let out = tmp.path().join("seeds");
    let o = dlp_run(
        &server.uri(),
        "dlp-seeds",
        &[
            "run",
            path(&blobs()),
            "--set",
            "train.epochs=3",
            "--set",
            "train.optimizer.lr=0.02",
            "--seeds",
            "2",
            "--quiet",
            "--out",
            path(&out),
            "--track",
            "mlflow",
        ],
        &[],
    );
    // A seed may miss the pipeline's expectation (exit 3): it still finished.
    assert!(matches!(o.status.code(), Some(0 | 3)), "{}", stderr(&o));
    let runs = server.runs("dlp-seeds");
    let names: Vec<&str> = runs.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["seed-01", "seed-02", "seeds"]);
    let parent = &runs[2];
    assert_eq!(parent["status"], "FINISHED");
    assert_eq!(parent["parent"], Value::Null);
    let artifacts: Vec<&str> = parent["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a[0].as_str().unwrap())
        .collect();
    assert_eq!(artifacts, ["seeds.csv", "seeds.yaml", "summary.csv"]);
    for child in &runs[..2] {
        assert_eq!(child["parent"], parent["run_id"]);
        assert_eq!(child["status"], "FINISHED");
        assert_eq!(child["metrics"]["val_loss"].as_array().unwrap().len(), 3);
    }
    assert_ne!(runs[0]["params"]["seed"], runs[1]["params"]["seed"]);
}

/// Offline first: a run interrupted while the server is up, resumed while
/// it is down, a run that never reached it (a dead port); then `dlp sync`
/// sends what they kept, once, and MLflow holds what it holds for an
/// uninterrupted run.
#[test]
fn mlflow_offline_runs_synced_later_match_an_uninterrupted_run() {
    if !tools::have("mlflow", "mlflow") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut server = MlflowServer::start(tmp.path());
    let uri = server.uri();
    let args = |out: &Path| -> Vec<String> {
        [
            "run",
            path(&blobs()),
            "--set",
            "train.epochs=3",
            "--set",
            "train.optimizer.lr=0.02",
            "--quiet",
            "--out",
            path(out),
            "--track",
            "mlflow",
            "--track",
            "tensorboard",
        ]
        .map(String::from)
        .to_vec()
    };
    let a = tmp.path().join("a");
    let argv = args(&a);
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let o = dlp_run(&uri, "online", &argv, &[]);
    assert!(o.status.success(), "{}", stderr(&o));

    // B: interrupted in epoch 2 (25 steps an epoch) with the server up …
    let b = tmp.path().join("b");
    let argv = args(&b);
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let o = dlp_run(
        &uri,
        "offline",
        &argv,
        &[("DLP_INTERRUPT_AFTER_STEPS", "40")],
    );
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    let runs = server.runs("offline");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["status"], "KILLED");
    assert_eq!(runs[0]["metrics"]["val_loss"].as_array().unwrap().len(), 1);
    // … and resumed with it down: the run finishes all the same.
    server.stop();
    let o = dlp_run(
        &uri,
        "offline",
        &["run", "--resume", path(&b), "--quiet"],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("dlp sync"), "{}", stderr(&o));

    // C: never reached a server (a dead port); synced to this one.
    let c = tmp.path().join("c");
    let dead = format!("http://127.0.0.1:{}", tools::free_port());
    let argv = args(&c);
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let o = dlp_run(&dead, "offline", &argv, &[]);
    assert!(o.status.success(), "{}", stderr(&o));

    // Sync while still down: nothing sent, exit 1, everything kept.
    let sync = |dir: &Path, uri: &str| {
        dlp()
            .args(["sync", path(dir)])
            .env("MLFLOW_TRACKING_URI", uri)
            .env("MLFLOW_EXPERIMENT_NAME", "offline")
            .output()
            .unwrap()
    };
    let s = sync(&b, &uri);
    assert_eq!(s.status.code(), Some(1), "{}", stderr(&s));
    server.restart();
    for dir in [&b, &c] {
        let s = sync(dir, &uri);
        assert!(s.status.success(), "{}", stderr(&s));
        assert!(stdout(&s).contains("sent "), "{}", stdout(&s));
    }
    let first = server.runs("offline");
    // A second sync sends nothing new.
    for dir in [&b, &c] {
        let s = sync(dir, &uri);
        assert!(s.status.success(), "{}", stderr(&s));
        assert!(stdout(&s).contains("up to date"), "{}", stdout(&s));
    }
    assert_eq!(server.runs("offline"), first);

    let online = server.runs("online");
    let want = comparable(&online[0]);
    assert_eq!(first.len(), 2, "{first:?}");
    for r in &first {
        assert_eq!(comparable(r), want, "{}", r["name"]);
    }
    // The resumed run's event files hold each epoch once.
    let tb = check(&["tensorboard", path(&b)]);
    assert_eq!(
        tb["."]["scalars"]["val_loss"],
        check(&["tensorboard", path(&a)])["."]["scalars"]["val_loss"]
    );
}
