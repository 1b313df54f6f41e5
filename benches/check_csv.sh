#!/usr/bin/env bash
# How long `dlp check` takes to read a large CSV source as `dlp run` will
# (labels, cell types, splits): a generated file of about MB megabytes
# (default 100), 20 Gaussian features and 5 text classes, then
# `/usr/bin/time -v dlp check` on a pipeline reading it.
#
#   benches/check_csv.sh [MB]
#
# README, "What `dlp check` reads", quotes its figure.
set -euo pipefail
mb=${1:-100}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
python3 - "$dir/big.csv" "$mb" <<'PY'
import random, sys
random.seed(1)
path, mb = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    f.write(",".join(f"f{i}" for i in range(20)) + ",label\n")
    size = rows = 0
    while size < mb * 1024 * 1024:
        line = ",".join(f"{random.gauss(0, 1):.5f}" for _ in range(20)) + f",c{random.randrange(5)}\n"
        f.write(line)
        size += len(line)
        rows += 1
print(f"{rows} rows, {size / 1e6:.1f} MB", file=sys.stderr)
PY
cat > "$dir/big.dlp" <<'DLP'
seed 1
data {
  source csv "big.csv" label=label
  split train=0.8 test=0.2
}
preprocess { normalize mean_std }
model {
  dense 16 activation=relu
  dense 5
}
train {
  loss cross_entropy
  epochs 1
}
DLP
cargo build --release --quiet
/usr/bin/time -v "${CARGO_TARGET_DIR:-target}/release/dlp" check "$dir/big.dlp" 2>&1 |
    grep -E ": ok|error|Elapsed|Maximum resident"
