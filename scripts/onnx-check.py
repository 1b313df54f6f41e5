#!/usr/bin/env python3
"""Checks models written by `dlp export` with the tools users load them with.

Usage: onnx-check.py CASES.json

CASES.json (written by tests/it/export) lists cases, each:
  {"name", "model": path.onnx, "input": raw little-endian float32 file,
   "input_shape": [...], "expected": float32 file of dlp predict's
   probabilities, "expected_shape": [n, k], "classes": [...],
   "input_layout": "NHWC" | "NCHW" | "NF"}

For every case: onnx.checker.check_model(full_check=True) passes; the input
and output are named `input` and `probabilities` with a symbolic batch
dimension; metadata_props carry the class names in order, the dlp version
and the pipeline's hash; ONNX Runtime (CPU) gives dlp predict's
probabilities within 1e-5 with the same argmax, for the whole batch and
for a batch of one. Prints one line per case; exits 1 when any fails.
"""

import json
import sys

import numpy as np
import onnx
import onnxruntime as ort

TOL = 1e-5


def check(case):
    model = onnx.load(case["model"])
    onnx.checker.check_model(model, full_check=True)
    graph = model.graph
    problems = []
    if [i.name for i in graph.input] != ["input"]:
        problems.append(f"inputs {[i.name for i in graph.input]}")
    if [o.name for o in graph.output] != ["probabilities"]:
        problems.append(f"outputs {[o.name for o in graph.output]}")
    batch = graph.input[0].type.tensor_type.shape.dim[0]
    if batch.dim_param != "batch":
        problems.append(f"input batch dimension {batch!r} is not dynamic")
    meta = {p.key: p.value for p in model.metadata_props}
    for key in ["dlp.version", "dlp.classes", "dlp.pipeline_md5", "dlp.input", "dlp.output"]:
        if not meta.get(key):
            problems.append(f"metadata has no {key}")
    if json.loads(meta.get("dlp.classes", "[]")) != case["classes"]:
        problems.append(f"metadata classes {meta.get('dlp.classes')} != {case['classes']}")
    if case["input_layout"] not in meta.get("dlp.input", ""):
        problems.append(f"metadata input {meta.get('dlp.input')!r} does not say {case['input_layout']}")

    x = np.fromfile(case["input"], dtype="<f4").reshape(case["input_shape"])
    want = np.fromfile(case["expected"], dtype="<f4").reshape(case["expected_shape"])
    session = ort.InferenceSession(case["model"], providers=["CPUExecutionProvider"])
    got = session.run(["probabilities"], {"input": x})[0]
    one = session.run(["probabilities"], {"input": x[:1]})[0]
    if got.shape != want.shape:
        problems.append(f"output shape {got.shape}, dlp predict gave {want.shape}")
        diff = float("inf")
    else:
        diff = float(np.max(np.abs(got - want)))
        if not diff <= TOL:
            problems.append(f"max |ORT - dlp predict| = {diff:.3g} > {TOL}")
        differ = int(np.sum(np.argmax(got, axis=1) != np.argmax(want, axis=1)))
        if differ:
            problems.append(f"argmax differs on {differ} of {len(want)} inputs")
        d1 = float(np.max(np.abs(one - want[:1])))
        if not d1 <= TOL:
            problems.append(f"a batch of one differs by {d1:.3g}")
    ops = sorted({n.op_type for n in graph.node})
    status = "ok" if not problems else "FAIL: " + "; ".join(problems)
    print(
        f"{case['name']}: {len(want)} inputs, max diff {diff:.2e}, "
        f"ops {','.join(ops)}, onnx {onnx.__version__}, onnxruntime {ort.__version__}: {status}"
    )
    return not problems


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    ok = True
    for case in cases:
        try:
            ok &= check(case)
        except Exception as e:  # a checker or runtime error fails the case, named
            print(f"{case['name']}: FAIL: {type(e).__name__}: {e}")
            ok = False
    return 0 if ok and cases else 1


if __name__ == "__main__":
    sys.exit(main())
