#!/usr/bin/env python3
"""PyTorch reference speed for the book's CIFAR-10 model (section 4.10).

The model matches pipelines/cifar10.dlp and examples/conv_bench.rs:
3 x [conv3x3 same + ReLU, BN, conv3x3 same + ReLU, BN, maxpool 2, dropout]
with 32/64/128 filters, flatten, linear 10; cross-entropy; Adam lr 1e-4,
eps 1e-7. Keras' BN momentum 0.99 is PyTorch's 0.01; Keras' epsilon 1e-3.
Glorot-uniform kernels and zero biases, as Keras.

Random data (speed only). Prints, after warm-up:
  train_img_per_s median=... min=... max=...   (batch 128, --steps Adam steps per rep)
  infer_img_per_s median=... min=... max=...   (batch 1000, eval, no grad)

With --device cuda: cuDNN's benchmark mode, TF32 allowed in convolutions
and matmuls (PyTorch's default for convolutions), the GPU synchronised
around every timed repetition. `dlp bench --device cuda` is the dlp side.

With --model resnet20: ResNet-20 as pipelines/cifar10_resnet.dlp (He et al.
2016, option-B projection shortcuts, bias-free convolutions before batch norm,
SGD lr 0.1 momentum 0.9); `dlp bench pipelines/cifar10_resnet.dlp` is the dlp
side.

Usage: python3 benches/pytorch_reference.py [--threads 2] [--reps 10]
       [--steps 1] [--batch 128] [--infer-batch 1000] [--device cpu|cuda]
       [--model cifar10|resnet20]
"""

import argparse
import statistics
import time

import torch
from torch import nn


def block(c_in: int, c_out: int, rate: float) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for c in (c_in, c_out):
        layers += [
            nn.Conv2d(c, c_out, 3, padding="same"),
            nn.ReLU(),
            nn.BatchNorm2d(c_out, eps=1e-3, momentum=0.01),
        ]
    return layers + [nn.MaxPool2d(2), nn.Dropout(rate)]


def model() -> nn.Module:
    m = nn.Sequential(
        *block(3, 32, 0.2),
        *block(32, 64, 0.3),
        *block(64, 128, 0.4),
        nn.Flatten(),
        nn.Linear(128 * 4 * 4, 10),
    )
    for layer in m.modules():
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
    return m


class Basic(nn.Module):
    """A ResNet basic block; a 1x1 stride-2 projection where the shape changes."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        bn = lambda c: nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)  # noqa: E731
        self.body = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
            bn(c_out),
            nn.ReLU(),
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
            bn(c_out),
        )
        self.short = (
            nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), bn(c_out))
            if stride != 1 or c_in != c_out
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.short(x))


def resnet20() -> nn.Module:
    layers: list[nn.Module] = [
        nn.Conv2d(3, 16, 3, padding=1, bias=False),
        nn.BatchNorm2d(16, eps=1e-3, momentum=0.01),
        nn.ReLU(),
    ]
    c = 16
    for f in (16, 32, 64):
        for i in range(3):
            layers.append(Basic(c, f, 2 if (i == 0 and f != 16) else 1))
            c = f
    m = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))
    for layer in m.modules():
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
    return m


def summary(name: str, values: list[float]) -> None:
    print(
        f"{name} median={statistics.median(values):.1f} "
        f"min={min(values):.1f} max={max(values):.1f}"
    )


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=10)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--infer-batch", type=int, default=1000)
    p.add_argument("--steps", type=int, default=1)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--model", default="cifar10", choices=["cifar10", "resnet20"])
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dev = torch.device(a.device)
    if a.device == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cuda.matmul.allow_tf32 = True

    def sync() -> None:
        if a.device == "cuda":
            torch.cuda.synchronize()

    if a.model == "resnet20":
        m = resnet20().to(dev)
        opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    else:
        m = model().to(dev)
        opt = torch.optim.Adam(m.parameters(), lr=1e-4, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    x = (torch.rand(a.batch, 3, 32, 32) * 2 - 1).to(dev)
    y = torch.randint(0, 10, (a.batch,)).to(dev)
    xi = (torch.rand(a.infer_batch, 3, 32, 32) * 2 - 1).to(dev)

    def train_step() -> None:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(m(x), y)
        loss.backward()
        opt.step()

    def infer() -> None:
        with torch.no_grad():
            m(xi).argmax(1)

    m.train()
    for _ in range(2 if a.device == "cpu" else 20):
        train_step()
    m.eval()
    infer()
    sync()

    train, inference = [], []
    for _ in range(a.reps):
        m.train()
        sync()
        t = time.perf_counter()
        for _ in range(a.steps):
            train_step()
        sync()
        train.append(a.batch * a.steps / (time.perf_counter() - t))
        m.eval()
        t = time.perf_counter()
        infer()
        sync()
        inference.append(a.infer_batch / (time.perf_counter() - t))

    print(
        f"torch={torch.__version__} model={a.model} device={a.device} threads={a.threads} "
        f"reps={a.reps} steps={a.steps} batch={a.batch}"
    )
    summary("train_img_per_s", train)
    summary("infer_img_per_s", inference)


if __name__ == "__main__":
    main()
