"""The info convention of every MiniGrid env gymsmith builds (generated levels and targets alike).

Egocentric 7x7 symbolic observations plus ``info["events"]``, ``info["features"]`` and, on the last step of an
episode, ``info["success"]`` (1.0 when the episode ended with the mission accomplished, i.e. a positive env
reward on termination, whatever the mission), so one policy trains on any mixture and probes, goals and reward
programs read the same vocabulary everywhere.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
from minigrid.core.world_object import Door, Goal, Key, Lava, Wall
from minigrid.wrappers import ImgObsWrapper


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
        if terminated or truncated:
            info["success"] = 1.0 if terminated and reward > 0 else 0.0
        return obs, reward, terminated, truncated, info


def wrap_minigrid(env: gym.Env) -> gym.Env:
    """The one observation/info convention every MiniGrid env in gymsmith uses (with the fast observation)."""
    from gymsmith.envs.minigrid.fastobs import install

    install(env.unwrapped)
    return EventFeatures(ImgObsWrapper(env))



