"""The MiniGrid level family: a `MiniGridLevelSpec` is a distribution of levels, sampled by seed.

Every env gymsmith trains on (generated or the target) is wrapped the same way — egocentric 7x7 image
observations plus symbolic features and events in ``info`` — so that one policy can train on a mixture, and so
that skill probes and reward programs see the same vocabulary everywhere.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np
from minigrid.core.grid import Grid
from minigrid.core.mission import MissionSpace
from minigrid.core.world_object import Ball, Box, Door, Goal, Key, Lava, Wall
from minigrid.minigrid_env import MiniGridEnv
from minigrid.wrappers import ImgObsWrapper

from gymsmith.schemas import MiniGridLevelSpec

GEN_ENV_ID = "gymsmith/MiniGridGen-v0"
#: Placement attempts per level before the spec is declared unsolvable for that seed.
PLACEMENT_TRIES = 30


class UnsolvableLevel(RuntimeError):
    """Raised when a spec cannot produce a solvable level; the message is the verifier's reason."""


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


class EventFeatures(gym.Wrapper):
    """Adds ``info["events"]`` and ``info["features"]`` to any MiniGrid env.

    Probes, goals and reward programs all read these instead of pixels: symbolic inputs are cheap to ship into
    the reward sandbox and are what an LLM can reason about.
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self._door: Door | None = None
        self._door_pos = (-1, -1)
        self._goal_pos = (-1, -1)
        self._key_pos = (-1, -1)
        self._was_open = False
        self._carrying: str | None = None

    def _scan(self) -> None:
        base = self.env.unwrapped
        grid = base.grid
        self._door, self._door_pos, self._goal_pos, self._key_pos = None, (-1, -1), (-1, -1), (-1, -1)
        for idx, cell in enumerate(grid.grid):
            if cell is None or isinstance(cell, Wall):
                continue
            pos = (idx % grid.width, idx // grid.width)
            if isinstance(cell, Door) and self._door is None:
                self._door, self._door_pos = cell, pos
            elif isinstance(cell, Goal):
                self._goal_pos = pos
            elif isinstance(cell, Key):
                self._key_pos = pos

    def features(self) -> dict[str, float]:
        base = self.env.unwrapped
        ax, ay = int(base.agent_pos[0]), int(base.agent_pos[1])

        def dist(p: tuple[int, int]) -> float:
            return float(abs(p[0] - ax) + abs(p[1] - ay)) if p[0] >= 0 else -1.0

        door = self._door
        return {
            "agent_x": float(ax),
            "agent_y": float(ay),
            "agent_dir": float(base.agent_dir),
            "has_key": float(self._carrying == "key"),
            "door_open": float(door.is_open) if door else 0.0,
            "door_locked": float(door.is_locked) if door else 0.0,
            "key_x": float(self._key_pos[0]),
            "key_y": float(self._key_pos[1]),
            "door_x": float(self._door_pos[0]),
            "door_y": float(self._door_pos[1]),
            "goal_x": float(self._goal_pos[0]),
            "goal_y": float(self._goal_pos[1]),
            "dist_key": dist(self._key_pos),
            "dist_door": dist(self._door_pos),
            "dist_goal": dist(self._goal_pos),
            "step": float(base.step_count),
            "max_steps": float(base.max_steps),
        }

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self._scan()
        self._was_open = bool(self._door.is_open) if self._door else False
        self._carrying = None
        info["events"] = []
        info["features"] = self.features()
        return obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        base = self.env.unwrapped
        events: list[str] = []
        carrying = base.carrying.type if base.carrying is not None else None
        if carrying != self._carrying:
            if carrying in ("key", "ball", "box"):
                events.append(f"picked_up_{carrying}")
                if carrying == "key":
                    self._key_pos = (-1, -1)
            if self._carrying == "key" and carrying is None:
                events.append("dropped_key")
                fx, fy = base.front_pos
                self._key_pos = (int(fx), int(fy))
            self._carrying = carrying
        if self._door is not None:
            if self._door.is_open and not self._was_open:
                events.append("opened_door")
            self._was_open = bool(self._door.is_open)
        if terminated:
            cell = base.grid.get(*base.agent_pos)
            if isinstance(cell, Goal):
                events.append("reached_goal")
            elif isinstance(cell, Lava):
                events.append("died_in_lava")
        info["events"] = events
        info["features"] = self.features()
        return obs, reward, terminated, truncated, info


def wrap_minigrid(env: gym.Env) -> gym.Env:
    """The one observation/info convention every MiniGrid env in gymsmith uses."""
    return EventFeatures(ImgObsWrapper(env))


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
        gym.register(id=GEN_ENV_ID, entry_point="gymsmith.envs.minigrid_family:make_generated")
