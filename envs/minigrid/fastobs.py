"""MiniGrid's egocentric observation, computed without building and rotating Grid objects.

``MiniGridEnv.gen_obs`` slices a 7x7 Grid, rotates it with ``Grid.rotate_left`` (a new Grid per quarter turn),
runs the visibility sweep and encodes it: on this machine that was most of an env step and about a third of a
training run's wall time. This module produces the identical array by reading the window's cells straight from
the grid in the rotated order, with the same visibility sweep over the same cells. It is installed per env by
`install` only where the env uses MiniGrid's own ``gen_obs`` (an env that overrides it keeps its own), and a
test compares it with MiniGrid's on rollouts of many registered envs.
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np
from minigrid.core.constants import OBJECT_TO_IDX
from minigrid.core.world_object import Wall
from minigrid.minigrid_env import MiniGridEnv

_EMPTY = (OBJECT_TO_IDX["empty"], 0, 0)
#: Cells outside the grid read as walls (as ``Grid.slice`` makes them); one shared, never modified instance.
_OUTSIDE = Wall()


def _rotation_maps(n: int) -> list[list[tuple[int, int]]]:
    """For each agent_dir, the slice cell (i, j) that lands on view cell (a, b), row-major over (a, b).

    MiniGrid rotates the slice left ``agent_dir + 1`` times; one left turn maps view[a][b] = slice[n-1-b][a].
    """
    maps = []
    for direction in range(4):
        turns = (direction + 1) % 4
        cells = []
        for a in range(n):
            for b in range(n):
                i, j = a, b
                for _ in range(turns):
                    i, j = n - 1 - j, i
                cells.append((i, j))
        maps.append(cells)
    return maps


_MAPS: dict[int, list[list[tuple[int, int]]]] = {}


def _visible(opaque: list[list[bool]], n: int) -> list[list[bool]]:
    """``Grid.process_vis`` on the view: the same sweep, reading opacity instead of calling see_behind."""
    mask = [[False] * n for _ in range(n)]
    mask[n // 2][n - 1] = True
    for j in reversed(range(n)):
        for i in range(n - 1):
            if not mask[i][j] or opaque[i][j]:
                continue
            mask[i + 1][j] = True
            if j > 0:
                mask[i + 1][j - 1] = True
                mask[i][j - 1] = True
        for i in reversed(range(1, n)):
            if not mask[i][j] or opaque[i][j]:
                continue
            mask[i - 1][j] = True
            if j > 0:
                mask[i - 1][j - 1] = True
                mask[i][j - 1] = True
    return mask


def fast_gen_obs(env: MiniGridEnv) -> dict[str, Any]:
    """The observation dict ``MiniGridEnv.gen_obs`` returns, identical to it."""
    n = env.agent_view_size
    maps = _MAPS.get(n)
    if maps is None:
        maps = _MAPS[n] = _rotation_maps(n)
    top_x, top_y, _, _ = env.get_view_exts()
    grid = env.grid
    width, height, cells = grid.width, grid.height, grid.grid
    view: list[list[Any]] = [[None] * n for _ in range(n)]
    opaque = [[False] * n for _ in range(n)]
    for k, (i, j) in enumerate(maps[env.agent_dir]):
        x, y = top_x + i, top_y + j
        cell = cells[y * width + x] if 0 <= x < width and 0 <= y < height else _OUTSIDE
        a, b = divmod(k, n)
        view[a][b] = cell
        if cell is not None and not cell.see_behind():
            opaque[a][b] = True
    if env.see_through_walls:
        mask = [[True] * n for _ in range(n)]
    else:
        mask = _visible(opaque, n)
    view[n // 2][n - 1] = env.carrying  # the agent sees what it carries (None: an empty cell)
    image = np.zeros((n, n, 3), dtype="uint8")
    for a in range(n):
        row, visible = view[a], mask[a]
        for b in range(n):
            if visible[b]:
                cell = row[b]
                image[a, b] = _EMPTY if cell is None else cell.encode()
    return {"image": image, "direction": env.agent_dir, "mission": env.mission}


def install(env: MiniGridEnv) -> bool:
    """Use `fast_gen_obs` for ``env`` when it relies on MiniGrid's own observation code; True if installed."""
    cls = type(env)
    if cls.gen_obs is not MiniGridEnv.gen_obs or cls.gen_obs_grid is not MiniGridEnv.gen_obs_grid:
        return False
    env.gen_obs = types.MethodType(fast_gen_obs, env)  # type: ignore[method-assign]
    return True
