"""Room geometry of a level: rooms as rectangles, the links (door or gap cells) between them, the start room.

Each layout follows the registered env it generalises, so a spec of that env samples the same geometry:
``two_rooms`` is DoorKey's random split, ``grid`` is MiniGrid's RoomGrid (FourRooms, Unlock, ObstructedMaze),
``corridor`` is KeyCorridor's three columns with the middle one opened into a corridor, ``chain`` is MultiRoom's
random walk of rooms. Only walls are drawn here; `levels.py` decides what each link becomes.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
from minigrid.core.grid import Grid

from gymsmith.envs.minigrid.spec import MiniGridLevelSpec

Cell = tuple[int, int]
#: Random walks MultiRoom-style before a chain that does not fit is given up for this seed.
CHAIN_TRIES = 200


class LayoutFailed(RuntimeError):
    """The layout cannot be drawn for this seed (e.g. a chain of rooms that does not fit the grid)."""


@dataclass(frozen=True)
class Room:
    """A rectangle whose border is wall; (x, y) is its top-left wall cell."""

    x: int
    y: int
    w: int
    h: int

    def interior(self) -> list[Cell]:
        return [(i, j) for j in range(self.y + 1, self.y + self.h - 1) for i in range(self.x + 1, self.x + self.w - 1)]

    def inside(self, cell: Cell) -> bool:
        return self.x < cell[0] < self.x + self.w - 1 and self.y < cell[1] < self.y + self.h - 1


@dataclass
class Link:
    """The one cell in a shared wall that connects rooms ``a`` and ``b`` (a door or a gap)."""

    a: int
    b: int
    pos: Cell
    #: Room index -> the cell of that room in front of the link (where a blocking ball would stand).
    side: dict[int, Cell] = field(default_factory=dict)

    def other(self, room: int) -> int:
        return self.b if room == self.a else self.a


@dataclass
class Layout:
    width: int
    height: int
    rooms: list[Room]
    links: list[Link]
    start: int

    def room_of(self, cell: Cell) -> int | None:
        for i, room in enumerate(self.rooms):
            if room.inside(cell):
                return i
        return None

    def path(self, src: int, dst: int) -> list[Link]:
        """Links crossed on the shortest room path from ``src`` to ``dst`` (BFS over the room graph)."""
        prev: dict[int, tuple[int, Link] | None] = {src: None}
        queue = deque([src])
        while queue:
            room = queue.popleft()
            if room == dst:
                break
            for link in self.links:
                if room in (link.a, link.b) and link.other(room) not in prev:
                    prev[link.other(room)] = (room, link)
                    queue.append(link.other(room))
        if dst not in prev:
            return []
        out: list[Link] = []
        node = dst
        while prev[node] is not None:
            room, link = prev[node]  # type: ignore[misc]
            out.append(link)
            node = room
        return out[::-1]

    def distances(self, src: int) -> dict[int, int]:
        dist = {src: 0}
        queue = deque([src])
        while queue:
            room = queue.popleft()
            for link in self.links:
                if room in (link.a, link.b) and link.other(room) not in dist:
                    dist[link.other(room)] = dist[room] + 1
                    queue.append(link.other(room))
        return dist

    def reachable(self, src: int, cut: set[int]) -> set[int]:
        """Rooms reachable from ``src`` without crossing the links whose ``id()`` is in ``cut``."""
        seen = {src}
        queue = deque([src])
        while queue:
            room = queue.popleft()
            for link in self.links:
                if id(link) in cut or room not in (link.a, link.b):
                    continue
                if link.other(room) not in seen:
                    seen.add(link.other(room))
                    queue.append(link.other(room))
        return seen

    def has_cycle(self) -> bool:
        return len(self.links) >= len(self.rooms)


def _sides(layout: Layout) -> Layout:
    for link in layout.links:
        x, y = link.pos
        for cell in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
            for idx in (link.a, link.b):
                if layout.rooms[idx].inside(cell):
                    link.side[idx] = cell
    return layout


def _rint(rng: np.random.Generator, low: int, high: int) -> int:
    """MiniGrid's ``_rand_int``: low inclusive, high exclusive."""
    return int(rng.integers(low, high))


def build(spec: MiniGridLevelSpec, grid: Grid, rng: np.random.Generator) -> Layout:
    """Draw the walls of ``spec``'s layout on ``grid`` and return its rooms and links."""
    width, height = grid.width, grid.height
    kind = spec.layout
    if kind == "room":
        grid.wall_rect(0, 0, width, height)
        return Layout(width, height, [Room(0, 0, width, height)], [], 0)
    if kind == "two_rooms":
        grid.wall_rect(0, 0, width, height)
        split = _rint(rng, 2, width - 2)
        grid.vert_wall(split, 0)
        door_y = _rint(rng, 1, width - 2)
        rooms = [Room(0, 0, split + 1, height), Room(split, 0, width - split, height)]
        return _sides(Layout(width, height, rooms, [Link(0, 1, (split, door_y))], 0))
    if kind == "grid":
        return _room_grid(spec, grid, rng)
    if kind == "corridor":
        return _corridor(spec, grid, rng)
    return _chain(spec, grid, rng)


def _room_grid(spec: MiniGridLevelSpec, grid: Grid, rng: np.random.Generator) -> Layout:
    """RoomGrid's geometry: rooms share walls; every pair of neighbours gets one link at a random cell."""
    rs, rows, cols = spec.room_size, spec.rows, spec.cols
    rooms = [Room(i * (rs - 1), j * (rs - 1), rs, rs) for j in range(rows) for i in range(cols)]
    for room in rooms:
        grid.wall_rect(room.x, room.y, room.w, room.h)
    links = []
    for j in range(rows):
        for i in range(cols):
            room = rooms[j * cols + i]
            if i + 1 < cols:
                links.append(Link(j * cols + i, j * cols + i + 1,
                                  (room.x + rs - 1, _rint(rng, room.y + 1, room.y + rs - 1))))
            if j + 1 < rows:
                links.append(Link(j * cols + i, (j + 1) * cols + i,
                                  (_rint(rng, room.x + 1, room.x + rs - 1), room.y + rs - 1)))
    return _sides(Layout(grid.width, grid.height, rooms, links, 0))


def _corridor(spec: MiniGridLevelSpec, grid: Grid, rng: np.random.Generator) -> Layout:
    """KeyCorridor: a corridor down the middle column, ``rows`` rooms on each side, one link each."""
    rs, rows = spec.room_size, spec.rows
    corridor = Room(rs - 1, 0, rs, (rs - 1) * rows + 1)
    rooms = [corridor]
    links = []
    grid.wall_rect(corridor.x, corridor.y, corridor.w, corridor.h)
    for side, x in ((0, 0), (1, 2 * (rs - 1))):
        for j in range(rows):
            room = Room(x, j * (rs - 1), rs, rs)
            grid.wall_rect(room.x, room.y, room.w, room.h)
            rooms.append(room)
            wall_x = room.x + rs - 1 if side == 0 else room.x
            links.append(Link(0, len(rooms) - 1, (wall_x, _rint(rng, room.y + 1, room.y + rs - 1))))
    return _sides(Layout(grid.width, grid.height, rooms, links, 0))


def _chain(spec: MiniGridLevelSpec, grid: Grid, rng: np.random.Generator) -> Layout:
    """MultiRoom's random walk: each room is entered through a door on the wall opposite its exit."""
    width, height = grid.width, grid.height
    target = spec.rooms
    best: list[tuple[Room, Cell]] = []
    for _ in range(CHAIN_TRIES):
        placed: list[tuple[Room, Cell]] = []
        entry = (_rint(rng, 0, width - 2), _rint(rng, 0, width - 2))
        _place_room(target, placed, 4, spec.room_size, 2, entry, width, height, rng)
        if len(placed) > len(best):
            best = placed
        if len(best) >= target:
            break
    if len(best) < target:
        raise LayoutFailed(f"a chain of {target} rooms of side 4 to {spec.room_size} does not fit a "
                           f"{width}x{height} grid")
    rooms = [room for room, _ in best]
    for room in rooms:
        grid.wall_rect(room.x, room.y, room.w, room.h)
    links = [Link(i - 1, i, best[i][1]) for i in range(1, len(best))]
    return _sides(Layout(width, height, rooms, links, 0))


def _place_room(
    left: int, placed: list[tuple[Room, Cell]], lo: int, hi: int, wall: int, door: Cell, width: int, height: int,
    rng: np.random.Generator,
) -> bool:
    """MultiRoomEnv._placeRoom with the grid and rng passed in (same geometry, same overlap rule)."""
    sx, sy = _rint(rng, lo, hi + 1), _rint(rng, lo, hi + 1)
    if not placed:
        tx, ty = door
    elif wall == 0:
        tx, ty = door[0] - sx + 1, _rint(rng, door[1] - sy + 2, door[1])
    elif wall == 1:
        tx, ty = _rint(rng, door[0] - sx + 2, door[0]), door[1] - sy + 1
    elif wall == 2:
        tx, ty = door[0], _rint(rng, door[1] - sy + 2, door[1])
    else:
        tx, ty = _rint(rng, door[0] - sx + 2, door[0]), door[1]
    if tx < 0 or ty < 0 or tx + sx > width or ty + sy >= height:
        return False
    for room, _ in placed[:-1]:
        apart = tx + sx < room.x or room.x + room.w <= tx or ty + sy < room.y or room.y + room.h <= ty
        if not apart:
            return False
    placed.append((Room(tx, ty, sx, sy), door))
    if left == 1:
        return True
    for _ in range(8):
        exit_wall = int(rng.choice(sorted({0, 1, 2, 3} - {wall})))
        if exit_wall == 0:
            exit_pos = (tx + sx - 1, ty + _rint(rng, 1, sy - 1))
        elif exit_wall == 1:
            exit_pos = (tx + _rint(rng, 1, sx - 1), ty + sy - 1)
        elif exit_wall == 2:
            exit_pos = (tx, ty + _rint(rng, 1, sy - 1))
        else:
            exit_pos = (tx + _rint(rng, 1, sx - 1), ty)
        if _place_room(left - 1, placed, lo, hi, (exit_wall + 2) % 4, exit_pos, width, height, rng):
            break
    return True
