"""The info convention of every MiniGrid env gymsmith builds (generated levels and targets alike).

Egocentric 7x7 symbolic observations plus ``info["events"]``, ``info["features"]`` and, on the last step of an
episode, ``info["success"]`` (1.0 when the episode ended with the mission accomplished, i.e. a positive env
reward on termination, whatever the mission), so one policy trains on any mixture and probes, goals and reward
programs read the same vocabulary everywhere. Events are facts about the level the agent is in (which strip it
crossed, which room it entered, what it picked up, opened or went to), read off the grid, so a registered env and
a generated level with the same structure report the same events.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
from minigrid.core.actions import Actions
from minigrid.wrappers import ImgObsWrapper

from gymsmith.envs.minigrid.census import room_map, strips
from gymsmith.envs.minigrid.objective import Cell, Objective, find, objective_of, target_cells

OBJECT_TYPES = ("key", "ball", "box")
#: Strips and rooms numbered in events (``crossed_1`` .. ``crossed_8``, ``entered_room_2`` .. ``entered_room_9``).
MAX_STRIPS, MAX_ROOMS = 8, 9

#: Every event a MiniGrid env may report; a level reports the subset its structure allows (`level_events`).
MINIGRID_EVENTS: tuple[str, ...] = (
    *(f"picked_up_{t}" for t in OBJECT_TYPES),
    *(f"dropped_{t}" for t in OBJECT_TYPES),
    "opened_door", "unlocked_door", "opened_box",
    *(f"crossed_{n}" for n in range(1, MAX_STRIPS + 1)),
    *(f"entered_room_{n}" for n in range(2, MAX_ROOMS + 1)),
    "went_to_door", *(f"went_to_{t}" for t in OBJECT_TYPES),
    "put_near", "reached_goal", "completed_mission", "died_in_lava",
)  # fmt: skip
#: Keys of ``info["features"]`` (what reward programs read as obs/next_obs); -1 where a thing is absent.
MINIGRID_FEATURES: tuple[str, ...] = (
    "agent_x", "agent_y", "agent_dir", "has_key", "has_target", "door_open", "door_locked", "key_x", "key_y",
    "door_x", "door_y", "goal_x", "goal_y", "target_x", "target_y", "dist_key", "dist_door", "dist_goal",
    "dist_target", "crossed", "rooms_entered", "step", "max_steps",
)  # fmt: skip


class EventFeatures(gym.Wrapper):
    """Adds ``info["events"]`` and ``info["features"]`` to any MiniGrid env.

    Probes, goals and reward programs all read these instead of pixels: symbolic inputs are cheap to ship into
    the reward sandbox and are what an LLM can reason about. Positions are cached and re-read only after an
    action that can move an object (pickup, drop, toggle), so the per-step cost stays flat.
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.objective = Objective()
        self._door: Any = None
        self._pos: dict[str, Cell] = {}
        self._gaps: dict[Cell, int] = {}
        self._rooms: dict[Cell, int] = {}
        self._crossed: set[Cell] = set()
        self._entered: set[int] = set()
        self._doors: dict[Cell, tuple[bool, bool]] = {}
        self._boxes = 0

    # ---------------------------------------------------------------------------------------- scanning

    def _scan(self) -> None:
        grid = self.env.unwrapped.grid
        doors = find(grid, "door", None)
        self._doors = {c: (grid.get(*c).is_open, grid.get(*c).is_locked) for c in doors}
        locked = [c for c in doors if grid.get(*c).is_locked]
        closed = [c for c in doors if not grid.get(*c).is_open]
        chosen = (locked or closed or doors or [None])[0]
        self._door = grid.get(*chosen) if chosen else None
        self._pos["door"] = chosen or (-1, -1)
        self._boxes = len(find(grid, "box", None))
        self._positions()

    def _positions(self) -> None:
        grid = self.env.unwrapped.grid
        keys = [c for c in find(grid, "key", None) if grid.get(*c).type == "key"]
        goals = find(grid, "goal", None)
        self._pos["key"] = keys[0] if keys else (-1, -1)
        self._pos["goal"] = goals[0] if goals else (-1, -1)
        o = self.objective
        if o.kind == "put_near" and _carries(self.env, o.obj, o.color):
            targets = find(grid, o.near, o.near_color)
        else:
            targets = target_cells(grid, o)
        self._pos["target"] = targets[0] if targets else (-1, -1)

    def features(self) -> dict[str, float]:
        base = self.env.unwrapped
        ax, ay = int(base.agent_pos[0]), int(base.agent_pos[1])

        def dist(name: str) -> float:
            p = self._pos[name]
            return float(abs(p[0] - ax) + abs(p[1] - ay)) if p[0] >= 0 else -1.0

        door, o = self._door, self.objective
        return {
            "agent_x": float(ax),
            "agent_y": float(ay),
            "agent_dir": float(base.agent_dir),
            "has_key": float(base.carrying is not None and base.carrying.type == "key"),
            "has_target": float(o.kind != "goal" and _carries(self.env, o.obj, o.color)),
            "door_open": float(door.is_open) if door else 0.0,
            "door_locked": float(door.is_locked) if door else 0.0,
            "key_x": float(self._pos["key"][0]),
            "key_y": float(self._pos["key"][1]),
            "door_x": float(self._pos["door"][0]),
            "door_y": float(self._pos["door"][1]),
            "goal_x": float(self._pos["goal"][0]),
            "goal_y": float(self._pos["goal"][1]),
            "target_x": float(self._pos["target"][0]),
            "target_y": float(self._pos["target"][1]),
            "dist_key": dist("key"),
            "dist_door": dist("door"),
            "dist_goal": dist("goal"),
            "dist_target": dist("target"),
            "crossed": float(len(self._crossed)),
            "rooms_entered": float(len(self._entered)),
            "step": float(base.step_count),
            "max_steps": float(base.max_steps),
        }

    # ------------------------------------------------------------------------------------------ gym API

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        base = self.env.unwrapped
        self.objective = objective_of(self.env)
        self._scan()
        grid = base.grid
        agent = (int(base.agent_pos[0]), int(base.agent_pos[1]))
        self._gaps = {gap: i for i, (_, gap) in enumerate(strips(grid))}
        self._rooms = room_map(grid, agent)
        self._crossed, self._entered = set(), {self._rooms.get(agent, 0)}
        info["events"] = []
        info["features"] = self.features()
        return obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        base = self.env.unwrapped
        before = base.carrying
        front = (int(base.front_pos[0]), int(base.front_pos[1]))
        obs, reward, terminated, truncated, info = self.env.step(action)
        events: list[str] = []
        grid = base.grid
        agent = (int(base.agent_pos[0]), int(base.agent_pos[1]))
        carrying = base.carrying
        if carrying is not None and before is None:
            events.append(f"picked_up_{carrying.type}")
        if before is not None and carrying is None:
            events.append(f"dropped_{before.type}")
            if any(grid.get(front[0] + dx, front[1] + dy) is not None
                   and grid.get(front[0] + dx, front[1] + dy).type in OBJECT_TYPES
                   for dx in (-1, 0, 1) for dy in (-1, 0, 1) if (dx, dy) != (0, 0)):
                events.append("put_near")
        if action == Actions.toggle:
            for cell, (was_open, was_locked) in self._doors.items():
                door = grid.get(*cell)
                if door is None or door.type != "door":
                    continue
                if was_locked and not door.is_locked:
                    events.append("unlocked_door")
                if door.is_open and not was_open:
                    events.append("opened_door")
                self._doors[cell] = (door.is_open, door.is_locked)
            boxes = len(find(grid, "box", None))
            if boxes < self._boxes and not (carrying is not None and carrying.type == "box"):
                events.append("opened_box")
            self._boxes = boxes
        if action in (Actions.pickup, Actions.drop, Actions.toggle):
            self._boxes = len(find(grid, "box", None))
            self._positions()
        if action == Actions.done:
            ax, ay = agent
            near = {grid.get(x, y).type for x, y in ((ax + 1, ay), (ax - 1, ay), (ax, ay + 1), (ax, ay - 1))
                    if grid.get(x, y) is not None}
            events += [f"went_to_{t}" for t in ("door", *OBJECT_TYPES) if t in near]
        if agent in self._gaps and agent not in self._crossed:
            self._crossed.add(agent)
            events.append(f"crossed_{min(len(self._crossed), MAX_STRIPS)}")
        room = self._rooms.get(agent)
        if room is not None and room not in self._entered:
            self._entered.add(room)
            events.append(f"entered_room_{min(len(self._entered), MAX_ROOMS)}")
        if terminated:
            cell = grid.get(*agent)
            if cell is not None and cell.type == "goal":
                events.append("reached_goal")
            elif cell is not None and cell.type == "lava":
                events.append("died_in_lava")
            if reward > 0:
                events.append("completed_mission")
        info["events"] = events
        info["features"] = self.features()
        if terminated or truncated:
            info["success"] = 1.0 if terminated and reward > 0 else 0.0
        return obs, reward, terminated, truncated, info


def _carries(env: gym.Env, kind: str, color: str | None) -> bool:
    obj = env.unwrapped.carrying
    return obj is not None and obj.type == kind and (color is None or obj.color == color)


def wrap_minigrid(env: gym.Env) -> gym.Env:
    """The one observation/info convention every MiniGrid env in gymsmith uses (with the fast observation)."""
    from gymsmith.envs.minigrid.fastobs import install

    install(env.unwrapped)
    return EventFeatures(ImgObsWrapper(env))
