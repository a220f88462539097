#!/usr/bin/env bash
# One benchmark sitting: every `genlab bench` and its twin, back to back (see bench/compare.py).
#   bench/compare.sh [VENV] [--reps 3] [--only core,flow] [--smoke] [--no-readme]
# VENV (default ~/venv-torch) needs torch, numpy, scipy, safetensors, traker, pedalboard.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${HOME}/venv-torch"
if [[ $# -gt 0 && "$1" != --* ]]; then venv="$1"; shift; fi
[[ -x "$venv/bin/python" ]] || { echo "compare: no python in $venv (make it: bench/README.md)" >&2; exit 1; }
cargo build --release -p genlab >&2
exec "$venv/bin/python" bench/compare.py "$@"
