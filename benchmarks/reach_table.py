"""Print the reach of the MiniGrid level language as a Markdown table (BENCHMARKS.md).

For every registered MiniGrid env: the spec in the language (the item form the LLM writes) or why there is none,
and, for reached envs, what was measured on 5 seeds of the env and of the spec: the census quantities the row
compares agree over seeds, and the scripted expert solves both every time (tests/test_reach.py asserts the same
per row).

    .venv/bin/python benchmarks/reach_table.py > /tmp/reach.md
"""

from __future__ import annotations

import json
import random
import sys

import gymnasium as gym
import minigrid  # noqa: F401  (registers the MiniGrid ids)

from gymsmith.envs.minigrid.census import census
from gymsmith.envs.minigrid.expert import expert_policy
from gymsmith.envs.minigrid.levels import MiniGridGenEnv
from gymsmith.envs.minigrid.reach import reach
from gymsmith.envs.minigrid.wrappers import wrap_minigrid

SEEDS = range(5)


def _play(env: gym.Env) -> tuple[list[dict], int]:
    rows, won = [], 0
    for seed in SEEDS:
        env.reset(seed=seed)
        rows.append(census(env))
        rng, info = random.Random(seed), {}
        for _ in range(env.unwrapped.max_steps):
            _, _, terminated, truncated, info = env.step(expert_policy(env, rng))
            if terminated or truncated:
                break
        won += info.get("success", 0.0) == 1.0
    return rows, won


def main() -> None:
    ids = sorted(k for k in gym.registry if k.startswith("MiniGrid-"))
    print("| env | spec in the level language (item form) | same structure (5 seeds) | expert solves env / spec "
          "| notes |")
    print("|---|---|---|---|---|")
    for env_id in ids:
        found = reach(env_id)
        if found.spec is None:
            print(f"| {env_id} | — not reached: {found.missing} | | | |")
            continue
        target_rows, target_won = _play(wrap_minigrid(gym.make(env_id)))
        spec_rows, spec_won = _play(wrap_minigrid(MiniGridGenEnv(found.spec)))
        same = [q for q in found.same if sorted({r[q] for r in target_rows}, key=str)
                == sorted({r[q] for r in spec_rows}, key=str)]
        differ = [q for q in found.same if q not in same]
        item = {k: v for k, v in found.spec.to_item().items() if k != "name"}
        checked = f"{len(same)}/{len(found.same)} quantities" + (f" (differ: {', '.join(differ)})" if differ else "")
        steps = f"; max_steps {found.spec.max_steps}" if found.spec.max_steps else ""
        print(f"| {env_id} | `{json.dumps(item)}`{steps} | {checked} | {target_won}/5, {spec_won}/5 | "
              f"{found.notes} |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
