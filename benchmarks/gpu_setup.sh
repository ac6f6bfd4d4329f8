# Shared by benchmarks/gpu_check.sh and benchmarks/gpu_crafter.sh (sourced, not run): the wheels a bare GPU
# image lacks, and installing them plus gymsmith into /tmp/site without network.
#
#   fetch_wheels    here, with network (PyPI): download the wheels into $WHEELS (keep it git-ignored)
#   install_site    on the GPU machine: install $WHEELS/*.whl and gymsmith itself into /tmp/site and export
#                   PYTHONPATH=/tmp/site:$PWD (torch, numpy and the rest come from the image)

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

install_site() {
  if compgen -G "$WHEELS/*.whl" >/dev/null; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$WHEELS"/*.whl
  else
    echo "no wheels in $WHEELS/: assuming the dependencies are installed (run --fetch-wheels where there is network)" >&2
  fi
  # gymsmith maps gymsmith.agents/envs/... onto top-level folders (pyproject package-dir), so PYTHONPATH=$PWD
  # alone cannot import it: install it, built from a copy so that the tree gets no build/ or egg-info
  local src log path
  src=$(mktemp -d)
  for path in pyproject.toml README.md LICENSE gymsmith agents envs generator curricula prompts; do
    if [[ -e $path ]]; then cp -r "$path" "$src/"; fi
  done
  [[ -e $src/README.md ]] || : >"$src/README.md"  # pyproject names it as the readme
  if ! log=$("$PY" -m pip install --no-index --no-deps --no-build-isolation --no-compile --upgrade \
      --target /tmp/site "$src" 2>&1); then
    echo "$log" >&2
    return 1
  fi
  rm -rf "$src"
  export PYTHONPATH=/tmp/site:$PWD
}
