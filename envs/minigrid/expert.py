"""A scripted MiniGrid solver: the reward verifier's reference for "an episode that makes progress".

Re-plans every step from the live grid: key (when a door is locked), then the door, then the goal square.
"""

from __future__ import annotations

import random
from collections import deque
from typing import Any

from minigrid.core.actions import Actions
from minigrid.core.world_object import Door, Goal, Key

_DIRS = ((1, 0), (0, 1), (-1, 0), (0, -1))  # MiniGrid agent_dir 0..3: right, down, left, up


def expert_policy(env: Any, rng: random.Random) -> int:
    """BFS to the key, pick it up, BFS to the door, open it, BFS to the goal."""
    base = env.unwrapped
    grid = base.grid
    ax, ay = int(base.agent_pos[0]), int(base.agent_pos[1])
    carrying = base.carrying
    cells = [(i % grid.width, i // grid.width, c) for i, c in enumerate(grid.grid) if c is not None]
    keys = [(x, y) for x, y, c in cells if isinstance(c, Key)]
    doors = [(x, y, c) for x, y, c in cells if isinstance(c, Door) and not c.is_open]
    goals = [(x, y) for x, y, c in cells if isinstance(c, Goal)]
    if doors and doors[0][2].is_locked and not isinstance(carrying, Key) and keys:
        target, act, onto = keys[0], Actions.pickup, False
    elif doors:
        target, act, onto = (doors[0][0], doors[0][1]), Actions.toggle, False
    elif goals:
        target, act, onto = goals[0], Actions.forward, True
    else:
        return int(Actions.done)

    def passable(x: int, y: int) -> bool:
        cell = grid.get(x, y)
        return cell is None or isinstance(cell, Goal) or (isinstance(cell, Door) and cell.is_open)

    def arrived(x: int, y: int) -> bool:
        if onto:
            return (x, y) == target
        return abs(x - target[0]) + abs(y - target[1]) == 1

    start = (ax, ay)
    prev: dict[tuple[int, int], tuple[int, int] | None] = {start: None}
    queue = deque([start])
    end = None
    while queue:
        cur = queue.popleft()
        if arrived(*cur):
            end = cur
            break
        for dx, dy in _DIRS:
            nxt = (cur[0] + dx, cur[1] + dy)
            if nxt not in prev and 0 <= nxt[0] < grid.width and 0 <= nxt[1] < grid.height and passable(*nxt):
                prev[nxt] = cur
                queue.append(nxt)
    if end is None:
        return int(Actions.done)
    if end == start:
        if onto:
            return int(Actions.done)
        face = _DIRS.index((target[0] - ax, target[1] - ay))
        if base.agent_dir == face:
            return int(act)
    else:
        step = end
        while prev[step] != start:
            step = prev[step]  # type: ignore[assignment]
        face = _DIRS.index((step[0] - ax, step[1] - ay))
        if base.agent_dir == face:
            return int(Actions.forward)
    return int(Actions.right) if (face - base.agent_dir) % 4 == 1 else int(Actions.left)
