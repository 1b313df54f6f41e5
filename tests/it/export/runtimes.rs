//! The exported models in the runtimes users load them with: tract (pure
//! Rust, always) and ONNX Runtime with `onnx.checker` (a Python venv with
//! PyPI's `onnx`, `onnxruntime` and `numpy`; `.ci/run` installs it into
//! `target/onnx-venv`). Both must give `dlp predict`'s probabilities within
//! 1e-5, with the same predicted class, for every case of [`super::cases`].

use super::cases::{self, Case};
use crate::common;
use dlp::export::proto::ModelProto;
use prost::Message;
use std::path::{Path, PathBuf};

const TOL: f32 = 1e-5;

fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in row.iter().enumerate() {
        if *v > row[best] {
            best = i;
        }
    }
    best
}

fn tract_run(
    model: &Path,
    shape: &[usize],
    data: &[f32],
) -> tract_onnx::prelude::TractResult<Vec<f32>> {
    use tract_onnx::prelude::*;
    let runnable = tract_onnx::onnx()
        .model_for_path(model)?
        .with_input_fact(0, f32::fact(shape).into())?
        .into_optimized()?
        .into_runnable()?;
    let x = Tensor::from_shape(shape, data)?;
    let out = runnable.run(tvec!(x.into()))?;
    Ok(out[0]
        .to_plain_array_view::<f32>()?
        .iter()
        .copied()
        .collect())
}

fn compare(case: &Case, got: &[f32], runtime: &str) {
    let k = case.classes.len();
    assert_eq!(
        got.len(),
        case.expected.len() * k,
        "{}: {runtime} output size",
        case.name
    );
    let mut worst = 0f32;
    for (i, want) in case.expected.iter().enumerate() {
        let row = &got[i * k..(i + 1) * k];
        for (g, w) in row.iter().zip(want) {
            worst = worst.max((g - w).abs());
        }
        assert_eq!(
            argmax(row),
            argmax(want),
            "{}: input {i}: {runtime} {row:?} vs dlp predict {want:?}",
            case.name
        );
    }
    eprintln!(
        "{}: {runtime} vs dlp predict: max difference {worst:.2e} over {} inputs",
        case.name,
        case.expected.len()
    );
    assert!(
        worst <= TOL,
        "{}: {runtime} differs from dlp predict by {worst}",
        case.name
    );
}

#[test]
fn tract_gives_dlp_predicts_probabilities_for_every_case() {
    let all = cases::cases();
    assert_eq!(all.len(), 7);
    for case in all {
        let got = tract_run(&case.model, &case.input_shape, &case.input).unwrap_or_else(|e| {
            panic!(
                "{}: tract cannot run {}: {e:?}",
                case.name,
                case.model.display()
            )
        });
        compare(case, &got, "tract");
        // The batch dimension is dynamic: one input alone gives its row.
        let one: usize = case.input_shape[1..].iter().product();
        let mut shape = case.input_shape.clone();
        shape[0] = 1;
        let got = tract_run(&case.model, &shape, &case.input[..one]).unwrap();
        for (g, w) in got.iter().zip(&case.expected[0]) {
            assert!(
                (g - w).abs() <= TOL,
                "{}: batch of one {got:?} vs {:?}",
                case.name,
                case.expected[0]
            );
        }
    }
}

#[test]
fn exported_models_carry_their_metadata() {
    for case in cases::cases() {
        let bytes = std::fs::read(&case.model).unwrap();
        let m = ModelProto::decode(bytes.as_slice()).unwrap();
        let meta: std::collections::HashMap<String, String> = m
            .metadata_props
            .iter()
            .map(|p| (p.key.clone(), p.value.clone()))
            .collect();
        let classes: Vec<String> = serde_json::from_str(&meta["dlp.classes"]).unwrap();
        assert_eq!(classes, case.classes, "{}", case.name);
        assert_eq!(meta["dlp.version"], env!("CARGO_PKG_VERSION"));
        // The pipeline's hash: the md5 of the run folder's pipeline.dlp.
        use md5::Digest;
        let digest = md5::Md5::digest(std::fs::read(case.run.join("pipeline.dlp")).unwrap());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(meta["dlp.pipeline_md5"], hex, "{}", case.name);
        assert!(
            meta["dlp.input"].contains(case.layout),
            "{}: {}",
            case.name,
            meta["dlp.input"]
        );
        assert!(
            meta["dlp.input"].starts_with("input float32 [batch,"),
            "{}",
            meta["dlp.input"]
        );
        assert_eq!(
            meta["dlp.output"],
            format!("probabilities float32 [batch,{}]", case.classes.len())
        );
        assert_eq!(m.opset_import[0].version, 17);
        assert_eq!(m.ir_version, 8);
    }
    let csv = cases::cases().iter().find(|c| c.name == "csv").unwrap();
    let m = ModelProto::decode(std::fs::read(&csv.model).unwrap().as_slice()).unwrap();
    let input = m
        .metadata_props
        .iter()
        .find(|p| p.key == "dlp.input_meaning")
        .unwrap();
    assert_eq!(
        input.value,
        "raw feature values, the CSV columns petal, width, depth, mass in this order"
    );
    let grey = cases::cases()
        .iter()
        .find(|c| c.name == "grayscale")
        .unwrap();
    let m = ModelProto::decode(std::fs::read(&grey.model).unwrap().as_slice()).unwrap();
    let input = m
        .metadata_props
        .iter()
        .find(|p| p.key == "dlp.input")
        .unwrap();
    assert_eq!(input.value, "input float32 [batch,8,8,channels] NHWC");
}

/// The venv's Python with onnx and onnxruntime: `DLP_ONNX_PYTHON`, else
/// `target/onnx-venv/bin/python` in the repository.
fn onnx_python() -> Option<PathBuf> {
    let p = std::env::var_os("DLP_ONNX_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target/onnx-venv/bin/python")
        });
    let ok = std::process::Command::new(&p)
        .args(["-c", "import onnx, onnxruntime, numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(p)
}

fn f32_file(path: &Path, values: impl IntoIterator<Item = f32>) {
    let bytes: Vec<u8> = values.into_iter().flat_map(f32::to_le_bytes).collect();
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn onnx_checker_and_onnxruntime_agree_with_dlp_predict() {
    let Some(python) = onnx_python() else {
        common::skip::skip_unless_allowed(
            "onnxruntime",
            "no Python with onnx, onnxruntime and numpy: set DLP_ONNX_PYTHON or run `python3 -m venv target/onnx-venv && target/onnx-venv/bin/pip install onnx onnxruntime numpy` (.ci/run does)",
        );
        return;
    };
    let dir = cases::root().join("ort");
    std::fs::create_dir_all(&dir).unwrap();
    let mut list = Vec::new();
    for case in cases::cases() {
        let input = dir.join(format!("{}.input.f32", case.name));
        let expected = dir.join(format!("{}.expected.f32", case.name));
        f32_file(&input, case.input.iter().copied());
        f32_file(&expected, case.expected.iter().flatten().copied());
        list.push(serde_json::json!({
            "name": case.name,
            "model": case.model,
            "input": input,
            "input_shape": case.input_shape,
            "expected": expected,
            "expected_shape": [case.expected.len(), case.classes.len()],
            "classes": case.classes,
            "input_layout": case.layout,
        }));
    }
    let spec = dir.join("cases.json");
    std::fs::write(&spec, serde_json::to_string_pretty(&list).unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/onnx-check.py");
    let o = std::process::Command::new(&python)
        .arg(&script)
        .arg(&spec)
        .output()
        .unwrap();
    let (out, err) = (common::stdout(&o), common::stderr(&o));
    eprintln!("{out}{err}");
    assert!(o.status.success(), "onnx-check.py failed:\n{out}{err}");
    assert_eq!(
        out.lines().filter(|l| l.ends_with(": ok")).count(),
        list.len(),
        "{out}"
    );
}
