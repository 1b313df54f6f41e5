#!/usr/bin/env bash
# Builds what a release ships, for x86_64 Linux with glibc 2.28 or newer
# (manylinux_2_28), into target/dist-out/:
#
#   dlp_pipelines-<version>-py3-none-manylinux_2_28_x86_64.whl
#       `pip install dlp-pipelines`: the `dlp` command, CPU
#   dlp_pipelines_cuda-<version>-py3-none-manylinux_2_28_x86_64.whl
#       `pip install "dlp-pipelines-cuda[cu13]"`: the `dlp` command, CUDA
#   dlp-<version>-x86_64-unknown-linux-gnu.tar.gz (+ .sha256)   the CPU binary, README,
#       licences, THIRD-PARTY-LICENSES.md, bash/zsh/fish completions
#   SHA256SUMS                                               every file above
#
#   scripts/dist.sh            all of it (the CUDA wheel: nvcc from PyPI, see scripts/build-cuda.sh)
#   scripts/dist.sh --no-cuda  the CPU wheel and the archive only
#
# The version is Cargo.toml's. maturin (bindings = "bin", pyproject.toml)
# packs the binary; zig (the `ziglang` wheel) links it against glibc 2.28.
# Both come from PyPI into target/dist-venv/ (once; 430 MB unpacked, most
# of it zig). The
# compile goes to its own target folder, $CARGO_TARGET_DIR/dist (default
# target/dist), so it leaves the usual build alone; it is a full release
# build the first time (about as long as `cargo build --release`).
# THIRD-PARTY-LICENSES.md is written again first
# (scripts/third-party-licenses.py): commit it when it changes.
# scripts/dist-test.sh installs and runs what this builds.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

triple=x86_64-unknown-linux-gnu
manylinux=manylinux_2_28
venv=$root/target/dist-venv
out=${DLP_DIST_OUT:-$root/target/dist-out}
packages=(maturin==1.16.0 ziglang==0.15.2)

say() { printf 'dist: %s\n' "$*" >&2; }
die() {
    printf 'dist: error: %s\n' "$*" >&2
    exit 1
}

cuda=1
for arg in "$@"; do
    case $arg in
        --no-cuda) cuda=0 ;;
        -h | --help)
            sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
            exit 0
            ;;
        *) die "unknown argument '$arg' (--no-cuda, --help)" ;;
    esac
done

command -v cargo >/dev/null || die "cargo not found: install a Rust toolchain (rustup.rs)"
command -v python3 >/dev/null || die "python3 not found: maturin and zig come from PyPI"
started=$SECONDS

# 1. maturin and zig, in a virtual environment made again whenever the list
#    above changes.
wanted=$(printf '%s\n' "${packages[@]}")
if [[ ! -x $venv/bin/python || "$(cat "$venv/dlp-packages.txt" 2>/dev/null)" != "$wanted" ]]; then
    say "installing ${packages[*]} into $venv ..."
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    python3 -m venv "$venv" ||
        die "python3 -m venv failed: install the venv module (Debian, Ubuntu: apt-get install python3-venv)"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${packages[@]}" ||
        die "pip could not install ${packages[*]}"
    printf '%s\n' "$wanted" >"$venv/dlp-packages.txt"
fi
export PATH=$venv/bin:$PATH

version=$(cargo metadata --format-version 1 --no-deps --locked |
    python3 -c 'import json, sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "dlp"))') ||
    die "cannot read dlp's version from Cargo.toml"
say "dlp $version for $triple ($manylinux)"

# 2. The licences of what is compiled in.
python3 scripts/third-party-licenses.py

rm -rf "$out"
mkdir -p "$out"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}/dist

# 3. The CPU wheel.
maturin_build=(maturin build --release --locked --zig --compatibility "$manylinux" --target "$triple")
say "${maturin_build[*]} (the CPU wheel)"
"${maturin_build[@]}" --out "$out" ||
    die "maturin could not build the CPU wheel"
wheel=$out/dlp_pipelines-$version-py3-none-${manylinux}_x86_64.whl
[[ -f $wheel ]] || die "maturin wrote no $wheel (it wrote: $(ls "$out"))"

# 4. The release archive, from the wheel's own binary: the same bytes.
name=dlp-$version-$triple
stage=$root/target/dist-stage
rm -rf "$stage"
mkdir -p "$stage/$name/completions"
python3 - "$wheel" "$stage/$name/dlp" "dlp_pipelines-$version.data/scripts/dlp" <<'EOF'
import os, shutil, sys, zipfile
wheel, dest, member = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(dest, "wb") as dst:
    shutil.copyfileobj(src, dst)
os.chmod(dest, 0o755)
EOF
cp README.md LICENSE-MIT LICENSE-APACHE THIRD-PARTY-LICENSES.md "$stage/$name/"
"$stage/$name/dlp" completions bash >"$stage/$name/completions/dlp.bash"
"$stage/$name/dlp" completions zsh >"$stage/$name/completions/_dlp"
"$stage/$name/dlp" completions fish >"$stage/$name/completions/dlp.fish"
for f in "$stage/$name"/completions/*; do
    [[ -s $f ]] || die "dlp completions wrote nothing into $f"
done
# Reproducible: sorted names, no owner, the last commit's time.
epoch=$(git log -1 --format=%ct 2>/dev/null || echo 0)
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" \
    --mode='u+rwX,go+rX,go-w' -C "$stage" -cf - "$name" | gzip -9n >"$out/$name.tar.gz"
(cd "$out" && sha256sum "$name.tar.gz" >"$name.tar.gz.sha256")
rm -rf "$stage"

# 5. The CUDA wheel: the same pyproject.toml, named dlp-pipelines-cuda, built with the
#    `cuda` feature and nvcc (scripts/build-cuda.sh's toolchain), with an
#    extra `cu13` that brings NVIDIA's CUDA 13 libraries as wheels.
if ((cuda)); then
    eval "$(scripts/build-cuda.sh env)"
    project=$root/target/dist-cuda-project
    rm -rf "$project"
    mkdir -p "$project"
    cp README.md LICENSE-MIT LICENSE-APACHE THIRD-PARTY-LICENSES.md "$project/"
    python3 - pyproject.toml "$project/pyproject.toml" "$root/Cargo.toml" <<'EOF'
import sys
src, dest, manifest = sys.argv[1:]
text = open(src, encoding="utf-8").read()
def swap(old, new):
    global text
    if text.count(old) != 1:
        sys.exit(f"dist: error: pyproject.toml: expected one {old!r} to derive the CUDA wheel's metadata")
    text = text.replace(old, new)
swap('name = "dlp-pipelines"\n', 'name = "dlp-pipelines-cuda"\n')
swap('description = "', 'description = "NVIDIA CUDA build of dlp. ')
swap('    "Environment :: Console",\n', '    "Environment :: Console",\n    "Environment :: GPU :: NVIDIA CUDA :: 13",\n')
swap('dynamic = ["version"]\n', '''dynamic = ["version"]

[project.optional-dependencies]
# NVIDIA's CUDA 13 libraries as wheels (PyTorch's layout,
# site-packages/nvidia/*/lib): `pip install "dlp-pipelines-cuda[cu13]"`. dlp finds
# them there at run time (src/run/nvidia_wheels.rs); the driver (580 or
# newer) comes from the system. The versions of CUDA 13.0, as the build:
# a newer NVRTC writes PTX that driver 580 cannot load.
cu13 = [
    "nvidia-cuda-runtime==13.0.*",
    "nvidia-cublas==13.1.*",
    "nvidia-curand==10.4.0.*",
    "nvidia-cuda-nvrtc==13.0.*",
    "nvidia-cudnn-cu13==9.*",
]
''')
swap('bindings = "bin"\n', f'bindings = "bin"\nmanifest-path = "{manifest}"\nfeatures = ["cuda"]\n')
open(dest, "w", encoding="utf-8").write(text)
EOF
    say "${maturin_build[*]} --features cuda (the CUDA wheel; the first time compiles candle's kernels with nvcc)"
    (cd "$project" && "${maturin_build[@]}" --out "$out") ||
        die "maturin could not build the CUDA wheel"
    [[ -f $out/dlp_pipelines_cuda-$version-py3-none-${manylinux}_x86_64.whl ]] ||
        die "maturin wrote no dlp_pipelines_cuda wheel (it wrote: $(ls "$out"))"
fi

(cd "$out" && sha256sum -- *.whl *.tar.gz >SHA256SUMS)
say "done in $((SECONDS - started)) s:"
(cd "$out" && ls -l -- *) >&2
