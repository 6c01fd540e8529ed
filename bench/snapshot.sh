#!/usr/bin/env bash
# Benchmarks the last commit of this repository in a private copy, so that concurrent work in
# the tree (someone's `npm run build` deleting dist/, uncommitted edits) cannot disturb the run.
# Usage: bench/snapshot.sh [run.ts arguments…]   Results are copied back to bench/results/.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
dir="$(mktemp -d /tmp/asyncio-ts-bench.XXXXXX)"
trap 'rm -rf "$dir"' EXIT
commit="$(git -C "$repo" rev-parse --short HEAD)"
git -C "$repo" archive HEAD | tar -x -C "$dir"
ln -s "$repo/node_modules" "$dir/node_modules"
if [ -d "$repo/bench/.venv" ]; then ln -s "$repo/bench/.venv" "$dir/bench/.venv"; fi
(cd "$dir" && npx tsc -p tsconfig.build.json >/dev/null || true)
test -f "$dir/dist/index.js" || { echo "build of $commit failed" >&2; exit 1; }
status=0
(cd "$dir" && BENCH_COMMIT="$commit" npx tsx bench/run.ts "$@") || status=$?
mkdir -p "$repo/bench/results"
if [ -d "$dir/bench/results" ]; then cp -r "$dir/bench/results/." "$repo/bench/results/"; fi
exit "$status"
