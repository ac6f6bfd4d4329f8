"""A scripted MiniGrid solver: the reward verifier's reference for "an episode that makes progress".

It re-plans every step from the live grid, for every objective of the level language and every registered env
whose mission it can read (`objective.parse_mission`): do the objective if the agent's region reaches it;
otherwise open a locked door on the region's border with a key it has or can get (from the floor or a box);
otherwise move an object that stands in a doorway out of the way. Hands are emptied onto a cell that blocks
nothing (not next to a door, an object or the goal, and not cutting the room in two) before a pickup.
"""

from __future__ import annotations

import random
from collections import deque
from typing import Any

from minigrid.core.actions import Actions

from gymsmith.envs.minigrid.objective import Cell, Objective, find, objective_of, target_cells
from gymsmith.envs.minigrid.solve import neighbours

_DIRS = ((1, 0), (0, 1), (-1, 0), (0, -1))  # MiniGrid agent_dir 0..3: right, down, left, up
_MOVABLE = ("key", "ball", "box")

#: A task: cells to stand on, each with the cell to face there (None: arrive), and the action to take then.
Task = tuple[dict[Cell, Cell | None], int]


def _kind(grid: Any, cell: Cell) -> str:
    if not (0 <= cell[0] < grid.width and 0 <= cell[1] < grid.height):
        return "wall"
    obj = grid.get(*cell)
    return "empty" if obj is None else obj.type


def _walkable(grid: Any, cell: Cell, toggles: bool) -> bool:
    kind = _kind(grid, cell)
    if kind in ("empty", "goal"):
        return True
    if kind == "door":
        door = grid.get(*cell)
        return door.is_open or (toggles and not door.is_locked)
    return False


def _region(grid: Any, start: Cell, toggles: bool, blocked: Cell | None = None) -> set[Cell]:
    seen = {start}
    queue = deque([start])
    while queue:
        cur = queue.popleft()
        for nxt in neighbours(cur):
            if nxt not in seen and nxt != blocked and _walkable(grid, nxt, toggles):
                seen.add(nxt)
                queue.append(nxt)
    return seen


def _stands(targets: list[Cell], region: set[Cell]) -> dict[Cell, Cell | None]:
    return {n: t for t in targets for n in neighbours(t) if n in region and n != t}


def _safe_drop(grid: Any, agent: Cell, region: set[Cell], toggles: bool) -> Task | None:
    """Somewhere to set the carried object down where it blocks nothing (see the module docstring); in tiny
    rooms where every cell touches a door, anywhere that does not cut the region in two."""
    order = _bfs_order(grid, agent, region, toggles)
    for clear_around in (True, False):
        for stand in order:
            for cell in neighbours(stand):
                if _kind(grid, cell) != "empty" or cell not in region or cell == agent:
                    continue
                if clear_around and any(_kind(grid, n) not in ("empty", "wall") for n in neighbours(cell)):
                    continue
                rest = _region(grid, stand, toggles, blocked=cell)
                if len(rest) >= len(region) - 1:
                    return {stand: cell}, int(Actions.drop)
    return None


def _bfs_order(grid: Any, agent: Cell, region: set[Cell], toggles: bool) -> list[Cell]:
    order, seen = [agent], {agent}
    queue = deque([agent])
    while queue:
        cur = queue.popleft()
        for nxt in neighbours(cur):
            if nxt in region and nxt not in seen:
                seen.add(nxt)
                order.append(nxt)
                queue.append(nxt)
    return order


def _plan(grid: Any, agent: Cell, carrying: Any, o: Objective) -> Task | None:
    toggles = not (o.strict and o.kind == "goto")
    region = _region(grid, agent, toggles)
    held = carrying.type if carrying is not None else None

    def hands_free(task: Task) -> Task | None:
        return task if carrying is None else _safe_drop(grid, agent, region, toggles)

    targets = target_cells(grid, o)
    # 1. the objective itself
    if o.kind == "goal":
        reachable = [t for t in targets if t in region]
        if reachable:
            return {t: None for t in reachable}, int(Actions.forward)
    elif o.kind in ("pickup", "goto"):
        stands = _stands(targets, region)
        if stands:
            boxed = [t for t in targets if _kind(grid, t) == "box" and o.obj != "box"]
            if o.kind == "goto":
                return stands, int(Actions.done)
            if boxed:
                return _stands(boxed, region), int(Actions.toggle)
            return hands_free((stands, int(Actions.pickup)))
    elif o.kind == "put_near":
        if carrying is not None and carrying.type == o.obj and carrying.color == o.color:
            nears = find(grid, o.near, o.near_color)
            drops = {c for n in nears for c in region if _kind(grid, c) == "empty" and c != agent
                     and max(abs(c[0] - n[0]), abs(c[1] - n[1])) == 1}
            stands = {s: c for c in drops for s in neighbours(c) if s in region}
            if stands:
                return stands, int(Actions.drop)
        else:
            stands = _stands(targets, region)
            if stands:
                return hands_free((stands, int(Actions.pickup)))
    elif o.kind == "open_door":
        for door in targets:
            obj = grid.get(*door)
            stands = _stands([door], region)
            if stands and (not obj.is_locked or (held == "key" and carrying.color == obj.color)):
                return stands, int(Actions.toggle)
    if o.strict:
        return None
    # 2. a locked door on the border: open it with the key in hand, or fetch its key
    shut = [c for c in find(grid, "door", None) if grid.get(*c).is_locked and _stands([c], region)]
    colors = {grid.get(*c).color for c in shut}
    if held == "key" and carrying.color in colors:
        return _stands([c for c in shut if grid.get(*c).color == carrying.color], region), int(Actions.toggle)
    for color in sorted(colors):
        keys = [c for c in find(grid, "key", color) if _stands([c], region)]
        loose = [c for c in keys if _kind(grid, c) == "key"]
        if loose:
            return hands_free((_stands(loose, region), int(Actions.pickup)))
        if keys:  # in a box: open it
            return _stands(keys, region), int(Actions.toggle)
    # 3. an object in a doorway or a passage: carry it away, then set it down
    if held in _MOVABLE and (o.kind != "put_near" or held != o.obj):
        return _safe_drop(grid, agent, region, toggles)
    for cell in sorted({n for c in region for n in neighbours(c)} - region):
        if _kind(grid, cell) in _MOVABLE and any(_kind(grid, n) not in ("wall",) and n not in region
                                                 for n in neighbours(cell)):
            return hands_free((_stands([cell], region), int(Actions.pickup)))
    return None


def _route(grid: Any, agent: Cell, goals: dict[Cell, Cell | None], toggles: bool) -> list[Cell] | None:
    prev: dict[Cell, Cell | None] = {agent: None}
    queue = deque([agent])
    while queue:
        cur = queue.popleft()
        if cur in goals:
            path = [cur]
            while prev[path[-1]] is not None:
                path.append(prev[path[-1]])  # type: ignore[arg-type]
            return path[::-1]
        for nxt in neighbours(cur):
            if nxt not in prev and _walkable(grid, nxt, toggles):
                prev[nxt] = cur
                queue.append(nxt)
    return None


def expert_policy(env: Any, rng: random.Random) -> int:
    """The next action of the scripted solver (a random turn or step when nothing useful is left to do)."""
    base = env.unwrapped
    grid = base.grid
    o = objective_of(env)
    agent = (int(base.agent_pos[0]), int(base.agent_pos[1]))
    task = _plan(grid, agent, base.carrying, o)
    wander = rng.choice((int(Actions.left), int(Actions.right), int(Actions.forward)))
    if task is None:
        return wander
    stands, action = task
    toggles = not (o.strict and o.kind == "goto")
    path = _route(grid, agent, stands, toggles)
    if path is None:
        return wander
    if len(path) == 1:
        face = stands[agent]
        if face is None:
            return wander
        want = _DIRS.index((face[0] - agent[0], face[1] - agent[1]))
        if base.agent_dir == want:
            return action
    else:
        step = path[1]
        want = _DIRS.index((step[0] - agent[0], step[1] - agent[1]))
        if base.agent_dir == want:
            door = grid.get(*step)
            if door is not None and door.type == "door" and not door.is_open:
                return int(Actions.toggle)
            return int(Actions.forward)
    return int(Actions.right) if (want - base.agent_dir) % 4 == 1 else int(Actions.left)
