#!/usr/bin/env python3
"""Writes THIRD-PARTY-LICENSES.md: the licences of the crates compiled into dlp.

    scripts/third-party-licenses.py [OUTPUT]     (default THIRD-PARTY-LICENSES.md)

The method, as the file itself states: `cargo metadata --locked` resolves
the dependency graph for x86_64-unknown-linux-gnu twice, without features
and with `cuda`; every crate reached from dlp through normal dependencies
(not build- or dev-dependencies, which are not compiled into the binary;
proc-macro crates are listed, their expansion is) is listed with the licence
its Cargo.toml declares, and the licence files it ships (LICENSE*, LICENCE*,
COPYING*, NOTICE*, UNLICENSE and the `license-file` field, at most three
folders deep, so a bundled C library's licence is found too) are copied
verbatim, one copy of each distinct text. It reads only what cargo has
already unpacked (~/.cargo/registry/src, vendor/): no network. It fails
when a crate declares no licence or a licence file cannot be read.
Standard library only: runs on any python3 >= 3.8.
"""

import hashlib
import json
import os
import re
import subprocess
import sys

TARGET = "x86_64-unknown-linux-gnu"
NAMES = re.compile(r"^(licen[cs]e|copying|notice|unlicense|copyright)([-._].*)?$", re.I)
SKIP_DIRS = {"tests", "test", "benches", "examples", "target", ".git", "docs", "fuzz"}


def die(msg):
    print(f"third-party-licenses: error: {msg}", file=sys.stderr)
    sys.exit(1)


def metadata(root, features):
    cmd = ["cargo", "metadata", "--format-version", "1", "--locked", "--filter-platform", TARGET]
    if features:
        cmd += ["--features", ",".join(features)]
    try:
        out = subprocess.run(cmd, cwd=root, check=True, capture_output=True, text=True).stdout
    except subprocess.CalledProcessError as e:
        die(f"{' '.join(cmd)} failed:\n{e.stderr}")
    return json.loads(out)


def compiled_in(meta):
    """Package ids reached from the root through normal dependencies."""
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    root = meta["resolve"]["root"]
    seen, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        for dep in nodes[pid]["deps"]:
            if any(k["kind"] is None for k in dep["dep_kinds"]):
                todo.append(dep["pkg"])
    seen.discard(root)
    return seen


def first_party(pkg, root):
    """dlp's own crates (kernels/): in the repository, not under vendor/."""
    path = os.path.abspath(pkg["manifest_path"])
    return path.startswith(root + os.sep) and not path.startswith(os.path.join(root, "vendor") + os.sep)


def licence_files(pkg):
    top = os.path.dirname(pkg["manifest_path"])
    found = set()
    if pkg.get("license_file"):
        found.add(os.path.normpath(os.path.join(top, pkg["license_file"])))
    for dirpath, dirnames, filenames in os.walk(top):
        depth = os.path.relpath(dirpath, top).count(os.sep) + (dirpath != top)
        dirnames[:] = [d for d in dirnames if d.lower() not in SKIP_DIRS and depth < 3]
        for f in filenames:
            if NAMES.match(f) and not f.endswith((".rs", ".py", ".toml", ".json")):
                found.add(os.path.join(dirpath, f))
    return sorted(found, key=lambda p: (p.count(os.sep), p))


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "THIRD-PARTY-LICENSES.md")
    cpu_meta, cuda_meta = metadata(root, []), metadata(root, ["cuda"])
    packages = {p["id"]: p for p in cuda_meta["packages"]}
    packages.update({p["id"]: p for p in cpu_meta["packages"]})
    ours = {i for i, p in packages.items() if first_party(p, root)}
    cpu, cuda = compiled_in(cpu_meta) - ours, compiled_in(cuda_meta) - ours
    ids = sorted(cpu | cuda, key=lambda i: (packages[i]["name"], packages[i]["version"]))

    texts = {}  # digest -> (text, [crate labels], first path)
    rows, bare = [], []
    for pid in ids:
        pkg = packages[pid]
        label = f"{pkg['name']} {pkg['version']}"
        lic = pkg.get("license")
        if not lic and not pkg.get("license_file"):
            die(f"{label} declares no licence in its Cargo.toml")
        files = licence_files(pkg)
        top = os.path.dirname(pkg["manifest_path"])
        for path in files:
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read().strip()
            except OSError as e:
                die(f"{label}: cannot read {path}: {e}")
            if not text:
                continue
            key = hashlib.sha256(" ".join(text.split()).encode()).hexdigest()
            entry = texts.setdefault(key, [text, [], f"{pkg['name']}/{os.path.relpath(path, top)}"])
            entry[1].append(label)
        if not files:
            bare.append(label)
        where = "CPU and CUDA" if pid in cpu and pid in cuda else ("CUDA only" if pid in cuda else "CPU only")
        source = "vendored (vendor/)" if pkg["source"] is None else "crates.io"
        rows.append(f"| {pkg['name']} | {pkg['version']} | {lic or 'see file'} | {where} | {source} |")

    lines = [
        "# Third-party licences",
        "",
        "dlp itself is licensed under MIT OR Apache-2.0 (LICENSE-MIT, LICENSE-APACHE).",
        "Its binaries (the `dlp-pipelines` and `dlp-pipelines-cuda` wheels, the release archive) compile in",
        f"the {len(ids)} crates below; the CPU build {len(cpu)} of them, the CUDA build {len(cuda)}.",
        "",
        "How this file was made: `scripts/third-party-licenses.py` (run by",
        "`scripts/dist.sh`) resolves dlp's dependency graph with `cargo metadata --locked`",
        f"for {TARGET}, without features and with `cuda`, and lists every crate reached",
        "through normal dependencies (build- and dev-dependencies are not compiled into the",
        "binary and are left out; proc-macro crates are listed). The licence column is what",
        "each crate's Cargo.toml declares; the texts below are the licence files each crate",
        "ships (LICENSE*, COPYING*, NOTICE*, … up to three folders deep, so the licence of a",
        "bundled C library such as mimalloc's is included), copied verbatim, each distinct",
        "text once with the crates that ship it. No licence was inferred or rewritten.",
        "",
        "Also in the binary: the Rust standard library (MIT OR Apache-2.0, as the crates'",
        "texts below). The binary links glibc dynamically (LGPL-2.1-or-later, from the",
        "system). The CUDA build embeds PTX compiled by NVIDIA's nvcc from candle's and",
        "dlp's kernels, and loads NVIDIA's CUDA libraries at run time from the user's system",
        "or `nvidia-*` wheels; none of NVIDIA's libraries is shipped.",
        "",
    ]
    if bare:
        lines += [
            "Crates that ship no licence file (their declared licence applies; its",
            "standard text is among those below): " + ", ".join(bare) + ".",
            "",
        ]
    lines += ["| crate | version | licence (Cargo.toml) | build | source |", "|---|---|---|---|---|"]
    lines += rows
    lines += ["", "## Licence texts", ""]
    for text, labels, first in sorted(texts.values(), key=lambda t: (t[2].lower())):
        lines += [f"### {first}", "", "Shipped by: " + ", ".join(sorted(set(labels))) + ".", "", "```text"]
        lines += [text.replace("```", "'''"), "```", ""]
    body = "\n".join(lines)
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(body)
    os.replace(tmp, out)
    print(f"third-party-licenses: {out}: {len(ids)} crates, {len(texts)} distinct licence texts", file=sys.stderr)


if __name__ == "__main__":
    main()
