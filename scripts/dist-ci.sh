#!/usr/bin/env bash
# CI's release check: scripts/dist.sh --no-cuda (the CPU wheel and the
# archive, a full release build with zig) and scripts/dist-test.sh (pip
# install into a fresh venv, the archive, readelf), run only when a file
# they depend on changed since the last green run on this machine.
#
#   scripts/dist-ci.sh            run if needed
#   DLP_DIST_FORCE=1 scripts/dist-ci.sh   run regardless
#
# The inputs are every file git tracks outside tests/, benches/, examples/,
# editors/, baselines/ and .ci/ (the binary's sources, Cargo.toml,
# Cargo.lock, vendor/, pyproject.toml, these scripts, the pipelines the test
# runs, the README and licences that are packed), hashed by content with
# uncommitted changes. A green run leaves a stamp named by that hash in
# $CARGO_TARGET_DIR/dist-ci/ (default target/dist-ci/); a fresh CI machine
# has none, so it always runs there (about 9 minutes on 2 cores, most of
# it the release build). The CUDA wheel is not built here: scripts/dist.sh
# without --no-cuda does, and dist-test.sh then tests its CPU path.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
stamps=${CARGO_TARGET_DIR:-$root/target}/dist-ci

# THIRD-PARTY-LICENSES.md is left out: dist.sh writes it from Cargo.lock.
key=$(git ls-files -z --cached --others --exclude-standard -- . \
    ':!tests' ':!benches' ':!examples' ':!editors' ':!baselines' ':!.ci' \
    ':!THIRD-PARTY-LICENSES.md' |
    sort -z -u | while IFS= read -r -d '' f; do
        if [[ -f $f ]]; then sha256sum -- "$f"; fi
    done | sha256sum | cut -c1-16)
if [[ ${DLP_DIST_FORCE:-0} != 1 && -f $stamps/passed-$key ]]; then
    echo "dist-ci: inputs unchanged since the last green run ($key): wheel and archive not rebuilt"
    exit 0
fi
started=$SECONDS
scripts/dist.sh --no-cuda
built=$SECONDS
scripts/dist-test.sh
if ! git diff --quiet -- THIRD-PARTY-LICENSES.md; then
    echo "dist-ci: note: THIRD-PARTY-LICENSES.md changed with the dependencies: commit it"
fi
mkdir -p "$stamps"
rm -f "$stamps"/passed-*
date -u +%FT%TZ >"$stamps/passed-$key"
echo "dist-ci: green ($key): build $((built - started)) s, install test $((SECONDS - built)) s"
