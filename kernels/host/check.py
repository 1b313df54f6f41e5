#!/usr/bin/env python3
"""Checks kernels/src/dlp.cu's logic on the host against numpy references.

Run by scripts/kernels-on-host.sh, which compiles the three harnesses (DIR
is where it put them). Every kernel of dlp.cu is checked. Pooling: max
(first maximum in row-major order, ties included) and average, forward and
backward, sizes 1-3, strides 1-3, overlapping windows and rows no window
reaches. ChaCha8: the kernel's block and this file's reference both against
the published test vector (all 64 bytes), then one more block against the
reference. Dropout: a mask over two key blocks. Batch norm: statistics,
output and the three gradients (with and without the ReLU mask) against
float64 formulas. The element-wise kernels (mask multiply, ReLU forward and
backward, channel affine, bias+ReLU, the Adam step): bit for bit against
numpy's float32 arithmetic in the CPU kernels' order of operations, on
sizes that leave a partial last thread block. Exits 1 on any mismatch.

Usage: python3 kernels/host/check.py DIR
"""

import subprocess
import sys

import numpy as np

MASK32 = 0xFFFFFFFF


def run(binary: str, lines: list[str]) -> list[str]:
    return subprocess.run(
        [binary], input="\n".join(lines) + "\n", capture_output=True, text=True, check=True
    ).stdout.splitlines()


def floats(a: np.ndarray) -> str:
    return " ".join(repr(float(v)) for v in a.ravel())


def pooling(binary: str) -> int:
    rng = np.random.default_rng(0)
    cases = []
    for h, w in [(8, 8), (7, 9), (6, 5), (5, 5), (32, 32)]:
        for size in (1, 2, 3):
            for stride in (1, 2, 3):
                for is_max in (1, 0):
                    # Values on a grid of thirds, so that windows have ties.
                    x = (np.round(rng.uniform(-1, 1, (3, h, w)) * 3) / 3).astype(np.float32)
                    oh, ow = (h - size) // stride + 1, (w - size) // stride + 1
                    dy = rng.uniform(-1, 1, (3, oh, ow)).astype(np.float32)
                    cases.append((h, w, size, stride, is_max, x, dy))
    lines = []
    for h, w, size, stride, is_max, x, dy in cases:
        lines += [f"3 {h} {w} {size} {stride} {is_max}", floats(x), floats(dy)]
    out = run(binary, lines)
    bad = 0
    for k, (h, w, size, stride, is_max, x, dy) in enumerate(cases):
        oh, ow = (h - size) // stride + 1, (w - size) // stride + 1
        y = np.zeros((3, oh, ow))
        dx = np.zeros((3, h, w))
        for p in range(3):
            for i in range(oh):
                for j in range(ow):
                    r, c = i * stride, j * stride
                    win = x[p, r : r + size, c : c + size]
                    if is_max:
                        best = (0, 0)
                        for a in range(size):
                            for b in range(size):
                                if win[a, b] > win[best]:
                                    best = (a, b)
                        y[p, i, j] = win[best]
                        dx[p, r + best[0], c + best[1]] += dy[p, i, j]
                    else:
                        y[p, i, j] = win.astype(np.float64).mean()
                        dx[p, r : r + size, c : c + size] += dy[p, i, j] / (size * size)
        got_y = np.array(out[2 * k].split(), float).reshape(y.shape)
        got_dx = np.array(out[2 * k + 1].split(), float).reshape(dx.shape)
        if not (np.allclose(got_y, y, atol=1e-6) and np.allclose(got_dx, dx, atol=1e-5)):
            bad += 1
            print(f"pooling h={h} w={w} size={size} stride={stride} max={is_max}: MISMATCH")
    print(f"pooling: {len(cases)} cases, {bad} mismatches")
    chacha_ok = [int(v) for v in out[-2].split()] == chacha8(list(range(1, 9)), 5)
    keys = [i * 7 + 1 for i in range(16)]
    mask = []
    for unit in range(100):
        block, r = divmod(unit, 64)
        word = chacha8(keys[8 * block : 8 * block + 8], r // 16)[r % 16]
        mask.append(0.0 if word < 0x80000000 else 2.0)
    mask_ok = [float(v) for v in out[-1].split()] == mask
    print(f"chacha8 block: {'ok' if chacha_ok else 'MISMATCH'}; dropout mask: {'ok' if mask_ok else 'MISMATCH'}")
    return bad + (not chacha_ok) + (not mask_ok)


# ChaCha8 with an all-zero key and nonce, block 0: the first 64 bytes of the
# keystream in draft-strombergson-chacha-test-vectors-00, TC1 (8 rounds,
# 256-bit key), as the sixteen little-endian words of the block.
CHACHA8_TC1 = bytes.fromhex(
    "3e00ef2f895f40d67f5bb8e81f09a5a12c840ec3ce9a7f3b181be188ef711a1e"
    "984ce172b9216f419f445367456d5619314a42a3da86b001387bfdb80e0cfe42"
)


def tc1_words() -> list[int]:
    return [int.from_bytes(CHACHA8_TC1[4 * i : 4 * i + 4], "little") for i in range(16)]


def chacha8(key: list[int], counter: int) -> list[int]:
    def rotl(v: int, c: int) -> int:
        return ((v << c) | (v >> (32 - c))) & MASK32

    state = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574, *key, counter & MASK32, counter >> 32, 0, 0]
    x = state[:]

    def quarter(a: int, b: int, c: int, d: int) -> None:
        x[a] = (x[a] + x[b]) & MASK32
        x[d] = rotl(x[d] ^ x[a], 16)
        x[c] = (x[c] + x[d]) & MASK32
        x[b] = rotl(x[b] ^ x[c], 12)
        x[a] = (x[a] + x[b]) & MASK32
        x[d] = rotl(x[d] ^ x[a], 8)
        x[c] = (x[c] + x[d]) & MASK32
        x[b] = rotl(x[b] ^ x[c], 7)

    for _ in range(4):
        for q in ((0, 4, 8, 12), (1, 5, 9, 13), (2, 6, 10, 14), (3, 7, 11, 15)):
            quarter(*q)
        for q in ((0, 5, 10, 15), (1, 6, 11, 12), (2, 7, 8, 13), (3, 4, 9, 14)):
            quarter(*q)
    return [(x[i] + state[i]) & MASK32 for i in range(16)]


def batch_norm(binary: str) -> int:
    rng = np.random.default_rng(1)
    # The last has six images per slice and a short last slice (`per` = 6
    # of 22): a block walks their 600 pixels in three strides, crossing
    # planes smaller than itself.
    cases = [(4, 3, 25, 0), (2, 8, 12, 1), (16, 2, 1, 0), (3, 5, 64, 1), (9, 4, 300, 0),
             (22, 128, 100, 1)]
    lines, data = [], []
    for n, c, hw, relu in cases:
        x = (rng.uniform(-1, 1, (n, c, hw)) * 3 + 2).astype(np.float32)
        if relu:
            x = np.maximum(x - 2, 0).astype(np.float32)
        dy = rng.uniform(-1, 1, (n, c, hw)).astype(np.float32)
        gamma = rng.uniform(-1, 1, c).astype(np.float32)
        beta = rng.uniform(-1, 1, c).astype(np.float32)
        data.append((x, dy, gamma, beta))
        lines += [f"{n} {c} {hw} {relu}", floats(x), floats(dy), floats(gamma), floats(beta)]
    out = run(binary, lines)
    bad = 0
    for k, ((n, c, hw, relu), (x, dy, gamma, beta)) in enumerate(zip(cases, data)):
        x, dy = x.astype(np.float64), dy.astype(np.float64)
        mean = x.mean(axis=(0, 2))
        var = ((x - mean[None, :, None]) ** 2).mean(axis=(0, 2))
        inv = 1 / np.sqrt(var + 1e-3)
        xhat = (x - mean[None, :, None]) * inv[None, :, None]
        y = gamma[None, :, None] * xhat + beta[None, :, None]
        dbeta, dgamma, m = dy.sum(axis=(0, 2)), (dy * xhat).sum(axis=(0, 2)), n * hw
        dx = (gamma * inv / m)[None, :, None] * (m * dy - dbeta[None, :, None] - xhat * dgamma[None, :, None])
        if relu:
            dx = np.where(x > 0, dx, 0)
        got = [np.array(out[6 * k + i].split(), float) for i in range(6)]
        want = [mean, var, y.ravel(), dgamma, dbeta, dx.ravel()]
        errors = [np.abs(g - w).max() / max(1.0, np.abs(w).max()) for g, w in zip(got, want)]
        ok = max(errors) < 1e-5
        bad += not ok
        print(f"batch norm N={n} C={c} HW={hw} relu={relu}: {'ok' if ok else 'MISMATCH'} (largest error {max(errors):.1e})")
    return bad


def hexes(a: np.ndarray) -> str:
    return " ".join(f"{int(b):08x}" for b in np.asarray(a, np.float32).view(np.uint32).ravel())


def from_hexes(line: str) -> np.ndarray:
    return np.array([int(t, 16) for t in line.split()], np.uint32).view(np.float32)


def elementwise(binary: str) -> int:
    """The element-wise kernels against numpy's float32, bit for bit."""
    rng = np.random.default_rng(2)
    f32 = np.float32
    lines, expected = [], []
    # Sizes below, at and past one block of 256 threads, and not a multiple.
    for n in (1, 255, 256, 1000):
        x = rng.uniform(-3, 3, n).astype(f32)
        x[::7] = 0  # exact zeros: ReLU's gradient is 0 there
        mask = rng.choice(np.array([0.0, 2.0], f32), n)
        lines += [f"mask_mul {n}", hexes(x), hexes(mask)]
        expected.append(("mask_mul", n, [x * mask]))
        dy = rng.uniform(-1, 1, n).astype(f32)
        y = np.maximum(x, f32(0))
        lines += [f"relu {n}", hexes(x), hexes(dy)]
        expected.append(("relu", n, [y, np.where(y > 0, dy, f32(0))]))
    for batch, c, inner in ((2, 3, 5), (4, 16, 49), (1, 7, 1)):
        n = batch * c * inner
        x = rng.uniform(-3, 3, n).astype(f32)
        mean, scale, shift = (rng.uniform(-1, 1, c).astype(f32) for _ in range(3))
        ch = (np.arange(n) // inner) % c
        want = (x - mean[ch]) * scale[ch] + shift[ch]
        lines += [f"channel_affine {n} {c} {inner}", hexes(x), hexes(mean), hexes(scale), hexes(shift)]
        expected.append(("channel_affine", n, [want]))
        for has_bias in (1, 0):
            for relu in (1, 0):
                y = rng.uniform(-2, 2, n).astype(f32)
                bias = rng.uniform(-1, 1, c).astype(f32)
                v = y + bias[ch] if has_bias else y
                want = np.maximum(v, f32(0)) if relu else v
                lines += [f"bias_relu {n} {c} {inner} {has_bias} {relu}", hexes(y), hexes(bias)]
                expected.append((f"bias_relu bias={has_bias} relu={relu}", n, [want]))
    for n, t in ((300, 1), (1000, 7)):
        w = rng.uniform(-1, 1, n).astype(f32)
        g = rng.uniform(-1, 1, n).astype(f32)
        g[:3] = [0, -0.0, 1e-30]
        m = (rng.uniform(-0.1, 0.1, n)).astype(f32)
        v = (rng.uniform(0, 0.01, n)).astype(f32)
        # Keras' Adam at step t: b1, 1 - b1, b2, 1 - b2 (in float64, then
        # rounded, as crate::ops::AdamStep::f32), epsilon and
        # lr * sqrt(1 - b2^t) / (1 - b1^t).
        b1, b2, lr, eps = f32(0.9), f32(0.999), 0.001, f32(1e-7)
        alpha = f32(lr * np.sqrt(1 - 0.999**t) / (1 - 0.9**t))
        h = np.array([b1, f32(1 - 0.9), b2, f32(1 - 0.999), eps, alpha], f32)
        mi = (m * h[0] + f32(0)) + (g * h[1] + f32(0))
        vi = (v * h[2] + f32(0)) + ((g * g) * h[3] + f32(0))
        step = (mi / (np.sqrt(vi) + h[4])) * h[5] + f32(0)
        lines += [f"adam_step {n}", hexes(w), hexes(g), hexes(m), hexes(v), hexes(h)]
        expected.append((f"adam_step t={t}", n, [w - step, mi, vi]))
    # ChaCha8: the published vector, then a block of the reference.
    lines += ["chacha8 8", " ".join("0" * 8 for _ in range(8)), "0"]
    lines += ["chacha8 8", " ".join(f"{k:08x}" for k in range(101, 109)), str(2**32 + 3)]
    out = run(binary, lines)
    bad, row = 0, 0
    for name, n, wants in expected:
        ok = True
        for want in wants:
            got = from_hexes(out[row])
            row += 1
            ok &= got.shape == want.shape and bool(np.array_equal(got.view(np.uint32), want.astype(f32).view(np.uint32)))
        bad += not ok
        print(f"{name} n={n}: {'ok' if ok else 'MISMATCH'}")
    kernel_tc1 = [int(t, 16) for t in out[row].split()]
    kernel_block = [int(t, 16) for t in out[row + 1].split()]
    checks = {
        "chacha8 reference = published test vector": chacha8([0] * 8, 0) == tc1_words(),
        "chacha8 kernel = published test vector": kernel_tc1 == tc1_words(),
        "chacha8 kernel = reference (key 101..108, counter 2^32+3)": kernel_block
        == chacha8(list(range(101, 109)), 2**32 + 3),
    }
    for what, ok in checks.items():
        print(f"{what}: {'ok' if ok else 'MISMATCH'}")
        bad += not ok
    return bad


def main() -> None:
    folder = sys.argv[1]
    failures = (
        pooling(f"{folder}/pool_dropout")
        + batch_norm(f"{folder}/batch_norm")
        + elementwise(f"{folder}/elementwise")
    )
    print("kernels on the host:", "ok" if not failures else f"{failures} FAILED")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
