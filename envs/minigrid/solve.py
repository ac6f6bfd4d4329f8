"""Solvability of a MiniGrid level: a search over the state that matters (where the agent can be, what it can
carry, which doors it has opened), for every objective of the level language and every registered env.

In MiniGrid nothing the agent does shrinks where it can go: opening a door, moving a ball out of the way,
opening a box all only add floor. So the search over (position, carried object, doors opened, objects moved)
collapses to a monotone fixpoint: flood the agent's region; open every locked door on its border whose key
(or a box holding it) the region reaches; move every object on its border out of the way; repeat until
nothing changes. Positions inside a region are interchangeable because the agent can walk between them, and the
carried object is not a constraint because anything carried can be set down and picked up again.

The one assumption: an object set down never blocks the way. That holds wherever a room has a cell off the
path to drop it on, which every level the language generates has (rooms are at least 1x1 inside and objects
are moved from doorways into rooms). Lava is never entered; in ``strict`` levels only the target may be picked
up (any other pickup ends the episode), and strict go-to levels may not toggle anything.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from gymsmith.envs.minigrid.objective import Cell, Objective, find, target_cells

_STEPS = ((1, 0), (-1, 0), (0, 1), (0, -1))


def neighbours(cell: Cell) -> list[Cell]:
    return [(cell[0] + dx, cell[1] + dy) for dx, dy in _STEPS]


@dataclass
class Reach:
    """The fixpoint: the agent's region and what it unlocked, moved and can get hold of."""

    region: set[Cell] = field(default_factory=set)
    opened: set[Cell] = field(default_factory=set)
    moved: set[Cell] = field(default_factory=set)
    keys: set[str] = field(default_factory=set)
    #: Locked doors on the region's border that stayed shut, with their colour.
    shut: dict[Cell, str] = field(default_factory=dict)


def _passable(grid: Any, cell: Cell, state: Reach, toggles: bool) -> bool:
    x, y = cell
    if not (0 <= x < grid.width and 0 <= y < grid.height):
        return False
    obj = grid.get(x, y)
    if obj is None or obj.type == "goal" or cell in state.moved:
        return True
    if obj.type == "door":
        if obj.is_open:
            return True
        if obj.is_locked:
            return cell in state.opened
        return toggles
    return False


def flood(grid: Any, start: Cell, state: Reach, toggles: bool = True) -> set[Cell]:
    region = {start}
    queue = deque([start])
    while queue:
        cur = queue.popleft()
        for nxt in neighbours(cur):
            if nxt not in region and _passable(grid, nxt, state, toggles):
                region.add(nxt)
                queue.append(nxt)
    return region


def reach(grid: Any, start: Cell, objective: Objective, carrying: Any = None) -> Reach:
    """The monotone fixpoint of the agent's region from ``start`` (see the module docstring)."""
    state = Reach()
    strict = objective.strict
    toggles = not (strict and objective.kind == "goto")
    movable = {objective.obj} if strict else {"key", "ball", "box"}
    if carrying is not None and carrying.type == "key":
        state.keys.add(carrying.color)
    while True:
        state.region = flood(grid, start, state, toggles)
        border = {n for c in state.region for n in neighbours(c)} - state.region
        changed = False
        for cell in sorted(border):
            obj = grid.get(*cell) if 0 <= cell[0] < grid.width and 0 <= cell[1] < grid.height else None
            if obj is None or cell in state.moved or cell in state.opened:
                continue
            if obj.type == "box" and toggles and obj.contains is not None and obj.contains.type == "key":
                if obj.contains.color not in state.keys:
                    state.keys.add(obj.contains.color)
                    changed = True
            if obj.type == "key" and obj.color not in state.keys and (not strict or "key" in movable):
                state.keys.add(obj.color)
                changed = True
            if obj.type in movable:
                state.moved.add(cell)
                changed = True
            elif obj.type == "door" and obj.is_locked and toggles and obj.color in state.keys:
                state.opened.add(cell)
                changed = True
        if not changed:
            inside = [c for c in border if 0 <= c[0] < grid.width and 0 <= c[1] < grid.height]
            state.shut = {c: grid.get(*c).color for c in inside if grid.get(*c) is not None
                          and grid.get(*c).type == "door" and grid.get(*c).is_locked and c not in state.opened}
            return state


def _adjacent(cells: list[Cell], region: set[Cell]) -> list[Cell]:
    return [c for c in cells if any(n in region and n != c for n in neighbours(c))]


def solvable(grid: Any, start: Cell, objective: Objective, carrying: Any = None) -> tuple[bool, str]:
    """Whether the objective can be achieved from ``start``; else (False, a reason the LLM can act on)."""
    targets = target_cells(grid, objective)
    if not targets:
        what = "goal square" if objective.kind == "goal" else f"{objective.color or ''} {objective.obj}".strip()
        return False, f"the level has no {what}"
    state = reach(grid, start, objective, carrying)
    region = state.region
    if objective.kind == "goal":
        ok = any(t in region for t in targets)
    elif objective.kind in ("pickup", "goto"):
        ok = bool(_adjacent(targets, region))
    elif objective.kind == "open_door":
        ok = any(grid.get(*t).color in state.keys or not grid.get(*t).is_locked for t in _adjacent(targets, region))
    else:  # put_near: the object is reachable and a free floor cell of the region touches the other one
        nears = find(grid, objective.near, objective.near_color)
        free = {c for c in region if grid.get(*c) is None or c in state.moved}
        ok = bool(_adjacent(targets, region)) and any(
            abs(c[0] - n[0]) <= 1 and abs(c[1] - n[1]) <= 1 and c != n for n in nears for c in free
        )
    if ok:
        return True, ""
    if state.shut:
        colors = sorted(set(state.shut.values()))
        return False, (f"the locked {' and '.join(colors)} door{'s' * (len(colors) > 1)} on the way cannot be "
                       f"opened: no {' or '.join(colors)} key is reachable before it")
    if objective.strict and objective.kind != "goal":
        return False, f"the {objective.obj} cannot be reached without picking up or toggling something else"
    hazards = "lava, walls or objects" if any(c is not None and c.type == "lava" for c in grid.grid) else \
        "walls or objects"
    what = "goal" if objective.kind == "goal" else objective.obj
    return False, f"no path from the agent to the {what} ({hazards} block every route)"
