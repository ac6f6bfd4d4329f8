#!/usr/bin/env bash
# GPU check: PPO on Crafter (64x64x3 images -> CnnPolicy), 16 envs, short budget; prints steps/s on CPU vs CUDA.
#
# How to run
#   1. Here, once, with network (PyPI): fetch the wheels the GPU image lacks into .whl/ (keep .whl/ git-ignored:
#      `echo /.whl/ >> .git/info/exclude` or a .gitignore entry):
#          bash benchmarks/gpu_check.sh --fetch-wheels
#   2. On the GPU machine (a bare image with python3 + CUDA torch, no network; through the device tool, name
#      ".whl" in carry), from the repo root:
#          bash benchmarks/gpu_check.sh                         # cpu vs cuda, 16 envs, 32768 timed steps each
#          bash benchmarks/gpu_check.sh --steps 65536           # any flag goes on to benchmarks/gpu_train.py
#   3. Anywhere gymsmith is installed already (no wheels, no install), e.g. a CPU smoke test:
#          PYTHON=.venv/bin/python bash benchmarks/gpu_check.sh --no-install --device cpu --n-envs 2 --steps 512
#
# Installs (step 2): every wheel in .whl/ and gymsmith itself (from this tree, no build isolation) into
# /tmp/site, then PYTHONPATH=/tmp/site:$PWD; torch, numpy and the rest come from the image. Results also go to
# $OUT/gpu_check.json when $OUT is set (the device tool's output folder), else /tmp/gpu_check.json.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=benchmarks/gpu_setup.sh
source benchmarks/gpu_setup.sh

INSTALL=1
ARGS=()
for arg in "$@"; do
  case "$arg" in
    --fetch-wheels) fetch_wheels; exit 0 ;;
    --no-install) INSTALL=0 ;;
    *) ARGS+=("$arg") ;;
  esac
done

if [[ $INSTALL == 1 ]]; then
  install_site || exit 1
fi

if [[ " ${ARGS[*]-} " != *" --device"* ]]; then
  if "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    ARGS+=(--device cpu,cuda)
  else
    echo "torch sees no CUDA device here: pass --device cpu for a CPU-only run" >&2
    exit 2
  fi
fi

PYTHONUNBUFFERED=1 "$PY" benchmarks/gpu_train.py --json "${OUT:-/tmp}/gpu_check.json" ${ARGS[@]+"${ARGS[@]}"}
