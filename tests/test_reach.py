"""The reach of the MiniGrid level language: one test per row of the table in BENCHMARKS.md.

For each registered env the language reaches, levels sampled from its spec must have the env's structure and
objective: the census quantities the row compares (rooms, doors by state, keys, balls, boxes, strips, size, the
mission type) take the same values over seeds as in the env itself, every sampled level of both is solvable by the
search, and the scripted expert solves both (same solvability). Rows the language cannot reach must say why.
"""

from __future__ import annotations

import random

import gymnasium as gym
import minigrid  # noqa: F401  (registers the MiniGrid ids)
import pytest

from gymsmith.envs.minigrid.census import census
from gymsmith.envs.minigrid.expert import expert_policy
from gymsmith.envs.minigrid.levels import MiniGridGenEnv
from gymsmith.envs.minigrid.objective import objective_of
from gymsmith.envs.minigrid.reach import reach
from gymsmith.envs.minigrid.solve import solvable
from gymsmith.envs.minigrid.wrappers import wrap_minigrid

SEEDS = range(5)

#: At least one size of every kind of task the issue names, plus LockedRoom (>= 20 rows).
REACHED = [
    "MiniGrid-Empty-5x5-v0", "MiniGrid-Empty-Random-6x6-v0", "MiniGrid-Empty-16x16-v0",
    "MiniGrid-DoorKey-5x5-v0", "MiniGrid-DoorKey-8x8-v0", "MiniGrid-DoorKey-16x16-v0",
    "MiniGrid-LavaCrossingS9N1-v0", "MiniGrid-LavaCrossingS9N3-v0", "MiniGrid-LavaCrossingS11N5-v0",
    "MiniGrid-SimpleCrossingS9N2-v0", "MiniGrid-SimpleCrossingS11N5-v0",
    "MiniGrid-LavaGapS5-v0", "MiniGrid-LavaGapS7-v0",
    "MiniGrid-MultiRoom-N2-S4-v0", "MiniGrid-MultiRoom-N4-S5-v1", "MiniGrid-MultiRoom-N6-v0",
    "MiniGrid-KeyCorridorS3R1-v0", "MiniGrid-KeyCorridorS3R3-v0", "MiniGrid-KeyCorridorS6R3-v0",
    "MiniGrid-Unlock-v0", "MiniGrid-UnlockPickup-v0", "MiniGrid-BlockedUnlockPickup-v0",
    "MiniGrid-FourRooms-v0",
    "MiniGrid-Fetch-5x5-N2-v0", "MiniGrid-Fetch-8x8-N3-v0",
    "MiniGrid-GoToDoor-5x5-v0", "MiniGrid-GoToDoor-8x8-v0",
    "MiniGrid-GoToObject-6x6-N2-v0", "MiniGrid-GoToObject-8x8-N2-v0",
    "MiniGrid-PutNear-6x6-N2-v0", "MiniGrid-PutNear-8x8-N3-v0",
    "MiniGrid-ObstructedMaze-1Dl-v0", "MiniGrid-ObstructedMaze-1Dlh-v0", "MiniGrid-ObstructedMaze-1Dlhb-v0",
    "MiniGrid-LockedRoom-v0",
]  # fmt: skip
UNREACHED = [
    "MiniGrid-Dynamic-Obstacles-8x8-v0", "MiniGrid-MemoryS7-v0", "MiniGrid-RedBlueDoors-6x6-v0",
    "MiniGrid-DistShift1-v0", "MiniGrid-ObstructedMaze-2Dlhb-v0", "MiniGrid-ObstructedMaze-Full-v0",
    "MiniGrid-Playground-v0", "MiniGrid-WFC-MazeSimple-v0",
]  # fmt: skip


def _play(env: gym.Env) -> tuple[list[dict], int, int]:
    """Census per seed, levels the search finds solvable, episodes the expert wins."""
    rows, solvable_n, won = [], 0, 0
    for seed in SEEDS:
        env.reset(seed=seed)
        base = env.unwrapped
        rows.append(census(env))
        solvable_n += solvable(base.grid, (int(base.agent_pos[0]), int(base.agent_pos[1])), objective_of(env))[0]
        rng = random.Random(seed)
        info: dict = {}
        for _ in range(base.max_steps):
            _, _, terminated, truncated, info = env.step(expert_policy(env, rng))
            if terminated or truncated:
                break
        won += info.get("success", 0.0) == 1.0
    return rows, solvable_n, won


@pytest.mark.parametrize("env_id", REACHED)
def test_spec_reaches_the_registered_env(env_id):
    found = reach(env_id)
    assert found.spec is not None, found.missing
    target_rows, target_ok, target_won = _play(wrap_minigrid(gym.make(env_id)))
    spec_rows, spec_ok, spec_won = _play(wrap_minigrid(MiniGridGenEnv(found.spec)))
    for quantity in found.same:
        target = sorted({row[quantity] for row in target_rows}, key=str)
        ours = sorted({row[quantity] for row in spec_rows}, key=str)
        assert ours == target, f"{env_id}: {quantity} {ours} vs the env's {target}"
    assert target_ok == spec_ok == len(SEEDS), "every sampled level is solvable, the env's and the spec's"
    assert target_won == spec_won == len(SEEDS), "the expert solves both the same way"
    assert MiniGridGenEnv(found.spec).max_steps == gym.make(env_id).unwrapped.max_steps


@pytest.mark.parametrize("env_id", UNREACHED)
def test_unreached_rows_say_why(env_id):
    found = reach(env_id)
    assert found.spec is None and len(found.missing) > 20, found


def test_the_table_spans_every_kind_the_issue_names():
    kinds = {"Empty", "DoorKey", "LavaCrossing", "SimpleCrossing", "LavaGap", "MultiRoom", "KeyCorridor", "Unlock",
             "UnlockPickup", "BlockedUnlockPickup", "FourRooms", "Fetch", "GoToDoor", "GoToObject", "PutNear",
             "ObstructedMaze-1D"}
    assert all(any(env_id.startswith(f"MiniGrid-{kind}") for env_id in REACHED) for kind in kinds)
    assert len(REACHED) >= 20
