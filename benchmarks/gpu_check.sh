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

PY=${PYTHON:-python3}
WHEELS=${WHEEL_DIR:-.whl}
# Pinned to the versions gymsmith is developed against (.venv); the GPU image brings torch, numpy, pandas,
# matplotlib, cloudpickle, pillow, imageio, pyyaml, jinja2, typer, rich.
PACKAGES=(
  gymnasium==1.4.0 farama-notifications==0.0.4 stable-baselines3==2.9.2
  crafter==1.8.3 opensimplex==0.4.5.1 ruamel.yaml==0.19.1
  minigrid==3.2.0 pygame-ce==2.5.8
  pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5 typing-extensions==4.16.0
  RestrictedPython==9.0
)

fetch_wheels() {
  mkdir -p "$WHEELS"
  local platforms=() n
  for n in 17 24 27 28 31 34 35 39; do platforms+=(--platform "manylinux_2_${n}_x86_64"); done
  platforms+=(--platform manylinux2014_x86_64 --platform manylinux1_x86_64)
  local pkg
  for pkg in "${PACKAGES[@]}"; do
    if ! "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version "${WHEEL_PYTHON:-3.12}" \
        --implementation cp "${platforms[@]}" -d "$WHEELS" "$pkg" 2>/dev/null; then
      # sdist-only packages (pure Python): build a platform-independent wheel here
      "$PY" -m pip wheel -q --no-deps -w "$WHEELS" "$pkg"
    fi
  done
  if [[ $WHEELS != /* ]] && command -v git >/dev/null && ! git check-ignore -q "$WHEELS" 2>/dev/null; then
    echo "note: $WHEELS is not git-ignored; add '/$WHEELS/' to .git/info/exclude or .gitignore" >&2
  fi
  ls -1 "$WHEELS"
  du -sh "$WHEELS"
}

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
  if compgen -G "$WHEELS/*.whl" >/dev/null; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$WHEELS"/*.whl
  else
    echo "no wheels in $WHEELS/: assuming the dependencies are installed (run --fetch-wheels where there is network)" >&2
  fi
  # gymsmith maps gymsmith.agents/envs/... onto top-level folders (pyproject package-dir), so PYTHONPATH=$PWD
  # alone cannot import it: install it, built from a copy so that the tree gets no build/ or egg-info
  src=$(mktemp -d)
  for path in pyproject.toml README.md LICENSE gymsmith agents envs generator curricula prompts; do
    if [[ -e $path ]]; then cp -r "$path" "$src/"; fi
  done
  [[ -e $src/README.md ]] || : >"$src/README.md"  # pyproject names it as the readme
  if ! log=$("$PY" -m pip install --no-index --no-deps --no-build-isolation --no-compile --upgrade \
      --target /tmp/site "$src" 2>&1); then
    echo "$log" >&2
    exit 1
  fi
  rm -rf "$src"
  export PYTHONPATH=/tmp/site:$PWD
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
