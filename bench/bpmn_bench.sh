#!/usr/bin/env bash
# BPMN model benchmark (bench/bpmn_bench.c): import + validate of the largest MIWG model
# and of a generated process, export, and SVG render. `make bench-bpmn` runs it.
#   bench/bpmn_bench.sh [nodes] [runs]     (defaults: 5000 nodes, 5 runs; medians)
set -eu
cd "$(dirname "$0")/.."
bin=build/bench/bpmn_bench
[ -x "$bin" ] || { echo "build it first: make bench-bpmn" >&2; exit 2; }
miwg=${FM_MIWG_DIR:-../shared/conformance/bpmn-miwg}
"$bin" "$miwg" "${1:-5000}" "${2:-5}"
