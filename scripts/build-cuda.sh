#!/usr/bin/env bash
# Builds dlp with the `cuda` feature, here, for a GPU machine: no CUDA
# toolkit, no GPU and no cargo are needed where it runs, only the NVIDIA
# driver (and the CUDA 13 libraries it loads on first use: cuBLAS, cuRAND,
# NVRTC, cuDNN 9). The same binary runs `--device cpu` anywhere.
#
#   scripts/build-cuda.sh                        the release binary
#   scripts/build-cuda.sh --example conv_bench   extra arguments go to cargo
#   scripts/build-cuda.sh test --no-run          the test binaries, unrun
#   scripts/build-cuda.sh clippy -- -D warnings  lint the CUDA code paths
#
# A first argument `build` (the default), `test`, `check` or `clippy` is
# the cargo command. It prints the path of every executable it built.
# `scripts/build-cuda.sh env` only installs the toolchain and prints the
# environment a CUDA build needs, as shell `export` lines (scripts/dist.sh
# evaluates them to build the CUDA wheel with maturin).
#
# Needs a Rust toolchain, python3 with venv, a C++ compiler for nvcc (g++),
# and PyPI on the first run. Downloads into target/cuda-toolchain/ (once):
# nvcc, its headers and libraries for CUDA 13.0 from NVIDIA's wheels, zig
# and cargo-zigbuild. nvcc compiles candle's kernels to PTX for sm_90a (H100,
# H200); CUDA_COMPUTE_CAP picks another GPU. CUDA stays at 13.0 on purpose:
# a newer nvcc writes PTX that driver 580 (CUDA 13.0) cannot load. zig links
# against glibc 2.28, so older distributions run the binary too.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

cache=$root/target/cuda-toolchain
venv=$cache/venv
triple=x86_64-unknown-linux-gnu
glibc=2.28
packages=(
    nvidia-cuda-nvcc==13.0.88
    nvidia-cuda-crt==13.0.88
    nvidia-nvvm==13.0.88
    nvidia-cuda-runtime==13.0.96
    nvidia-cuda-cccl==13.0.85
    ziglang==0.15.2
    cargo-zigbuild==0.24.1
)

say() { printf 'build-cuda: %s\n' "$*" >&2; }
die() {
    printf 'build-cuda: error: %s\n' "$*" >&2
    exit 1
}

command=zigbuild
case "${1:-}" in
    build) shift ;;
    test | check | clippy | env)
        command=$1
        shift
        ;;
esac

command -v cargo >/dev/null || die "cargo not found: install a Rust toolchain (rustup.rs)"
command -v python3 >/dev/null || die "python3 not found: it installs nvcc and zig from PyPI"
ccbin=${NVCC_CCBIN:-g++}
command -v "$ccbin" >/dev/null ||
    die "nvcc needs a host C++ compiler and '$ccbin' is not installed: install g++ (Debian, Ubuntu: apt-get install g++) or set NVCC_CCBIN"
started=$SECONDS

# 1. nvcc, CUDA headers, zig and cargo-zigbuild, in a virtual environment
#    made again whenever the list above changes.
wanted=$(printf '%s\n' "${packages[@]}")
if [[ ! -x $venv/bin/python || "$(cat "$venv/dlp-packages.txt" 2>/dev/null)" != "$wanted" ]]; then
    say "installing the CUDA 13.0 compiler, zig and cargo-zigbuild into $venv (about 0.7 GB) ..."
    rm -rf "$venv"
    mkdir -p "$cache"
    python3 -m venv "$venv" ||
        die "python3 -m venv failed: install the venv module (Debian, Ubuntu: apt-get install python3-venv)"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${packages[@]}" ||
        die "pip could not install ${packages[*]}"
    printf '%s\n' "$wanted" >"$venv/dlp-packages.txt"
fi
cu=$(echo "$venv"/lib/python3*/site-packages/nvidia/cu13)
[[ -x $cu/bin/nvcc ]] || die "no nvcc at $cu/bin/nvcc: remove $venv and run again"
release=$("$cu/bin/nvcc" --version | sed -n 's/.*release \([0-9.]*\),.*/\1/p')
[[ $release == 13.0 ]] || die "$cu/bin/nvcc is CUDA $release, not 13.0: remove $venv and run again"

# 2. Build. nvcc and the CUDA version for cudarc and candle-kernels; zig
#    (from the venv's python) as the linker, against glibc 2.28.
export PATH=$venv/bin:$cu/bin:$PATH
export NVCC=$cu/bin/nvcc CUDA_HOME=$cu CUDA_PATH=$cu CUDA_ROOT=$cu
export CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-90}
export CUDARC_CUDA_VERSION=13000
export CARGO_ZIGBUILD_PYTHON_PATH=$venv/bin/python
if [[ $command == env ]]; then
    for name in PATH NVCC CUDA_HOME CUDA_PATH CUDA_ROOT CUDA_COMPUTE_CAP CUDARC_CUDA_VERSION; do
        printf 'export %s=%q\n' "$name" "${!name}"
    done
    exit 0
fi

shown=$command
[[ $command == zigbuild ]] && shown=build
say "cargo $shown --release --features cuda --target $triple.$glibc $*"
if ! compgen -G "target/$triple/release/build/candle-kernels-*/out/ptx.rs" >/dev/null; then
    say "the first build compiles candle's CUDA kernels with nvcc: a few minutes on 2 cores"
fi
# cargo's JSON messages on stdout name the executables it built; its other
# output there (a test run's) passes through.
"$venv/bin/cargo-zigbuild" "$command" --release --features cuda \
    --target "$triple.$glibc" --message-format=json-render-diagnostics "$@" |
    "$venv/bin/python" -c '
import json, os, sys
built = []
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        m = None
    if not isinstance(m, dict) or "reason" not in m:
        sys.stdout.write(line)
        sys.stdout.flush()
        continue
    if m["reason"] != "compiler-artifact" or not m.get("executable"):
        continue
    kind, name = m["target"]["kind"][0], m["target"]["name"]
    if kind == "custom-build":
        continue
    if m["profile"]["test"]:
        kind = "test" if kind == "test" else kind + " tests"
    built.append(kind + " " + name + ": " + os.path.relpath(m["executable"]))
if built:
    print("built:", *built, sep="\n  ")
'
say "done in $((SECONDS - started)) s"
