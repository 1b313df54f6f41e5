#!/usr/bin/env bash
# Builds, here, what scripts/gpu-check.sh runs on a GPU machine that has
# no cargo: the CUDA `dlp`, the integration-test binary `it` and the
# `gen_cifar` example, all with the `cuda` feature (scripts/build-cuda.sh),
# stripped into target/gpu-carry/ and packed as target/gpu-carry.tar.xz
# (about 90 MB unpacked, 15 MB packed: the `device` tool carries 64 MiB).
# Then, with the `device` tool: carry `target/gpu-carry.tar.xz` and run
# `scripts/gpu-check.sh`, which unpacks it.
set -euo pipefail
cd "$(dirname "$0")/.."

dest=target/gpu-carry
mkdir -p "$dest"
list=$(mktemp)
trap 'rm -f "$list"' EXIT
scripts/build-cuda.sh build --bin dlp --example gen_cifar | tee "$list"
scripts/build-cuda.sh test --no-run --test it | tee -a "$list"
# Lines "KIND NAME: PATH" name what cargo built.
copy() {
    local path
    path=$(awk -v want="$1" '$2 == want":" { print $3 }' "$list" | tail -n 1)
    [[ -n $path ]] || { echo "gpu-carry: the build named no $1" >&2; exit 1; }
    cp "$path" "$dest/$2"
    strip "$dest/$2"
}
copy dlp dlp
copy gen_cifar gen_cifar
copy it it
tar -C target -cJf target/gpu-carry.tar.xz gpu-carry
ls -l "$dest" target/gpu-carry.tar.xz
