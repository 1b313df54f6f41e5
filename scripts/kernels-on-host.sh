#!/usr/bin/env bash
# Checks the logic of the CUDA kernels (kernels/src/dlp.cu) on a machine
# without a GPU: compiles them as C++ for the CPU (kernels/host/emu.h runs
# a block's threads as real threads that meet at __syncthreads) and
# compares every kernel (pooling, ChaCha8 against its published test
# vector, dropout masks, batch norm, the element-wise kernels and the Adam
# step) with numpy references (kernels/host/check.py). Needs g++ 11 or
# newer (C++20) and a Python with numpy: $PYTHON, else python3 (.ci/run
# makes a venv, target/kernels-venv); takes a few seconds. It does not replace the GPU
# checks (scripts/gpu-check.sh): the launch code in src/ops/cuda, cuDNN,
# the GPU's rounding and speed are checked only there.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/kernels-host
mkdir -p "$out"
for harness in pool_dropout batch_norm elementwise; do
    g++ -std=c++20 -O1 -pthread -w -o "$out/$harness" "kernels/host/$harness.cpp"
done
"${PYTHON:-python3}" kernels/host/check.py "$out"
