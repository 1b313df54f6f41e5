//! The smaller things a newcomer meets: a misspelt section reported as
//! such first, a warning for an output activation cross-entropy cannot
//! use, a missing pipeline is a usage error, paths named as written, the
//! normalisation scope spelt alike in `dlp plan` and `run.yaml`, and a
//! finished run folder without its lock file.

use crate::common::{dlp, read, small_blobs, stderr, stdout, write};

#[test]
fn a_misspelt_section_leads_with_its_cause() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(
        tmp.path(),
        "p.dlp",
        &small_blobs("").replace("train {", "trian {"),
    );
    let o = dlp().arg("check").arg(&p).output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err.starts_with("error: unknown section \"trian\" — did you mean \"train\"?\n"),
        "{err}"
    );
    assert!(!err.contains("has no train block"), "{err}");
}

/// small_blobs without its `metrics accuracy` and `confusion`, which are
/// warned about.
fn quiet_blobs() -> String {
    small_blobs("").replace(
        "metrics accuracy precision recall f1 confusion",
        "metrics precision recall f1",
    )
}

#[test]
fn relu_on_the_output_layer_with_cross_entropy_is_warned() {
    let tmp = tempfile::tempdir().unwrap();
    let text = quiet_blobs().replace("dense 3 activation=softmax", "dense 3 activation=relu");
    let p = write(tmp.path(), "p.dlp", &text);
    let o = dlp().arg("check").arg(&p).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with(
            "warning: the output layer's activation is relu: cross_entropy reads the last layer's outputs as logits, and relu sets every negative one to 0\n"
        ),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains(
            "leave the output layer without an activation (logits) or use activation=softmax"
        ),
        "{}",
        stderr(&o)
    );
    assert!(
        stdout(&o).contains("ok (3 layers, 99 parameters, 1 warning)"),
        "{}",
        stdout(&o)
    );
    // No activation (logits) and softmax pass without a word.
    for last in ["dense 3", "dense 3 activation=softmax"] {
        let p = write(
            tmp.path(),
            "q.dlp",
            &quiet_blobs().replace("dense 3 activation=softmax", last),
        );
        let o = dlp().arg("check").arg(&p).output().unwrap();
        assert_eq!(stderr(&o), "", "{last}");
    }
}

#[test]
fn a_missing_pipeline_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    for command in ["plan", "check", "run"] {
        let o = dlp()
            .current_dir(tmp.path())
            .args([command, "./nosuch.dlp"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{command}");
        assert_eq!(
            stderr(&o),
            "error: nosuch.dlp: No such file or directory (os error 2)\n",
            "{command}"
        );
    }
}

#[test]
fn a_missing_data_file_is_named_as_written() {
    let tmp = tempfile::tempdir().unwrap();
    let text = "data {\n  source csv \"./wines.csv\" label=y\n  split train=0.8 test=0.2\n}\nmodel { dense 3 }\ntrain {\n  loss cross_entropy\n  epochs 1\n}\n";
    write(tmp.path(), "p.dlp", text);
    let o = dlp()
        .current_dir(tmp.path())
        .args(["check", "p.dlp"])
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err.contains("cannot read the source: ./wines.csv: No such file or directory"),
        "{err}"
    );
}

#[test]
fn plan_and_run_yaml_spell_the_scope_alike() {
    let tmp = tempfile::tempdir().unwrap();
    let text = small_blobs("")
        .replace("model {", "preprocess { normalize mean_std }\nmodel {")
        .replace("epochs 12", "epochs 1");
    let p = write(tmp.path(), "p.dlp", &text);
    let o = dlp().arg("plan").arg(&p).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(
            "normalize mean_std per_channel=false (default) scope per_feature: (x - mean) / (std + 1e-7)"
        ),
        "{}",
        stdout(&o)
    );
    let out = tmp.path().join("run");
    let o = dlp()
        .arg("run")
        .arg(&p)
        .args(["--quiet", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(read(out.join("run.yaml")).contains("scope: per_feature"));
    // A finished run folder keeps its results, not its lock; looking at it
    // (`dlp status`) leaves none behind either.
    assert!(!out.join(".lock").exists());
    let o = dlp().arg("status").arg(&out).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!out.join(".lock").exists());
}
