//! The measuring commands: `--trace` (a Chrome trace of the stages) and
//! `dlp bench`.

use crate::common::*;

#[test]
fn trace_writes_a_chrome_trace_with_the_stages() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(
        tmp.path(),
        "small.dlp",
        &small_blobs("").replace("epochs 12", "epochs 2"),
    );
    let trace = tmp.path().join("trace.json");
    let out = tmp.path().join("run");
    let o = run(&[
        "run",
        p.to_str().unwrap(),
        "--quiet",
        "--trace",
        trace.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = read(&trace);
    assert!(
        text.trim_start().starts_with('['),
        "not a Chrome trace: {}",
        &text[..text.len().min(200)]
    );
    for span in [
        "\"parse\"",
        "\"analyze\"",
        "\"epoch\"",
        "\"evaluate\"",
        "\"report\"",
        "\"preprocess\"",
    ] {
        assert!(text.contains(span), "no {span} span in the trace");
    }
}

#[test]
fn bench_prints_every_figure_in_the_reference_format() {
    // No timing is asserted: only that each figure is measured and printed
    // as benches/pytorch_reference.py prints its own.
    let tmp = tempfile::tempdir().unwrap();
    let p = write(tmp.path(), "small.dlp", &small_blobs(""));
    let o = run(&[
        "bench",
        p.to_str().unwrap(),
        "--reps",
        "1",
        "--steps",
        "1",
        "--infer-batch",
        "64",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning: metrics confusion changes nothing"),
        "{}",
        stderr(&o)
    );
    let out = stdout(&o);
    for figure in [
        "train_img_per_s",
        "infer_img_per_s",
        "read_img_per_s",
        "batch_img_per_s",
    ] {
        let line = out
            .lines()
            .find(|l| l.starts_with(figure))
            .unwrap_or_else(|| panic!("no {figure} in {out}"));
        assert!(
            line.contains(" median=") && line.contains(" min=") && line.contains(" max="),
            "{line}"
        );
    }
    assert!(out.lines().any(|l| l.starts_with("peak_rss_mib ")), "{out}");
}
