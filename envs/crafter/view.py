"""Crafter's observation renderer, vectorised: the same pixels for a fraction of the cost.

Crafter draws its 9x7 local view one cell at a time (a texture look-up, a bounds check and a copy per cell) and
scans every object of the world to find the few in view; that was 70 % of an env step, the largest single cost of
training on Crafter on a CPU. `FastLocalView` gathers the cells' textures with one indexing operation and finds
objects through the object map; the light, night noise and sleep effects are Crafter's own methods, run on the
same canvas, so they draw from the world's random state exactly as Crafter does (the worlds stay reproducible).
`CachedItemView` remembers the inventory strip, which changes a few times per episode. Tests compare every pixel
with Crafter's own renderer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from crafter import engine

#: Crafter paints cells outside the world this grey.
OUTSIDE = 127


class FastLocalView(engine.LocalView):
    """`engine.LocalView` with the cell and object loops replaced by array look-ups."""

    def __init__(self, world: engine.World, textures: engine.Textures, grid: Any) -> None:
        super().__init__(world, textures, grid)
        self._tiles: dict[tuple[int, int], np.ndarray] = {}

    def _tile_table(self, unit: tuple[int, int]) -> np.ndarray:
        """Material id → RGB tile at ``unit``, plus a last row of outside-grey; rebuilt when a world learns a new
        material name (``World.__setitem__`` may add one)."""
        names = self._world._mat_names
        table = self._tiles.get(unit)
        if table is None or len(table) != len(names) + 1:
            rows = [self._textures.get(names[i], unit)[..., :3] for i in range(len(names))]
            rows.append(np.full((*unit, 3), OUTSIDE, np.uint8))
            table = np.stack(rows)
            self._tiles[unit] = table
        return table

    def __call__(self, player: Any, unit: Any) -> np.ndarray:
        self._unit = np.array(unit)
        self._center = np.array(player.pos)
        size = (int(self._unit[0]), int(self._unit[1]))
        table = self._tile_table(size)
        (gx, gy), (width, height) = self._grid, self._area
        x0, y0 = (int(v) for v in self._center - self._offset)
        xa, xb, ya, yb = max(x0, 0), min(x0 + gx, width), max(y0, 0), min(y0 + gy, height)
        ids = np.full((gx, gy), len(table) - 1)
        if xa < xb and ya < yb:
            ids[xa - x0 : xb - x0, ya - y0 : yb - y0] = self._world._mat_map[xa:xb, ya:yb]
            objects = self._world._obj_map[xa:xb, ya:yb]
        else:
            objects = np.zeros((0, 0), np.uint32)
        # (gx, gy, ux, uy, 3) -> (gx*ux, gy*uy, 3): cell (x, y) lands at (x*ux, y*uy) as in Crafter's loop
        canvas = table[ids].transpose(0, 2, 1, 3, 4).reshape(gx * size[0], gy * size[1], 3)
        for index in objects[objects > 0].tolist():
            obj = self._world._objects[index]
            pos = obj.pos - self._center + self._offset
            engine._draw_alpha(canvas, pos * self._unit, self._textures.get(obj.texture, self._unit))
        canvas = self._light(canvas, self._world.daylight)
        if player.sleeping:
            canvas = self._sleep(canvas)
        return canvas


class CachedItemView(engine.ItemView):
    """`engine.ItemView` that redraws the inventory strip only when the inventory changed."""

    def __init__(self, textures: engine.Textures, grid: Any) -> None:
        super().__init__(textures, grid)
        self._last: tuple[Any, np.ndarray] | None = None

    def __call__(self, inventory: dict[str, int], unit: Any) -> np.ndarray:
        key = (tuple(inventory.items()), tuple(np.asarray(unit).tolist()))
        if self._last is None or self._last[0] != key:
            canvas = super().__call__(inventory, unit)
            canvas.flags.writeable = False  # shared between steps: Crafter only reads it (np.concatenate)
            self._last = (key, canvas)
        return self._last[1]
