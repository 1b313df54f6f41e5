#!/usr/bin/env python3
"""A plain PyTorch training loop doing the work of `dlp run pipelines/cifar10.dlp`.

The reference for `benches/epoch.sh`, which times whole processes of this
script and of `dlp run` with 1 and with 5 epochs and takes a quarter of the
difference as one epoch, so start-up, loading and the final test pass cancel.

Same work per epoch as dlp (augmentation off, as `benches/epoch.sh` runs dlp):
- data: the CIFAR-10 binary files under DIR/cifar10/cifar-10-batches-bin
  (write them with `cargo run --release --example gen_cifar -- DIR 4000 400`);
  a seeded split of the training files into --train and --valid images;
- preprocessing: (x - mean) / (std + 1e-7), one mean and population std over
  all training pixels (`normalize mean_std`), computed once;
- the model of benches/pytorch_reference.py (the book's CIFAR-10 network),
  cross-entropy plus the L2 penalty 1e-4 * sum(w^2) over the conv kernels
  (Keras' `l2`), Adam lr 1e-4, eps 1e-7, Keras 2's legacy decay 1e-6 per
  step, batch 128 reshuffled every epoch, last partial batch kept;
- training loss and accuracy accumulated from the training outputs;
- validation every epoch in eval mode without gradients (batch 256, as dlp):
  loss with the penalty, accuracy, macro precision, recall and F1;
- per epoch: a row appended to train.csv, the weights written when val_loss
  improves (`checkpoint best_only`), and a resume file (weights and
  optimizer state) replaced atomically, as dlp writes resume.safetensors;
- after training: the test split evaluated once, and the clean pass over the
  training split that dlp's diagnosis takes.

With --augment, training batches come from a DataLoader whose --workers
processes apply pipelines/cifar10.dlp's augmentation to every image
(rotation up to 15 degrees, shifts up to 10 %, horizontal flips with
probability 1/2, as one affine resampling per image). With --device cuda
the model, the optimizer and evaluation run on the GPU (cuDNN benchmark
mode, TF32 allowed) and batches are copied from pinned memory.

Prints one line per epoch and, at the end, the seconds of each phase.

Usage: python3 benches/pytorch_epoch.py --data DIR [--train 3600] [--valid 400]
       [--epochs 1] [--threads 2] [--out DIR] [--augment] [--workers 4]
       [--device cpu|cuda]
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from pytorch_reference import model

RECORD = 1 + 3 * 32 * 32


def read_bin(path: Path) -> tuple[np.ndarray, np.ndarray]:
    raw = np.fromfile(path, dtype=np.uint8).reshape(-1, RECORD)
    return raw[:, 1:].reshape(-1, 3, 32, 32), raw[:, 0].astype(np.int64)


def load(root: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    folder = root / "cifar10" / "cifar-10-batches-bin"
    parts = [read_bin(folder / f"data_batch_{i}.bin") for i in range(1, 6)]
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    xt, yt = read_bin(folder / "test_batch.bin")
    return x, y, xt, yt


def l2_penalty(m: nn.Module) -> torch.Tensor:
    kernels = [l.weight for l in m.modules() if isinstance(l, nn.Conv2d)]
    return 1e-4 * sum((w * w).sum() for w in kernels)


def augment(xb: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """pipelines/cifar10.dlp's augmentation, one affine resampling per image:
    rotate up to 15 degrees, shift up to 10 % each way, flip half the images."""
    n = len(xb)
    angle = (torch.rand(n, generator=generator) * 2 - 1) * (15 * torch.pi / 180)
    shift = (torch.rand(n, 2, generator=generator) * 2 - 1) * 0.2  # 10 % of [-1, 1]
    flip = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack(
        [torch.stack([cos * flip, -sin, shift[:, 0]], 1), torch.stack([sin * flip, cos, shift[:, 1]], 1)],
        1,
    )
    grid = nn.functional.affine_grid(theta, list(xb.shape), align_corners=False)
    return nn.functional.grid_sample(xb, grid, padding_mode="zeros", align_corners=False)


class Batches(torch.utils.data.Dataset):
    """Batch i of an epoch's order, augmented (a DataLoader's unit of work)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, order: torch.Tensor, batch: int, seed: int):
        self.x, self.y, self.order, self.batch, self.seed = x, y, order, batch, seed

    def __len__(self) -> int:
        return (len(self.order) + self.batch - 1) // self.batch

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        idx = self.order[i * self.batch : (i + 1) * self.batch]
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + i)
        return augment(self.x[idx], g), self.y[idx]


def evaluate(
    m: nn.Module, x: torch.Tensor, y: torch.Tensor, classes: int = 10, dev: str = "cpu"
) -> dict:
    m.eval()
    confusion = torch.zeros(classes, classes, dtype=torch.int64)
    loss_sum = 0.0
    with torch.no_grad():
        for i in range(0, len(x), 256):
            out = m(x[i : i + 256].to(dev, non_blocking=True)).cpu()
            t = y[i : i + 256]
            loss_sum += nn.functional.cross_entropy(out, t, reduction="sum").item()
            p = out.argmax(1)
            confusion += torch.bincount(t * classes + p, minlength=classes * classes).view(
                classes, classes
            )
        penalty = l2_penalty(m).item()
    tp = confusion.diag().double()
    predicted = confusion.sum(0).double()
    actual = confusion.sum(1).double()
    precision = torch.where(predicted > 0, tp / predicted.clamp(min=1), 0.0)
    recall = torch.where(actual > 0, tp / actual.clamp(min=1), 0.0)
    f1 = torch.where(
        precision + recall > 0, 2 * precision * recall / (precision + recall).clamp(min=1e-12), 0.0
    )
    present = (predicted + actual) > 0
    return {
        "loss": loss_sum / len(x) + penalty,
        "accuracy": tp.sum().item() / len(x),
        "precision": precision[present].mean().item(),
        "recall": recall[present].mean().item(),
        "f1": f1[present].mean().item(),
    }


def save_atomic(obj: object, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--train", type=int, default=3600)
    p.add_argument("--valid", type=int, default=400)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--augment", action="store_true")
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    dev = a.device
    if dev == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cuda.matmul.allow_tf32 = True
    torch.manual_seed(42)
    phases: dict[str, float] = {}

    started = time.perf_counter()
    x, y, xt, yt = load(a.data)
    order = np.random.default_rng(42).permutation(len(x))
    tr, va = order[: a.train], order[a.train : a.train + a.valid]
    mean = x[tr].mean(dtype=np.float64)
    std = x[tr].std(dtype=np.float64)

    def prepare(images: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(((images.astype(np.float32) - mean) / (std + 1e-7)).astype(np.float32))

    x_train, y_train = prepare(x[tr]), torch.from_numpy(y[tr])
    x_valid, y_valid = prepare(x[va]), torch.from_numpy(y[va])
    x_test, y_test = prepare(xt), torch.from_numpy(yt)
    phases["load"] = time.perf_counter() - started

    out = a.out or Path(tempfile.mkdtemp(prefix="pytorch-epoch-"))
    out.mkdir(parents=True, exist_ok=True)
    if dev == "cuda":
        x_valid, x_test = x_valid.pin_memory(), x_test.pin_memory()
    m = model().to(dev)
    opt = torch.optim.Adam(m.parameters(), lr=1e-4, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    step, best = 0, float("inf")
    csv = open(out / "train.csv", "w")
    csv.write("epoch,lr,loss,accuracy,val_loss,val_accuracy,val_precision,val_recall,val_f1\n")
    train_s = validate_s = 0.0
    for epoch in range(1, a.epochs + 1):
        t0 = time.perf_counter()
        m.train()
        perm = torch.randperm(len(x_train))
        loss_sum, correct = 0.0, 0
        if a.augment:
            batches = torch.utils.data.DataLoader(
                Batches(x_train, y_train, perm, a.batch, epoch),
                batch_size=None,
                shuffle=False,
                num_workers=a.workers,
                pin_memory=dev == "cuda",
                persistent_workers=False,
            )
        else:
            batches = (
                (x_train[perm[i : i + a.batch]], y_train[perm[i : i + a.batch]])
                for i in range(0, len(perm), a.batch)
            )
        for xb, yb in batches:
            xb, yb = xb.to(dev, non_blocking=True), yb.to(dev, non_blocking=True)
            for group in opt.param_groups:
                group["lr"] = 1e-4 / (1 + 1e-6 * step)
            opt.zero_grad(set_to_none=True)
            out_b = m(xb)
            loss = loss_fn(out_b, yb) + l2_penalty(m)
            loss.backward()
            opt.step()
            step += 1
            loss_sum += loss.item() * len(yb)
            correct += (out_b.argmax(1) == yb).sum().item()
        t1 = time.perf_counter()
        val = evaluate(m, x_valid, y_valid, dev=dev)
        t2 = time.perf_counter()
        csv.write(
            f"{epoch},{1e-4},{loss_sum / len(perm)},{correct / len(perm)},"
            + ",".join(str(val[k]) for k in ("loss", "accuracy", "precision", "recall", "f1"))
            + "\n"
        )
        csv.flush()
        if val["loss"] < best:
            best = val["loss"]
            save_atomic(m.state_dict(), out / "best.pt")
        save_atomic({"model": m.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch}, out / "resume.pt")
        t3 = time.perf_counter()
        train_s += t1 - t0
        validate_s += t2 - t1
        print(
            f"epoch {epoch} seconds={t3 - t0:.3f} train={t1 - t0:.3f} validate={t2 - t1:.3f} "
            f"outputs={t3 - t2:.3f} loss={loss_sum / len(perm):.4f} val_accuracy={val['accuracy']:.4f}",
            flush=True,
        )
    csv.close()
    phases["train"] = train_s
    phases["validate"] = validate_s
    t = time.perf_counter()
    test = evaluate(m, x_test, y_test, dev=dev)
    phases["evaluate"] = time.perf_counter() - t
    t = time.perf_counter()
    evaluate(m, x_train, y_train, dev=dev)
    phases["diagnose"] = time.perf_counter() - t
    print(
        f"torch={torch.__version__} device={dev} threads={a.threads} augment={a.augment} "
        f"test_accuracy={test['accuracy']:.4f}"
    )
    print(" ".join(f"{k}={v:.3f}" for k, v in phases.items()))


if __name__ == "__main__":
    main()
