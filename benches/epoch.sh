#!/usr/bin/env bash
# Whole-epoch speed: `dlp run` against the plain PyTorch loop of
# benches/pytorch_epoch.py, the book's CIFAR-10 pipeline without
# augmentation on a synthetic CIFAR-10-format set, interleaved rounds.
#
#   benches/epoch.sh [ROUNDS] [TRAIN] [VALID]      (default 5 3600 400)
#
# Each side runs as a whole process with 1 and with 1 + EPOCHS epochs
# (EPOCHS default 4); one epoch is the difference over EPOCHS, so start-up,
# loading, the test pass and the diagnosis cancel and what is left is the
# epoch a user waits for: batches, training step, training metrics,
# validation, train.csv, checkpoint and resume file. Prints a row per round and the medians (the ratio's is the
# median of the rounds' ratios); ratio > 1 means dlp is faster. Threads:
# THREADS (default: all cores) for both sides.
#
# Needs a release build (`cargo build --release`) and `pip install torch
# numpy` (PYTHON selects the interpreter). The data is generated once into
# DATA (default $TMPDIR/dlp-epoch-cifar-TRAIN-VALID).
set -euo pipefail
rounds=${1:-5}
train=${2:-3600}
valid=${3:-400}
here=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$here/target}/release
dlp=$target/dlp
python=${PYTHON:-python3}
threads=${THREADS:-$(nproc)}
extra=${EPOCHS:-4}
data=${DATA:-${TMPDIR:-/tmp}/dlp-epoch-cifar-$train-$valid}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

[ -x "$dlp" ] || { echo "build first: cargo build --release" >&2; exit 1; }
if [ ! -d "$data/cifar10" ]; then
  (cd "$here" && cargo run -q --release --example gen_cifar -- "$data" $((train + valid)) 400)
fi
# The shipped pipeline, augmentation removed (PyTorch's loop has none).
sed '/^augment {/,/^}/d' "$here/pipelines/cifar10.dlp" > "$work/cifar10.dlp"

seconds() { # COMMAND... -> wall seconds on stdout, the command's output discarded
  local start end
  start=$(date +%s.%N)
  "$@" > /dev/null
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}
run_dlp() {
  RAYON_NUM_THREADS=$threads DLP_DATA=$data "$dlp" run "$work/cifar10.dlp" -q \
    --out "$work/dlp-$1-$RANDOM" --set data.split.train="$train" \
    --set data.split.valid="$valid" --set train.epochs="$1"
}
run_torch() {
  "$python" "$here/benches/pytorch_epoch.py" --data "$data" --train "$train" \
    --valid "$valid" --epochs "$1" --threads "$threads" --out "$work/torch-$1-$RANDOM"
}

echo "# $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $threads threads," \
  "$(grep -o -m1 'avx512f' /proc/cpuinfo || echo 'no avx512'), train $train valid $valid batch 128"
echo "round,load,pytorch_epoch_s,dlp_epoch_s,ratio"
rows=()
for round in $(seq 1 "$rounds"); do
  load=$(cut -d' ' -f1 /proc/loadavg)
  t1=$(seconds run_torch 1)
  d1=$(seconds run_dlp 1)
  tn=$(seconds run_torch $((1 + extra)))
  dn=$(seconds run_dlp $((1 + extra)))
  row=$(echo "($tn - $t1) / $extra; ($dn - $d1) / $extra" | bc -l | paste -sd' ')
  read -r te de <<< "$row"
  printf '%s,%s,%.2f,%.2f,%.2f\n' "$round" "$load" "$te" "$de" "$(echo "$te / $de" | bc -l)"
  rows+=("$te $de")
  rm -rf "$work"/dlp-* "$work"/torch-*
done
printf '%s\n' "${rows[@]}" | awk '
  { t[NR] = $1; d[NR] = $2; r[NR] = $1 / $2 }
  function median(a, n,   i, j, s, tmp) {
    for (i = 1; i <= n; i++) s[i] = a[i]
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (s[j] < s[i]) { tmp = s[i]; s[i] = s[j]; s[j] = tmp }
    return n % 2 ? s[(n + 1) / 2] : (s[n / 2] + s[n / 2 + 1]) / 2
  }
  END { printf "median,,%.2f,%.2f,%.2f\n", median(t, NR), median(d, NR), median(r, NR) }'
