#!/usr/bin/env bash
# Interleaved speed comparison on this machine: PyTorch against conv_bench
# (candle reference ops, custom conv/pool only, all custom ops), ROUNDS
# rounds, so background load hits every contender alike. Prints the load
# average with each round; compare the medians across rounds.
#
#   benches/interleaved.sh [THREADS] [ROUNDS] [REPS]
#
# Needs `pip install torch` and a release build of the example:
#   cargo build --release --example conv_bench
set -euo pipefail
threads=${1:-2}
rounds=${2:-3}
reps=${3:-5}
here=$(cd "$(dirname "$0")/.." && pwd)
bench=${CARGO_TARGET_DIR:-$here/target}/release/examples/conv_bench
for round in $(seq 1 "$rounds"); do
  echo "== round $round, load: $(cut -d' ' -f1-3 /proc/loadavg)"
  python3 "$here/benches/pytorch_reference.py" --threads "$threads" --reps "$reps" | sed 's/^/[pytorch] /' | grep -v torch=
  "$bench" --threads "$threads" --reps "$reps" --ops fast | grep img_per_s
  if [ "$round" = 1 ]; then
    "$bench" --threads "$threads" --reps 2 --ops conv-only | grep img_per_s
    "$bench" --threads "$threads" --reps 2 --ops reference | grep img_per_s
  fi
done
