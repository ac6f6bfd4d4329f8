"""MiniGrid levels sampled from a `MiniGridLevelSpec`, with a solvability check that understands key→door."""

from __future__ import annotations

from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np
from minigrid.core.grid import Grid
from minigrid.core.mission import MissionSpace
from minigrid.core.world_object import Ball, Box, Door, Goal, Key, Lava
from minigrid.minigrid_env import MiniGridEnv

from gymsmith.envs.family import UnsolvableLevel
from gymsmith.envs.minigrid.spec import MiniGridLevelSpec
from gymsmith.envs.minigrid.wrappers import wrap_minigrid

GEN_ENV_ID = "gymsmith/MiniGridGen-v0"
#: Placement attempts per level before the spec is declared unsolvable for that seed.
PLACEMENT_TRIES = 30


def is_solvable(grid: Grid, agent_pos: tuple[int, int]) -> tuple[bool, str]:
    """BFS over (cell, has_key) so that a locked door counts as passable only once a key was reachable.

    Balls and boxes count as obstacles (conservative: moving them costs the key slot), lava is deadly.
    Returns (solvable, why-not) so that rejections carry a reason the LLM can act on.
    """
    width, height = grid.width, grid.height
    goals = [(x, y) for x in range(width) for y in range(height) if isinstance(grid.get(x, y), Goal)]
    if not goals:
        return False, "the level has no goal square"
    start = (agent_pos[0], agent_pos[1], False)
    seen = {start}
    queue = deque([start])
    key_seen = False
    door_blocked = False
    while queue:
        x, y, has_key = queue.popleft()
        if isinstance(grid.get(x, y), Goal):
            return True, ""
        for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            nx, ny = x + dx, y + dy
            if not (0 <= nx < width and 0 <= ny < height):
                continue
            cell = grid.get(nx, ny)
            nkey = has_key
            if isinstance(cell, Key):
                # picking up happens from the neighbouring cell; the key cell itself stays blocked
                key_seen = True
                state = (x, y, True)
                if state not in seen:
                    seen.add(state)
                    queue.append(state)
                continue
            if cell is None or isinstance(cell, Goal) or (isinstance(cell, Door) and cell.is_open):
                pass
            elif isinstance(cell, Door):
                if cell.is_locked and not has_key:
                    door_blocked = True
                    continue
            else:  # wall, lava, ball, box
                continue
            state = (nx, ny, nkey)
            if state not in seen:
                seen.add(state)
                queue.append(state)
    if door_blocked and not key_seen:
        return False, "the locked door is unreachable without a key and no key is reachable before it"
    return False, "no path from the agent to the goal (walls, lava or objects block every route)"


class MiniGridGenEnv(MiniGridEnv):
    """A MiniGrid env whose layout is sampled from a `MiniGridLevelSpec` at every reset."""

    def __init__(self, spec: MiniGridLevelSpec | dict[str, Any], **kwargs: Any) -> None:
        self.level_spec = spec if isinstance(spec, MiniGridLevelSpec) else MiniGridLevelSpec(**spec)
        mission = self._mission()
        super().__init__(
            mission_space=MissionSpace(mission_func=lambda: mission),
            grid_size=self.level_spec.size,
            max_steps=self.level_spec.effective_max_steps(),
            see_through_walls=False,
            **kwargs,
        )

    def _gen_grid(self, width: int, height: int) -> None:
        last = ""
        for _ in range(PLACEMENT_TRIES):
            try:
                self._place_level(width, height)
            except RecursionError:  # minigrid's rejection sampler gives up when objects do not fit
                last = "the requested objects do not fit in the grid"
                continue
            ok, why = is_solvable(self.grid, self.agent_pos)
            if ok:
                self.mission = self._mission()
                return
            last = why
        raise UnsolvableLevel(f"no solvable placement in {PLACEMENT_TRIES} tries: {last}")

    def _mission(self) -> str:
        s = self.level_spec
        if s.wall and s.door_locked:
            return "use the key to open the door and then get to the goal"
        return "get to the green goal square"

    def _place_level(self, width: int, height: int) -> None:
        s = self.level_spec
        self.grid = Grid(width, height)
        self.grid.wall_rect(0, 0, width, height)
        if s.wall:
            split = self._rand_int(2, width - 2)
            self.grid.vert_wall(split, 0)
            door_y = self._rand_int(1, height - 1)
            self.put_obj(Door("yellow", is_locked=s.door_locked), split, door_y)
            left = ((1, 1), (split - 1, height - 2))
            right = ((split + 1, 1), (width - 2 - split, height - 2))
            goal_pos = self._goal_position(right, door=(split, door_y))
            self.put_obj(Goal(), *goal_pos)
            self.place_agent(top=left[0], size=left[1])
            if s.key:
                self.place_obj(Key("yellow"), top=left[0], size=left[1])
            hazard_area = right
        else:
            self.place_agent(top=(1, 1), size=(width - 2, height - 2))
            goal_pos = self._goal_position(((1, 1), (width - 2, height - 2)), door=None)
            self.put_obj(Goal(), *goal_pos)
            if s.key:
                self.place_obj(Key("yellow"))
            hazard_area = ((1, 1), (width - 2, height - 2))
        for _ in range(s.lava):
            self.place_obj(Lava(), top=hazard_area[0], size=hazard_area[1], max_tries=200)
        for i in range(s.distractors):
            obj = Ball("blue") if i % 2 == 0 else Box("purple")
            self.place_obj(obj, max_tries=200)

    def _goal_position(
        self, area: tuple[tuple[int, int], tuple[int, int]], door: tuple[int, int] | None
    ) -> tuple[int, int]:
        (x0, y0), (w, h) = area
        mode = self.level_spec.goal
        if mode == "far":
            return x0 + w - 1, y0 + h - 1
        if mode == "near" and door is not None:
            return door[0] + 1, door[1]
        if mode == "near":
            ax, ay = self.agent_pos if self.agent_pos is not None else (x0, y0)
            for dx, dy in ((1, 0), (0, 1), (-1, 0), (0, -1), (2, 0), (0, 2)):
                gx, gy = ax + dx, ay + dy
                if x0 <= gx < x0 + w and y0 <= gy < y0 + h and self.grid.get(gx, gy) is None:
                    return gx, gy
        while True:
            gx, gy = self._rand_int(x0, x0 + w), self._rand_int(y0, y0 + h)
            if self.grid.get(gx, gy) is None and (self.agent_pos is None or (gx, gy) != tuple(self.agent_pos)):
                return gx, gy


def make_generated(spec: MiniGridLevelSpec | dict[str, Any], render_mode: str | None = None) -> gym.Env:
    """Gymnasium entry point for `GEN_ENV_ID`."""
    return wrap_minigrid(MiniGridGenEnv(spec, render_mode=render_mode))


def check_spec(spec: MiniGridLevelSpec, seeds: range | list[int] = range(8)) -> tuple[bool, str]:
    """Solvability over several seeds: a spec is a distribution, so one lucky layout is not enough."""
    env = MiniGridGenEnv(spec)
    try:
        for seed in seeds:
            try:
                env.reset(seed=seed)
            except UnsolvableLevel as exc:
                return False, f"seed {seed}: {exc}"
    finally:
        env.close()
    return True, ""


def render_level(spec: MiniGridLevelSpec, seed: int = 0) -> np.ndarray:
    """Full-grid RGB picture of one sampled level, for reports and `gymsmith show`."""
    env = MiniGridGenEnv(spec, render_mode="rgb_array")
    try:
        env.reset(seed=seed)
        return env.get_frame(highlight=False, tile_size=16)
    finally:
        env.close()


def register() -> None:
    """Idempotent Gymnasium registration, so users can ``gym.make(GEN_ENV_ID, spec=...)``."""
    if GEN_ENV_ID not in gym.registry:
        gym.register(id=GEN_ENV_ID, entry_point="gymsmith.envs.minigrid.levels:make_generated")
