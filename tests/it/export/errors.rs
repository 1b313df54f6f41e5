//! `dlp export`'s refusals (an unfinished run, no weights, weights of
//! another model, an output that cannot be written, an opset dlp does not
//! write): each names the file, exits non-zero and writes nothing; and
//! where a successful export shows up (`dlp status`, `report.html`).

use crate::common;
use std::path::Path;

/// A finished small blobs run in `dir/name`.
fn trained(dir: &Path, name: &str, units: usize) -> std::path::PathBuf {
    let text = common::small_blobs("").replace("dense 16", &format!("dense {units}"));
    let p = common::write(dir, &format!("{name}.dlp"), &text);
    let run = dir.join(name);
    let o = common::run_quiet(&p, &run, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    run
}

fn export(run: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["export", run.to_str().unwrap()];
    args.extend_from_slice(extra);
    common::run(&args)
}

/// Every file in `dir` whose name says it is a temporary.
fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

#[test]
fn an_unfinished_run_is_refused_naming_its_run_yaml() {
    let tmp = tempfile::tempdir().unwrap();
    let run = trained(tmp.path(), "r", 16);
    let yaml = run.join("run.yaml");
    let text = common::read(&yaml).replace("status: completed", "status: interrupted");
    std::fs::write(&yaml, text).unwrap();
    let o = export(&run, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        common::stderr(&o),
        format!(
            "error: {}: the run was interrupted, not finished: continue it with `dlp run --resume` first\n",
            yaml.display()
        )
    );
    assert!(!run.join("model.onnx").exists());
    assert!(!run.join("export.yaml").exists());
}

#[test]
fn a_run_without_weights_is_refused_naming_the_weights_file() {
    let tmp = tempfile::tempdir().unwrap();
    let run = trained(tmp.path(), "r", 16);
    let weights = run.join("model.safetensors");
    std::fs::remove_file(&weights).unwrap();
    let o = export(&run, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        common::stderr(&o),
        format!("error: {}: weights file not found\n", weights.display())
    );
    assert!(!run.join("model.onnx").exists());
    // No best epoch kept: --weights best says what the run kept.
    let o = export(&run, &["--weights", "best"]);
    assert_eq!(o.status.code(), Some(2), "{}", common::stderr(&o));
    assert!(
        common::stderr(&o).contains("the run kept no best weights"),
        "{}",
        common::stderr(&o)
    );
}

#[test]
fn weights_of_another_model_are_refused_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let run = trained(tmp.path(), "a", 16);
    let other = trained(tmp.path(), "b", 8);
    let weights = run.join("model.safetensors");
    std::fs::copy(other.join("model.safetensors"), &weights).unwrap();
    let o = export(&run, &[]);
    assert_eq!(o.status.code(), Some(1));
    let err = common::stderr(&o);
    assert!(
        err.starts_with(&format!(
            "error: {}: weights do not fit the model: tensor `dense/kernel` has shape [2, 8], the model needs [2, 16]",
            weights.display()
        )),
        "{err}"
    );
    assert!(!run.join("model.onnx").exists());
}

#[test]
fn an_unwritable_output_is_named_and_nothing_is_left_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let run = trained(tmp.path(), "r", 16);
    // A path below a file: no user, root included, can create it.
    let out = run.join("model.safetensors").join("model.onnx");
    let o = export(&run, &["--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = common::stderr(&o);
    assert!(
        err.starts_with(&format!("error: cannot write {}: ", out.display())),
        "{err}"
    );
    assert!(temporaries(&run).is_empty());
    assert!(!run.join("export.yaml").exists());
    // An opset dlp does not write is a usage error.
    let o = export(&run, &["--opset", "9"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        common::stderr(&o),
        "error: --opset 9: dlp writes opsets 13 to 21\n"
    );
    assert!(!run.join("model.onnx").exists());
}

#[test]
fn status_and_the_report_page_mention_the_exported_model() {
    let tmp = tempfile::tempdir().unwrap();
    let run = trained(tmp.path(), "r", 16);
    let o = common::run(&["status", run.to_str().unwrap()]);
    assert!(!common::stdout(&o).contains("exported"));
    assert!(!common::read(run.join("report.html")).contains("exported model"));
    let o = export(&run, &["--opset", "19"]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    assert_eq!(
        common::stdout(&o),
        format!(
            "{}\n  weights model.safetensors, ONNX opset 19, the run's preprocessing inside\n  input  input float32 [batch,2] NF\n  output probabilities float32 [batch,3]\n",
            run.join("model.onnx").display()
        )
    );
    let line = "exported model model.onnx (ONNX opset 19, model.safetensors, preprocessing inside)";
    let o = common::run(&["status", run.to_str().unwrap()]);
    assert!(
        common::stdout(&o)
            .trim_end()
            .ends_with(&format!("; {line}")),
        "{}",
        common::stdout(&o)
    );
    assert!(common::read(run.join("report.html")).contains(line));
    // The page `dlp report` rebuilds is the same page.
    let page = common::read(run.join("report.html"));
    let o = common::run(&["report", run.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(common::read(run.join("report.html")), page);
    assert!(temporaries(&run).is_empty());
}
