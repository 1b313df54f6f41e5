#!/usr/bin/env bash
# The GPU checks of the CUDA backend, run on a machine with an NVIDIA GPU
# from binaries that `scripts/gpu-carry.sh` built here (no cargo there):
#
#   scripts/gpu-check.sh [STEP...]        results under $OUT (or gpu-check/)
#
# Steps, all by default, in this order (each logs to $OUT/STEP.log, adds
# a line to $OUT/summary.txt and goes on when one fails):
#   gpu      nvidia-smi
#   ops      every op test once per device, the CUDA variants required
#            (NVIDIA_TF32_OVERRIDE=0: the references are f32)
#   bench    `dlp bench --device cuda` and benches/pytorch_reference.py
#            --device cuda, batch 128 and 512, inference at 1000
#   small    benches/gpu-small.dlp on the GPU twice (the files must be the
#            same bytes) and on the CPU (test accuracy within 0.5 points);
#            the GPU run's weights through `dlp eval` and `dlp predict`
#   epochs   pipelines/cifar10.dlp for 3 epochs on 50,000 + 10,000
#            generated images, augmentation on, against
#            benches/pytorch_epoch.py --augment --device cuda
#
# Environment: BIN (the carried binaries: dlp, it, gen_cifar; default
# target/gpu-carry, unpacked from target/gpu-carry.tar.xz when missing),
# PYTHON (a Python with CUDA PyTorch; default /opt/torch/.venv/bin/python),
# OUT.
set -uo pipefail
cd "$(dirname "$0")/.."

bin=${BIN:-target/gpu-carry}
out=${OUT:-gpu-check}
python=${PYTHON:-/opt/torch/.venv/bin/python}
mkdir -p "$out"
if [[ ! -x $bin/dlp && -f target/gpu-carry.tar.xz ]]; then
    tar -C target -xJf target/gpu-carry.tar.xz
fi
steps=("$@")
[[ ${#steps[@]} -gt 0 ]] || steps=(gpu ops bench small epochs)

# The CUDA libraries dlp loads at run time (driver, cuBLAS, cuBLASLt,
# cuRAND, NVRTC, cuDNN), wherever this machine keeps them; never a
# `stubs/` folder. The driver's and the toolkit's folders come first, then
# the system's, then Python packages' (PyTorch's own copies): cuBLAS and
# cuBLASLt must come from one release.
libs=$(find /usr/local/nvidia /usr/local/cuda* /usr/lib/x86_64-linux-gnu /opt \
    \( -name 'libcuda.so.1' -o -name 'libcublas.so.1[0-9]' -o -name 'libcublasLt.so.1[0-9]' \
    -o -name 'libcurand.so.1[0-9]' -o -name 'libnvrtc.so.1[0-9]' -o -name 'libcudnn.so.9' \) \
    2>/dev/null | grep -v /stubs/ | xargs -r -n1 dirname |
    awk '{ p = /^\/usr\/local/ ? 1 : /^\/usr\/lib/ ? 2 : 3; print p "\t" $0 }' |
    sort -u | cut -f2 | awk '!seen[$0]++' | paste -sd:)
# PyTorch keeps the library path it came with (its own cuDNN and cuBLAS).
torch=(env "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}" "$python")
export LD_LIBRARY_PATH=$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH" >"$out/env.txt"

# step NAME SECONDS COMMAND...: runs COMMAND with a time limit, logging.
step() {
    local name=$1 limit=$2
    shift 2
    local start=$SECONDS
    timeout "$limit" "$@" >"$out/$name.log" 2>&1
    local rc=$?
    printf '%-24s rc=%-3s %4ss  %s\n' "$name" "$rc" "$((SECONDS - start))" "$*" | tee -a "$out/summary.txt"
    tail -n 4 "$out/$name.log"
    return $rc
}

# The lines of a bench log that carry figures.
figures() { grep -hE '^(#|torch=|train_img|infer_img|peak_rss)' "$@" >>"$out/summary.txt"; }

for s in "${steps[@]}"; do
    case $s in
    gpu)
        step gpu 30 nvidia-smi
        ;;
    ops)
        NVIDIA_TF32_OVERRIDE=0 step ops 300 "$bin/it" ops:: --test-threads 2
        ;;
    bench)
        for b in 128 512; do
            step "dlp-bench-$b" 200 "$bin/dlp" bench pipelines/cifar10.dlp --device cuda \
                --set train.batch=$b --reps 7 --steps 20
            step "torch-bench-$b" 120 "${torch[@]}" benches/pytorch_reference.py --device cuda \
                --batch $b --reps 7 --steps 20 --threads 16
            figures "$out/dlp-bench-$b.log" "$out/torch-bench-$b.log"
        done
        ;;
    small)
        data=$out/data-small
        [[ -d $data/cifar10 ]] || step gen-small 60 "$bin/gen_cifar" "$data" 4000 2000
        for run in gpu-a gpu-b; do
            DLP_DATA=$data step "small-$run" 180 "$bin/dlp" run benches/gpu-small.dlp \
                --device cuda --out "$out/small-$run" --quiet
        done
        DLP_DATA=$data step small-cpu 180 "$bin/dlp" run benches/gpu-small.dlp \
            --device cpu --out "$out/small-cpu" --quiet
        for f in train.csv eval.csv confusion.csv model.safetensors; do
            if cmp -s "$out/small-gpu-a/$f" "$out/small-gpu-b/$f"; then
                echo "small: $f the same bytes on both GPU runs" | tee -a "$out/summary.txt"
            else
                echo "small: $f DIFFERS between the GPU runs" | tee -a "$out/summary.txt"
            fi
        done
        grep -h test_accuracy "$out"/small-*.log | tee -a "$out/summary.txt"
        # The GPU run's weights through `dlp eval` and `dlp predict` on the
        # GPU: eval.csv must be the run's bytes; predicting the test batch
        # must give its confusion matrix.
        DLP_DATA=$data step small-eval 60 "$bin/dlp" eval benches/gpu-small.dlp \
            --weights "$out/small-gpu-a/model.safetensors" --device cuda --out "$out/small-eval"
        if cmp -s "$out/small-gpu-a/eval.csv" "$out/small-eval/eval.csv"; then
            echo "small: dlp eval on the GPU wrote the run's eval.csv" | tee -a "$out/summary.txt"
        else
            echo "small: dlp eval on the GPU wrote ANOTHER eval.csv" | tee -a "$out/summary.txt"
        fi
        step small-predict 60 "$bin/dlp" predict "$out/small-gpu-a" \
            "$data/cifar10/cifar-10-batches-bin/test_batch.bin" --device cuda \
            --out "$out/small-predictions.csv"
        "${torch[@]}" - "$out/small-predictions.csv" "$data/cifar10/cifar-10-batches-bin/test_batch.bin" \
            "$out/small-gpu-a/confusion.csv" <<'PY' 2>&1 | tee -a "$out/summary.txt"
import csv, sys
preds, batch, confusion = sys.argv[1:]
truth = open(batch, "rb").read()[::3073]
rows = list(csv.reader(open(confusion)))
classes = rows[0][1:]
counts = [[0] * len(classes) for _ in classes]
for i, r in enumerate(csv.DictReader(open(preds))):
    counts[truth[i]][classes.index(r["class"])] += 1
same = [[str(c) for c in row] for row in counts] == [r[1:] for r in rows[1:]]
print("small: dlp predict on the GPU", "gives the run's confusion.csv" if same else "gives ANOTHER confusion matrix")
PY
        ;;
    epochs)
        data=$out/data-full
        [[ -d $data/cifar10 ]] || step gen-full 120 "$bin/gen_cifar" "$data" 50000 10000
        DLP_DATA=$data step dlp-epochs 300 "$bin/dlp" run pipelines/cifar10.dlp \
            --set train.epochs=3 --device cuda --out "$out/epochs-dlp"
        cp "$out/epochs-dlp/stages.csv" "$out/epochs-dlp-stages.csv" 2>/dev/null
        step torch-epochs 300 "${torch[@]}" benches/pytorch_epoch.py --data "$data" \
            --train 45000 --valid 5000 --epochs 3 --augment --workers 12 --threads 4 \
            --device cuda --out "$out/epochs-torch"
        grep -E '^epoch|^load' "$out/torch-epochs.log" >>"$out/summary.txt"
        cat "$out/epochs-dlp-stages.csv" >>"$out/summary.txt" 2>/dev/null
        ;;
    *)
        echo "gpu-check: unknown step '$s' (gpu, ops, bench, small, epochs)" >&2
        exit 2
        ;;
    esac
done
