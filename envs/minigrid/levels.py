"""MiniGrid levels sampled from a `MiniGridLevelSpec`: one fresh level per ``reset(seed=...)``, always solvable.

Generation order: the layout's walls (`layout.build`), what each link becomes (gap, open, closed or locked
door), the crossing strips, the keys of the locked doors on the side the agent reaches first (or in boxes), the
balls that block locked doors, the objective (goal square or objects or a door), distractors, scattered lava,
the agent. A sampled level that the search (`solve.solvable`) finds unsolvable is redrawn with the same seed's
random stream; a seed without a solvable level after `PLACEMENT_TRIES` raises `UnsolvableLevel`.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from minigrid.core.grid import Grid
from minigrid.core.mission import MissionSpace
from minigrid.core.world_object import Ball, Box, Door, Goal, Key, Lava, Wall, WorldObj
from minigrid.minigrid_env import MiniGridEnv

from gymsmith.envs.family import UnsolvableLevel
from gymsmith.envs.minigrid import layout as layouts
from gymsmith.envs.minigrid.objective import Cell, Objective
from gymsmith.envs.minigrid.solve import solvable
from gymsmith.envs.minigrid.spec import COLORS, OBJECT_TYPES, MiniGridLevelSpec
from gymsmith.envs.minigrid.wrappers import wrap_minigrid

GEN_ENV_ID = "gymsmith/MiniGridGen-v0"
#: Placement attempts per level before the spec is declared unsolvable for that seed.
PLACEMENT_TRIES = 30
_OBJECTS = {"ball": Ball, "box": Box, "key": Key}


class _NoRoom(RuntimeError):
    """No free cell was left for an object this try."""


class _AnyMission(MissionSpace):
    """Missions are worded per sampled level (colours are drawn per seed), so any string is a valid mission."""

    def __init__(self) -> None:
        super().__init__(mission_func=lambda: "get to the green goal square")

    def contains(self, x: Any) -> bool:
        return isinstance(x, str)


class MiniGridGenEnv(MiniGridEnv):
    """A MiniGrid env whose level is sampled from a `MiniGridLevelSpec` at every reset."""

    def __init__(self, spec: MiniGridLevelSpec | dict[str, Any], **kwargs: Any) -> None:
        self.level_spec = spec if isinstance(spec, MiniGridLevelSpec) else MiniGridLevelSpec(**spec)
        self.objective = Objective()
        self.layout: layouts.Layout | None = None
        width, height = self.level_spec.grid_shape()
        super().__init__(
            mission_space=_AnyMission(),
            width=width,
            height=height,
            max_steps=self.level_spec.effective_max_steps(),
            see_through_walls=False,
            **kwargs,
        )

    # ------------------------------------------------------------------------------------- generation

    def _gen_grid(self, width: int, height: int) -> None:
        last = ""
        for _ in range(PLACEMENT_TRIES):
            try:
                self._place_level(width, height)
            except (layouts.LayoutFailed, _NoRoom) as exc:
                last = str(exc)
                continue
            ok, why = solvable(self.grid, (int(self.agent_pos[0]), int(self.agent_pos[1])), self.objective)
            if ok:
                return
            last = why
        raise UnsolvableLevel(f"no solvable placement in {PLACEMENT_TRIES} tries: {last}")

    def _choice(self, items: list[Any]) -> Any:
        return items[int(self.np_random.integers(len(items)))]

    def _place_level(self, width: int, height: int) -> None:
        s = self.level_spec
        rng = self.np_random
        self.grid = Grid(width, height)
        self.agent_pos, self.agent_dir, self.carrying = (-1, -1), 0, None
        self._reserved: set[Cell] = set()
        lay = layouts.build(s, self.grid, rng)
        self.layout = lay
        dist = lay.distances(lay.start)
        # the objective's room: the farthest (DoorKey's right room, MultiRoom's last) or any far enough for locks
        if s.place == "far":
            far = max(dist.values())
            goal_room = self._choice([r for r, d in sorted(dist.items()) if d == far])
        else:
            goal_room = self._choice([r for r, d in sorted(dist.items()) if d >= s.locked_doors])
        path = lay.path(lay.start, goal_room)
        groups = self._lock_groups(lay, path, goal_room)
        colors = list(COLORS)
        self.np_random.shuffle(colors)
        lock_colors = [c for c in colors if c != s.door_color][: len(groups)]
        if s.door_color != "random" and groups:
            lock_colors[-1] = s.door_color  # the door nearest the objective takes the spec's colour (DoorKey)
        locked_at = {id(link): lock_colors[i] for i, group in enumerate(groups) for link in group}
        doors = self._links(lay, locked_at)
        if s.lava_strips or s.wall_strips:
            self._crossing(width, height)
        corner = (lay.rooms[lay.start].x + 1, lay.rooms[lay.start].y + 1)
        if s.start == "corner":
            self._reserved.add(corner)
        goal_corner = (width - 2, height - 2) if s.layout in ("room", "two_rooms") and s.place == "far" else None
        if goal_corner and s.objective == "goal":
            self._reserved.add(goal_corner)
        # keys on the side the agent reaches first, in the order the locks are met
        cut: set[int] = set()
        for group in groups:
            cut |= {id(link) for link in group}
        for i, group in enumerate(groups):
            region = sorted(lay.reachable(lay.start, cut))
            key: WorldObj = Key(lock_colors[i])
            if s.key_in_box:
                box = Box(self._choice([c for c in COLORS if c != lock_colors[i]]))
                box.contains = key
                key = box
            self._put(key, self._choice(region))
            cut -= {id(link) for link in group}
            if s.blocked:
                for link in group:
                    near = link.a if dist[link.a] < dist[link.b] else link.b
                    cell = link.side.get(near)
                    if cell is None or self.grid.get(*cell) is not None:
                        raise _NoRoom("no cell in front of a locked door for the blocking ball")
                    self.put_obj(Ball(self._choice(colors)), *cell)
        taken = self._objective(goal_room, goal_corner, path, doors, lay)
        for kind, count in (("ball", s.balls), ("box", s.boxes), ("key", s.keys)):
            for _ in range(count):
                color = self._choice([c for c in COLORS if (kind, c) not in taken])
                self._put(_OBJECTS[kind](color), self._choice(range(len(lay.rooms))),
                          apart=s.objective == "put_near")
        for _ in range(s.scattered_lava):
            self._put(Lava(), self._choice(range(len(lay.rooms))))
        self._place_agent(lay, corner)

    def _lock_groups(self, lay: layouts.Layout, path: list[layouts.Link], goal_room: int) -> list[list[Any]]:
        """Locked links, in the order the agent meets them: the last ``locked`` links of the path to the
        objective; where rooms form cycles, every link into the objective's room (one lock, one key)."""
        s = self.level_spec
        if not s.locked_doors:
            return []
        if len(path) < s.locked_doors:
            raise _NoRoom(f"locked_doors={s.locked_doors} needs the objective {s.locked_doors} rooms away; it is "
                          f"{len(path)}")
        if lay.has_cycle():
            return [[link for link in lay.links if goal_room in (link.a, link.b)]]
        return [[link] for link in path[-s.locked_doors:]]

    def _links(self, lay: layouts.Layout, locked_at: dict[int, str]) -> list[tuple[Cell, Door]]:
        s = self.level_spec
        doors: list[tuple[Cell, Door]] = []
        previous = ""
        for link in lay.links:
            if id(link) in locked_at:
                door = Door(locked_at[id(link)], is_locked=True)
            elif s.connect == "gap":
                self.grid.set(*link.pos, None)
                continue
            else:
                color = self._choice([c for c in COLORS if c != previous and c not in locked_at.values()])
                door = Door(color, is_open=s.connect == "open")
            previous = door.color
            self.put_obj(door, *link.pos)
            doors.append((link.pos, door))
        if s.layout == "room" and s.wall_doors:
            w, h = self.grid.width, self.grid.height
            spots = [(self._rint(2, w - 2), 0), (self._rint(2, w - 2), h - 1), (0, self._rint(2, h - 2)),
                     (w - 1, self._rint(2, h - 2))]
            self.np_random.shuffle(spots)
            colors = list(COLORS)
            self.np_random.shuffle(colors)
            for pos, color in zip(spots[: s.wall_doors], colors, strict=False):
                door = Door(color)
                self.put_obj(door, *pos)
                doors.append((pos, door))
        return doors

    def _rint(self, low: int, high: int) -> int:
        return int(self.np_random.integers(low, high)) if high > low else low

    def _crossing(self, width: int, height: int) -> None:
        """MiniGrid's crossing: strips on even rows/columns, one gap each where a right/down path crosses."""
        s = self.level_spec
        obstacle = Lava if s.lava_strips else Wall
        rivers = [("v", i) for i in range(2, height - 2, 2)] + [("h", j) for j in range(2, width - 2, 2)]
        order = self.np_random.permutation(len(rivers))
        chosen = [rivers[i] for i in order[: s.lava_strips + s.wall_strips]]
        rivers_v = sorted(p for d, p in chosen if d == "v")
        rivers_h = sorted(p for d, p in chosen if d == "h")
        for y in rivers_v:
            for x in range(1, width - 1):
                self.grid.set(x, y, obstacle())
        for x in rivers_h:
            for y in range(1, height - 1):
                self.grid.set(x, y, obstacle())
        path = ["h"] * len(rivers_h) + ["v"] * len(rivers_v)
        self.np_random.shuffle(path)
        limits_v, limits_h = [0, *rivers_v, height - 1], [0, *rivers_h, width - 1]
        room_i = room_j = 0
        for direction in path:
            if direction == "h":
                x = limits_h[room_j + 1]
                y = self._rint(limits_v[room_i] + 1, limits_v[room_i + 1])
                room_j += 1
            else:
                x = self._rint(limits_h[room_j] + 1, limits_h[room_j + 1])
                y = limits_v[room_i + 1]
                room_i += 1
            self.grid.set(x, y, None)
            self._reserved.add((x, y))  # a gap stays open: an object or lava there would seal the crossing

    def _free(self, room: int, apart: bool = False) -> list[Cell]:
        lay = self.layout
        assert lay is not None
        sides = {c for link in lay.links for c in link.side.values()} | self._reserved
        cells = [c for c in lay.rooms[room].interior() if self.grid.get(*c) is None]
        if apart:  # PutNear: no two objects within one cell of each other
            objects = [(i % self.grid.width, i // self.grid.width) for i, o in enumerate(self.grid.grid)
                       if o is not None and o.type in _OBJECTS]
            cells = [c for c in cells if all(max(abs(c[0] - o[0]), abs(c[1] - o[1])) > 1 for o in objects)]
        preferred = [c for c in cells if c not in sides]
        return preferred or [c for c in cells if c not in self._reserved]

    def _put(self, obj: WorldObj, room: int, apart: bool = False) -> Cell:
        cells = self._free(room, apart)
        if not cells:
            raise _NoRoom(f"no free cell left for a {obj.type} (the level is too small for what it asks)")
        cell = self._choice(cells)
        self.put_obj(obj, *cell)
        return cell

    def _objective(
        self, room: int, goal_corner: Cell | None, path: list[layouts.Link], doors: list[tuple[Cell, Door]],
        lay: layouts.Layout,
    ) -> set[tuple[str, str]]:
        """Place what the objective is about; returns the (type, colour) pairs distractors must not repeat."""
        s = self.level_spec
        kind = s.objective

        def pick_color(used: set[str] = frozenset()) -> str:  # type: ignore[assignment]
            return s.target_color if s.target_color != "random" else self._choice([c for c in COLORS
                                                                                   if c not in used])

        def pick_type(name: str) -> str:
            return self._choice(list(OBJECT_TYPES)) if name == "any" else name

        if kind == "goal":
            if goal_corner is not None:
                self.put_obj(Goal(), *goal_corner)
            else:
                self._put(Goal(), room)
            self.objective = Objective("goal")
            return set()
        if kind in ("open_door", "goto") and (kind == "open_door" or s.target == "door"):
            door_pos = [pos for pos, _ in doors]
            if s.layout == "room":
                pos = self._choice(door_pos)
            else:
                on_path = [link.pos for link in path if link.pos in door_pos]
                if not on_path:
                    raise _NoRoom("no door on the way to the objective")
                pos = on_path[-1]
            door = self.grid.get(*pos)
            if kind == "goto" and s.target_color != "random":
                for other_pos, other in doors:  # the named colour must name one door
                    if other.color == s.target_color and other_pos != pos:
                        other.color = door.color
                door.color = s.target_color
            self.objective = Objective(kind, "door", door.color, strict=s.strict)
            return set()
        obj_type, color = pick_type(s.target), pick_color()
        self._put(_OBJECTS[obj_type](color), room, apart=kind == "put_near")
        taken = {(obj_type, color)}
        if kind == "put_near":
            near_type, near_color = pick_type(s.near), self._choice(list(COLORS))
            while (near_type, near_color) in taken:
                near_type, near_color = pick_type(s.near), self._choice(list(COLORS))
            self._put(_OBJECTS[near_type](near_color), room, apart=True)
            taken.add((near_type, near_color))
            self.objective = Objective(kind, obj_type, color, near_type, near_color, strict=s.strict)
        else:
            self.objective = Objective(kind, obj_type, color, strict=s.strict)
        return taken

    def _place_agent(self, lay: layouts.Layout, corner: Cell) -> None:
        s = self.level_spec
        if s.start == "corner":
            if self.grid.get(*corner) is not None:
                raise _NoRoom("the start corner is taken")
            self.agent_pos, self.agent_dir = corner, 0
        else:
            rooms = [lay.start] if s.start == "first_room" else list(range(len(lay.rooms)))
            cells = [c for r in rooms for c in lay.rooms[r].interior() if self.grid.get(*c) is None]
            if not cells:
                raise _NoRoom("no free cell left for the agent")
            self.agent_pos, self.agent_dir = self._choice(cells), self._rint(0, 4)
        self.agent_pos = np.array(self.agent_pos)
        self.mission = self._mission()

    def _mission(self) -> str:
        s = self.level_spec
        if s.objective != "goal":
            doors = sum(1 for o in self.grid.grid if o is not None and o.type == "door")
            return self.objective.mission(doors)
        if s.lava_strips or s.scattered_lava:
            return "avoid the lava and get to the green goal square"
        if s.wall_strips:
            return "find the opening and get to the green goal square"
        if s.locked_doors and s.layout == "two_rooms":
            return "use the key to open the door and then get to the goal"
        if s.layout == "chain":
            return "traverse the rooms to get to the goal"
        return "get to the green goal square"

    # ------------------------------------------------------------------------------------------ steps

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """MiniGrid's step plus the objective's own end: what MiniGrid's Fetch, GoTo*, PutNear and Unlock do."""
        before = self.carrying
        front = tuple(int(v) for v in self.front_pos)
        if action == self.actions.forward and (front[0] in (0, self.width - 1) or front[1] in (0, self.height - 1)):
            # a door in the outer wall opens but leads nowhere: stepping into it would leave the agent facing
            # outside the grid, where MiniGrid's step fails; it is bumped like a wall
            self.step_count += 1
            return self.gen_obs(), 0.0, False, self.step_count >= self.max_steps, {}
        obs, reward, terminated, truncated, info = super().step(action)
        o = self.objective
        if o.kind == "goal" or terminated:
            return obs, reward, terminated, truncated, info
        won = lost = False
        cell = self.grid.get(*front) if 0 <= front[0] < self.width and 0 <= front[1] < self.height else None
        picked = action == self.actions.pickup and self.carrying is not None and before is None
        if o.kind == "pickup" and picked:
            won = self.carrying.type == o.obj and self.carrying.color == o.color
            lost = not won and o.strict
        elif o.kind == "goto":
            if action == self.actions.done:
                ax, ay = int(self.agent_pos[0]), int(self.agent_pos[1])
                won = any(_is(self.grid.get(x, y), o.obj, o.color)
                          for x, y in ((ax + 1, ay), (ax - 1, ay), (ax, ay + 1), (ax, ay - 1)))
                lost = not won and o.strict
            lost = lost or (o.strict and action == self.actions.toggle)
        elif o.kind == "put_near":
            if picked and not _is(self.carrying, o.obj, o.color):
                lost = o.strict
            if action == self.actions.drop and before is not None and self.carrying is None:
                if _is(before, o.obj, o.color):
                    won = any(_is(self.grid.get(front[0] + dx, front[1] + dy), o.near, o.near_color)
                              for dx in (-1, 0, 1) for dy in (-1, 0, 1) if (dx, dy) != (0, 0))
                lost = not won and o.strict
        elif o.kind == "open_door" and action == self.actions.toggle:
            won = _is(cell, "door", o.color) and cell.is_open
        if won:
            reward, terminated = self._reward(), True
        elif lost:
            terminated = True
        return obs, reward, terminated, truncated, info


def _is(obj: Any, kind: str, color: str | None) -> bool:
    return obj is not None and obj.type == kind and (color is None or obj.color == color)


def make_generated(spec: MiniGridLevelSpec | dict[str, Any], render_mode: str | None = None) -> gym.Env:
    """Gymnasium entry point for `GEN_ENV_ID`."""
    return wrap_minigrid(MiniGridGenEnv(spec, render_mode=render_mode))


def check_spec(spec: MiniGridLevelSpec, seeds: range | list[int] = range(8)) -> tuple[bool, str]:
    """Solvability over several seeds: a spec is a distribution, so one lucky layout is not enough."""
    try:
        env = MiniGridGenEnv(spec)
    except (ValueError, AssertionError) as exc:
        return False, f"the level cannot be built: {exc}"
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
