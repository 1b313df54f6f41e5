#!/usr/bin/env bash
# Installs what scripts/dist.sh built, as a user would, and runs it from a
# folder outside the repository:
#
#   scripts/dist-test.sh [DIR]     DIR: what dist.sh wrote (default target/dist-out)
#
# - the `dlp-pipelines` wheel (the `dlp` command): `pip install` into a
#   fresh venv (with --no-index: the wheel needs nothing else), then
#   `dlp --version`, `dlp check` of the repository's pipelines and
#   `dlp run pipelines/blobs.dlp`, with the venv's bin/ as the only dlp
#   on PATH;
# - the archive: its SHA-256 file checked, unpacked into an empty folder,
#   its file list, its completions (bash -n, and zsh/fish -n where those
#   shells are installed) and the same three commands; its run must write
#   the wheel run's train.csv and eval.csv byte for byte (one binary, one seed);
# - the binary: `readelf` shows no library beyond manylinux_2_28's (glibc's
#   and libgcc_s) and no symbol version newer than GLIBC_2.28; `ldd`
#   resolves every library;
# - the `dlp-pipelines-cuda` wheel, when DIR has one: installed the same
#   way, it runs on the CPU where no CUDA library is present (`--device
#   auto` says so on stderr and trains; `--device cuda` exits 1 naming the
#   missing driver), and its binary passes the same readelf checks; with
#   NVIDIA's cuRAND wheel installed from PyPI into that venv, `--device
#   cuda` opens libcurand.so.10 from site-packages/nvidia/cu13/lib
#   (LD_DEBUG=files shows it) before it finds no driver.
#
# Needs python3 with venv, readelf and ldd (binutils, libc-bin). Writes only
# under a temporary folder, removed at the end. Exits 1 at the first failure.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=$(cd "${1:-$root/target/dist-out}" 2>/dev/null && pwd) ||
    { echo "dist-test: error: ${1:-$root/target/dist-out} not found: run scripts/dist.sh first" >&2; exit 1; }
triple=x86_64-unknown-linux-gnu
glibc_max=2.28
epochs=${DLP_DIST_TEST_EPOCHS:-40}

step_started=$SECONDS
say() { printf 'dist-test: %s\n' "$*" >&2; }
die() {
    printf 'dist-test: FAIL: %s\n' "$*" >&2
    exit 1
}
step() {
    say "($((SECONDS - step_started)) s) $*"
    step_started=$SECONDS
}
for tool in python3 readelf ldd sha256sum tar; do
    command -v "$tool" >/dev/null || die "$tool is needed"
done

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -1)
[[ -n $version ]] || die "no version in $root/Cargo.toml"
wheel=$dir/dlp_pipelines-$version-py3-none-manylinux_2_28_x86_64.whl
cuda_wheel=$dir/dlp_pipelines_cuda-$version-py3-none-manylinux_2_28_x86_64.whl
archive=$dir/dlp-$version-$triple.tar.gz
[[ -f $wheel ]] || die "no $wheel: run scripts/dist.sh"
[[ -f $archive && -f $archive.sha256 ]] || die "no $archive(.sha256): run scripts/dist.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dlp-dist-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
case $tmp/ in "$root"/*) die "the temporary folder $tmp is inside the repository" ;; esac
mkdir -p "$tmp/pipelines"
cp "$root"/pipelines/*.dlp "$tmp/pipelines/"
# Nothing of the repository or of the developer's cargo on PATH.
base_path=/usr/local/bin:/usr/bin:/bin

# The readelf checks of one binary: libraries and glibc symbol versions.
check_elf() {
    local bin=$1 needed lib versions newest
    needed=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
    [[ -n $needed ]] || die "$bin: readelf -d lists no NEEDED library (not a dynamic executable?)"
    for lib in $needed; do
        case $lib in
            libc.so.6 | libm.so.6 | libpthread.so.0 | libdl.so.2 | librt.so.1 | libgcc_s.so.1 | ld-linux-x86-64.so.2) ;;
            *) die "$bin needs $lib, beyond manylinux_2_28's glibc and libgcc_s (readelf -d)" ;;
        esac
    done
    if readelf -d "$bin" | grep -q -E '\((RPATH|RUNPATH)\)'; then
        die "$bin has an RPATH/RUNPATH (readelf -d): $(readelf -d "$bin" | grep -E 'RPATH|RUNPATH')"
    fi
    versions=$(readelf -V "$bin" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -u -V)
    newest=$(tail -1 <<<"$versions")
    [[ -n $newest ]] || die "$bin: readelf -V shows no GLIBC_ symbol version"
    [[ $(printf '%s\n%s\n' "$newest" "$glibc_max" | sort -V | tail -1) == "$glibc_max" ]] ||
        die "$bin needs GLIBC_$newest, newer than $glibc_max (readelf -V)"
    if ldd "$bin" | grep -q 'not found'; then
        die "ldd $bin: $(ldd "$bin" | grep 'not found')"
    fi
    say "$bin: needs $(tr '\n' ' ' <<<"$needed"); newest symbol version GLIBC_$newest (<= $glibc_max)"
}

# --version, check and a short blobs run, in $work, with $bin_dir first on
# PATH; extra arguments go to `dlp run`.
quiet=(--quiet)
use_as_user() {
    local bin_dir=$1 work=$2 shown
    shift 2
    mkdir -p "$work"
    cp -r "$tmp/pipelines" "$work/"
    cd "$work"
    [[ $(PATH=$bin_dir:$base_path command -v dlp) == "$bin_dir/dlp" ]] ||
        die "dlp on PATH is not $bin_dir/dlp"
    shown=$(PATH=$bin_dir:$base_path dlp --version) || die "dlp --version failed"
    [[ $shown == "dlp $version" ]] || die "dlp --version printed '$shown', not 'dlp $version'"
    PATH=$bin_dir:$base_path dlp check pipelines/*.dlp || die "dlp check pipelines/*.dlp failed in $work"
    PATH=$bin_dir:$base_path dlp run pipelines/blobs.dlp --set "train.epochs=$epochs" "${quiet[@]}" "$@" ||
        die "dlp run pipelines/blobs.dlp failed in $work"
    run=$(find "$work/runs/blobs" -mindepth 1 -maxdepth 1 -type d)
    [[ $(wc -l <<<"$run") == 1 && -n $run ]] || die "expected one run folder under $work/runs/blobs, found: $run"
    for f in train.csv eval.csv run.yaml; do
        [[ -s $run/$f ]] || die "the run in $run wrote no $f"
    done
    cd "$tmp"
}

# 1. The wheel, into a fresh venv.
python3 -m venv "$tmp/venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
"$tmp/venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-index "$wheel" ||
    die "pip install $wheel failed"
[[ -x $tmp/venv/bin/dlp ]] || die "pip install put no dlp into $tmp/venv/bin"
step "pip installed $(basename "$wheel") into a fresh venv"
check_elf "$tmp/venv/bin/dlp"
use_as_user "$tmp/venv/bin" "$tmp/wheel-work"
wheel_run=$run
step "wheel: dlp --version, dlp check pipelines/*.dlp, dlp run pipelines/blobs.dlp --set train.epochs=$epochs"

# 2. The archive, checked and unpacked into an empty folder.
(cd "$(dirname "$archive")" && sha256sum --quiet -c "$(basename "$archive").sha256") ||
    die "$archive does not match its .sha256"
mkdir "$tmp/unpacked"
tar -xzf "$archive" -C "$tmp/unpacked"
name=dlp-$version-$triple
listed=$(cd "$tmp/unpacked" && find . -type f | sort | tr '\n' ' ')
expected="./$name/LICENSE-APACHE ./$name/LICENSE-MIT ./$name/README.md ./$name/THIRD-PARTY-LICENSES.md ./$name/completions/_dlp ./$name/completions/dlp.bash ./$name/completions/dlp.fish ./$name/dlp "
[[ $listed == "$expected" ]] || die "the archive holds: $listed; expected: $expected"
cmp -s "$tmp/unpacked/$name/dlp" "$tmp/venv/bin/dlp" || die "the archive's dlp is not the wheel's"
bash -n "$tmp/unpacked/$name/completions/dlp.bash" || die "bash -n completions/dlp.bash"
grep -q -- '--device' "$tmp/unpacked/$name/completions/dlp.bash" || die "completions/dlp.bash does not complete --device"
if command -v zsh >/dev/null; then zsh -n "$tmp/unpacked/$name/completions/_dlp" || die "zsh -n completions/_dlp"; fi
if command -v fish >/dev/null; then fish -n "$tmp/unpacked/$name/completions/dlp.fish" || die "fish -n completions/dlp.fish"; fi
grep -q '^# Third-party licences' "$tmp/unpacked/$name/THIRD-PARTY-LICENSES.md" || die "THIRD-PARTY-LICENSES.md is not the notice"
use_as_user "$tmp/unpacked/$name" "$tmp/archive-work"
for f in train.csv eval.csv; do
    cmp -s "$wheel_run/$f" "$run/$f" || die "the archive's run wrote another $f than the wheel's (same binary, same seed)"
done
step "archive: sha256, file list, completions, the same commands, the same train.csv and eval.csv"

# 3. The CUDA wheel, where dist.sh built one: its CPU path.
if [[ -f $cuda_wheel ]]; then
    python3 -m venv "$tmp/cuda-venv"
    "$tmp/cuda-venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-index "$cuda_wheel" ||
        die "pip install $cuda_wheel failed"
    check_elf "$tmp/cuda-venv/bin/dlp"
    if ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1'; then
        die "this machine has libcuda.so.1: the CPU-path test of the CUDA wheel needs a machine without the NVIDIA driver"
    fi
    quiet=() # --quiet would hide the note on the CPU fallback
    use_as_user "$tmp/cuda-venv/bin" "$tmp/cuda-work" --device auto 2>"$tmp/cuda-auto.err" ||
        die "dlp-pipelines-cuda --device auto: $(cat "$tmp/cuda-auto.err")"
    grep -q 'note: device auto: no usable CUDA GPU (no CUDA driver: libcuda.so.1 not found); using the CPU' "$tmp/cuda-auto.err" ||
        die "dlp-pipelines-cuda --device auto did not say it fell back to the CPU: $(cat "$tmp/cuda-auto.err")"
    for f in train.csv eval.csv; do
        cmp -s "$wheel_run/$f" "$run/$f" || die "dlp-pipelines-cuda on the CPU wrote another $f than dlp (same seed)"
    done
    set +e
    (cd "$tmp/cuda-work" && PATH=$tmp/cuda-venv/bin:$base_path dlp run pipelines/blobs.dlp --device cuda) 2>"$tmp/cuda.err"
    status=$?
    set -e
    [[ $status == 1 ]] || die "dlp-pipelines-cuda --device cuda without a driver exited $status, not 1"
    grep -q 'error: device cuda:0: no CUDA driver: libcuda.so.1 not found' "$tmp/cuda.err" ||
        die "dlp-pipelines-cuda --device cuda without a driver said: $(cat "$tmp/cuda.err")"
    step "dlp-pipelines-cuda wheel: installed; --device auto trains on the CPU (same files as dlp); --device cuda exits 1 naming libcuda.so.1"
    # NVIDIA's libraries from wheels (src/run/nvidia_wheels.rs): with the
    # real cuRAND wheel (and the CUDA runtime it needs) in the venv, asking
    # for the GPU opens it from site-packages/nvidia/cu13/lib, as the
    # loader's own log shows, before it finds no driver. The other wheels of
    # the `cu13` extra (cuBLAS, cuDNN: about 1.5 GB) are left out.
    "$tmp/cuda-venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "nvidia-cuda-runtime==13.0.*" "nvidia-curand==10.4.0.*" ||
        die "pip could not install nvidia-cuda-runtime and nvidia-curand from PyPI"
    curand=$(echo "$tmp"/cuda-venv/lib/python3*/site-packages/nvidia/cu13/lib/libcurand.so.10)
    [[ -f $curand ]] || die "the nvidia-curand wheel put no libcurand.so.10 in site-packages/nvidia/cu13/lib"
    set +e
    (cd "$tmp/cuda-work" && LD_DEBUG=files PATH=$tmp/cuda-venv/bin:$base_path dlp run pipelines/blobs.dlp --device cuda) 2>"$tmp/cuda-ld.err"
    status=$?
    set -e
    [[ $status == 1 ]] || die "dlp-pipelines-cuda --device cuda with the cuRAND wheel exited $status, not 1"
    grep -q "calling init: $curand\$" "$tmp/cuda-ld.err" ||
        die "dlp --device cuda did not load $curand (LD_DEBUG=files: $(grep -i curand "$tmp/cuda-ld.err" | head -5))"
    grep -q 'error: device cuda:0: no CUDA driver: libcuda.so.1 not found' "$tmp/cuda-ld.err" ||
        die "dlp-pipelines-cuda --device cuda with the cuRAND wheel said: $(grep -v ': *file=\|calling\|opening' "$tmp/cuda-ld.err" | tail -5)"
    step "dlp-pipelines-cuda: --device cuda loads libcuRAND from the nvidia-curand wheel in its venv (LD_DEBUG=files)"
else
    say "no $(basename "$cuda_wheel") in $dir (scripts/dist.sh --no-cuda?): the CUDA wheel is not tested"
fi
say "all checks passed"
