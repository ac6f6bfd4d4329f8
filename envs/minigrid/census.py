"""What a built MiniGrid level contains, read off its grid: the quantities constraints and events speak of.

Everything here looks at the grid of a reset env (generated or registered), never at a spec, so "two lava
strips" means two rows or columns of lava with one gap each in the level the agent gets. The same readings
drive ``info["events"]`` (which strip the agent crossed, which room it entered) and the generate command's
constraint checks (`MiniGridFamily.measure`).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from gymsmith.envs.minigrid.objective import Cell, objective_of
from gymsmith.envs.minigrid.solve import neighbours

#: Quantities `census` reports, in the order the constraint prompt lists them.
QUANTITIES: tuple[str, ...] = (
    "objective", "target", "target_color", "size", "rooms", "doors", "locked_doors", "closed_doors", "open_doors",
    "keys", "keys_in_boxes", "balls", "boxes", "lava_cells", "lava_strips", "wall_strips",
)  # fmt: skip


def _kind(grid: Any, cell: Cell) -> str:
    obj = grid.get(*cell)
    return "empty" if obj is None else obj.type


def strips(grid: Any) -> list[tuple[str, Cell]]:
    """Rows and columns of the interior made of lava (or of wall) except exactly one empty gap: (kind, gap)."""
    found = []
    w, h = grid.width, grid.height
    lines = [[(x, y) for x in range(1, w - 1)] for y in range(1, h - 1)]
    lines += [[(x, y) for y in range(1, h - 1)] for x in range(1, w - 1)]
    for line in lines:
        if len(line) < 3:
            continue
        for kind in ("lava", "wall"):
            gaps = [c for c in line if _kind(grid, c) != kind]
            if len(gaps) == 1 and _kind(grid, gaps[0]) == "empty":
                found.append((kind, gaps[0]))
    return found


def room_map(grid: Any, start: Cell) -> dict[Cell, int]:
    """Room number of every cell the agent could reach with all doors open; walls and doors separate rooms
    (lava and objects are floor here). Room 0 is the agent's."""
    reach = {start}
    queue = deque([start])
    while queue:
        cur = queue.popleft()
        for n in neighbours(cur):
            if 0 <= n[0] < grid.width and 0 <= n[1] < grid.height and n not in reach and _kind(grid, n) != "wall":
                reach.add(n)
                queue.append(n)
    free = {c for c in reach if _kind(grid, c) != "door"}
    rooms: dict[Cell, int] = {}
    order = [start] + sorted(free - {start}) if start in free else sorted(free)
    for seed in order:
        if seed in rooms:
            continue
        number = len(set(rooms.values()))
        rooms[seed] = number
        queue = deque([seed])
        while queue:
            cur = queue.popleft()
            for n in neighbours(cur):
                if n in free and n not in rooms:
                    rooms[n] = number
                    queue.append(n)
    return rooms


def census(env: Any) -> dict[str, Any]:
    """The quantities of `QUANTITIES` for the level ``env`` was last reset to."""
    base = env.unwrapped
    grid = base.grid
    cells = [c for c in grid.grid if c is not None]
    doors = [c for c in cells if c.type == "door"]
    boxes = [c for c in cells if c.type == "box"]
    inside = [b.contains for b in boxes if b.contains is not None]
    found = strips(grid)
    start = (int(base.agent_pos[0]), int(base.agent_pos[1]))
    objective = objective_of(env)
    return {
        "objective": objective.kind,
        # what the objective is about (the door to open or go to, the object to pick up or move); none for goal
        "target": objective.obj or "none",
        "target_color": objective.color or "none",
        "size": int(grid.width),
        "rooms": len(set(room_map(grid, start).values())),
        "doors": len(doors),
        "locked_doors": sum(d.is_locked for d in doors),
        "closed_doors": sum(not d.is_open and not d.is_locked for d in doors),
        "open_doors": sum(d.is_open for d in doors),
        "keys": sum(c.type == "key" for c in cells + inside),
        "keys_in_boxes": sum(c.type == "key" for c in inside),
        "balls": sum(c.type == "ball" for c in cells + inside),
        "boxes": len(boxes),
        "lava_cells": sum(c.type == "lava" for c in cells),
        "lava_strips": sum(kind == "lava" for kind, _ in found),
        "wall_strips": sum(kind == "wall" for kind, _ in found),
    }
