"""The Crafter family: a `CrafterWorldSpec` is a distribution of Crafter worlds, sampled by seed.

Crafter's world generator has its knobs hard-coded, so the two functions that hold them
(``worldgen.generate_world`` and ``Env._balance_chunk``) are re-implemented here with every knob taken from
explicit per-rarity tables; all the rest (objects, physics, rendering, achievements) is the installed
``crafter`` package, unmodified.

With the default spec the generator reproduces ``crafter.Env`` exactly (same seed, same world, same
creatures), so "train on generated worlds, evaluate on Crafter" compares like with like; episodes then differ
only where Crafter itself is not reproducible (see `SpecCrafter._balance_chunk`). Generation is vectorised
(the OpenSimplex noise fields are computed for all cells at once, about 20x faster than Crafter's reset);
only the random draws, whose order defines the world, stay in a Python loop.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import crafter
import gymnasium as gym
import numpy as np
import opensimplex
from crafter import constants, engine, objects

from gymsmith.schemas import CrafterWorldSpec

GEN_ENV_ID = "gymsmith/CrafterGen-v0"
TARGET_ENV_ID = "gymsmith/Crafter-v0"

#: The 22 Crafter achievements, in Crafter's order; the Crafter score is taken over exactly these.
CRAFTER_ACHIEVEMENTS: tuple[str, ...] = tuple(constants.achievements)

RARITIES: tuple[str, ...] = ("very_rare", "rare", "default", "common", "very_common")


# ------------------------------------------------------------------------------------ the knob tables
#
# Every rarity has its own explicit row (no fall-back to "default"), and the "default" row is Crafter's own
# constant, so a default spec is Crafter.


@dataclass(frozen=True)
class _Rule:
    """A cell qualifies when its noise exceeds ``noise``; it gets the resource when ``uniform() > draw``."""

    noise: float
    draw: float


#: Coal: candidate cells are mountain cells with coal noise above ``noise``; Crafter's draw is 0.85.
COAL_RULES: dict[str, _Rule] = {
    "very_rare": _Rule(0.0, 0.97),
    "rare": _Rule(0.0, 0.93),
    "default": _Rule(0.0, 0.85),
    "common": _Rule(-0.15, 0.75),
    "very_common": _Rule(-0.3, 0.6),
}
#: Iron: Crafter keeps iron to small noise patches (0.4) with a 0.75 draw; rarer/commoner shrink/grow both.
IRON_RULES: dict[str, _Rule] = {
    "very_rare": _Rule(0.4, 0.94),
    "rare": _Rule(0.4, 0.87),
    "default": _Rule(0.4, 0.75),
    "common": _Rule(0.3, 0.65),
    "very_common": _Rule(0.2, 0.5),
}
#: Diamond: ``noise`` is the mountain depth a cell needs (Crafter: 0.18), ``draw`` Crafter's 0.994.
DIAMOND_RULES: dict[str, _Rule] = {
    "very_rare": _Rule(0.18, 0.9985),
    "rare": _Rule(0.18, 0.997),
    "default": _Rule(0.18, 0.994),
    "common": _Rule(0.18, 0.985),
    "very_common": _Rule(0.15, 0.97),
}
#: Trees: forest noise above ``noise`` (Crafter: 0) on grassland, then a draw (Crafter: 0.8).
TREE_RULES: dict[str, _Rule] = {
    "very_rare": _Rule(0.0, 0.97),
    "rare": _Rule(0.0, 0.92),
    "default": _Rule(0.0, 0.8),
    "common": _Rule(-0.2, 0.7),
    "very_common": _Rule(-0.4, 0.55),
}

#: Initial creatures: a candidate cell gets the creature when ``uniform() > threshold`` (1 - p * multiplier).
COW_SPAWN: dict[str, float] = {
    "very_rare": 0.997,
    "rare": 0.9925,
    "default": 0.985,
    "common": 0.97,
    "very_common": 0.94,
}
ZOMBIE_SPAWN: dict[str, float] = {
    "very_rare": 0.9986,
    "rare": 0.9965,
    "default": 0.993,
    "common": 0.986,
    "very_common": 0.972,
}
SKELETON_SPAWN: dict[str, float] = {
    "very_rare": 0.99,
    "rare": 0.975,
    "default": 0.95,
    "common": 0.9,
    "very_common": 0.8,
}
#: During the episode Crafter keeps each chunk's creature count between a min and a max target; the rarity
#: multiplies both targets and the spawn probability (the same multipliers as the initial spawn rows).
MOB_MULTIPLIER: dict[str, float] = {
    "very_rare": 0.2,
    "rare": 0.5,
    "default": 1.0,
    "common": 2.0,
    "very_common": 4.0,
}


@dataclass(frozen=True)
class Biome:
    """Shifts of Crafter's terrain fields; ``natural`` holds Crafter's own constants.

    ``mountain_bias`` only moves the mountain/lowland border: caves, lava and diamonds keep reading the
    unshifted mountain depth, so a mountain biome means wider mountains, not a lava field.
    """

    water_bias: float
    mountain_bias: float
    sand_low: float
    sand_high: float
    sand_noise: float
    water_level: float


BIOMES: dict[str, Biome] = {
    "natural": Biome(
        water_bias=0.1, mountain_bias=0.0, sand_low=0.25, sand_high=0.35, sand_noise=-0.2, water_level=0.3
    ),
    "grassland": Biome(
        water_bias=-0.05, mountain_bias=-0.3, sand_low=0.25, sand_high=0.35, sand_noise=-0.2, water_level=0.3
    ),
    "mountain": Biome(
        water_bias=-0.1, mountain_bias=0.35, sand_low=0.25, sand_high=0.35, sand_noise=-0.2, water_level=0.3
    ),
    "beaches": Biome(
        water_bias=0.35, mountain_bias=-0.15, sand_low=0.15, sand_high=0.5, sand_noise=-1.0, water_level=0.3
    ),
}


@dataclass(frozen=True)
class WorldParams:
    """A spec resolved to numbers once, so reset and the per-step balancing do no table look-ups."""

    biome: Biome
    coal: _Rule
    iron: _Rule
    diamond: _Rule
    tree: _Rule
    cow_spawn: float
    zombie_spawn: float
    skeleton_spawn: float
    cow_mult: float
    zombie_mult: float
    skeleton_mult: float
    peaceful: bool
    inventory: tuple[tuple[str, int], ...]

    @classmethod
    def from_spec(cls, spec: CrafterWorldSpec) -> WorldParams:
        return cls(
            biome=BIOMES[spec.biome],
            coal=COAL_RULES[spec.coal],
            iron=IRON_RULES[spec.iron],
            diamond=DIAMOND_RULES[spec.diamond],
            tree=TREE_RULES[spec.tree],
            cow_spawn=COW_SPAWN[spec.cows],
            # uniform() is in [0, 1), so a threshold of 1.0 never spawns but keeps the draw order.
            zombie_spawn=1.0 if spec.peaceful else ZOMBIE_SPAWN[spec.zombies],
            skeleton_spawn=1.0 if spec.peaceful else SKELETON_SPAWN[spec.skeletons],
            cow_mult=MOB_MULTIPLIER[spec.cows],
            zombie_mult=MOB_MULTIPLIER[spec.zombies],
            skeleton_mult=MOB_MULTIPLIER[spec.skeletons],
            peaceful=spec.peaceful,
            inventory=tuple(sorted(spec.inventory.items())),
        )


# ------------------------------------------------------------------------------ vectorised OpenSimplex

_SQUISH3 = 1.0 / 3
_STRETCH3 = -1.0 / 6
_NORM3 = 103
_GRADIENTS3 = np.array(
    [-11, 4, 4, -4, 11, 4, -4, 4, 11, 11, 4, 4, 4, 11, 4, 4, 4, 11,
     -11, -4, 4, -4, -11, 4, -4, -4, 11, 11, -4, 4, 4, -11, 4, 4, -4, 11,
     -11, 4, -4, -4, 11, -4, -4, 4, -11, 11, 4, -4, 4, 11, -4, 4, 4, -11,
     -11, -4, -4, -4, -11, -4, -4, -4, -11, 11, -4, -4, 4, -11, -4, 4, -4, -11],
    dtype=np.int64,
)  # fmt: skip
# Lattice vertices each region of the honeycomb always visits, in the reference implementation's order.
_REGION_VERTICES = (
    ((0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1)),
    ((1, 1, 0), (1, 0, 1), (0, 1, 1), (1, 1, 1)),
    ((1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (1, 0, 1), (0, 1, 1)),
)


def _has(c: np.ndarray, bit: int) -> np.ndarray:
    return (c & bit) != 0


def _first_axis(mask_x: np.ndarray, mask_y: np.ndarray) -> np.ndarray:
    return np.where(mask_x, 0, np.where(mask_y, 1, 2))


class VectorSimplex:
    """OpenSimplex 3D noise for whole arrays, bit-identical to ``opensimplex.OpenSimplex.noise3``.

    The reference evaluates one point per Python call (numba is optional and absent here), which made a
    64x64 Crafter reset cost over a second. This port keeps the reference's vertex choice and summation
    order per point, so thresholds flip on exactly the same cells as in Crafter.
    """

    #: Whether this port matches the installed opensimplex; checked once per process (see `_trusted`).
    _verified: bool | None = None

    def __init__(self, seed: int) -> None:
        reference = opensimplex.OpenSimplex(seed=seed)
        # opensimplex < 0.4 names the scalar function noise3d (crafter supports both).
        self._scalar = getattr(reference, "noise3", None) or reference.noise3d
        perm = getattr(reference, "_perm", None)
        grad_index = getattr(reference, "_perm_grad_index3", None)
        self._perm = self._grad_index = None
        if perm is not None and grad_index is not None:
            self._perm, self._grad_index = np.asarray(perm, np.int64), np.asarray(grad_index, np.int64)
            if not self._trusted():
                self._perm = self._grad_index = None

    def _trusted(self) -> bool:
        """Check against the scalar reference once, so a changed opensimplex costs speed, not correctness."""
        if VectorSimplex._verified is None:
            probe = np.random.default_rng(0).uniform(-20.0, 20.0, size=(3, 256))
            expected = [self._scalar(*point) for point in probe.T.tolist()]
            VectorSimplex._verified = bool(np.array_equal(self._noise(*probe), expected))
        return VectorSimplex._verified

    def __call__(self, x: np.ndarray, y: np.ndarray, z: float) -> np.ndarray:
        if self._perm is None:  # unknown opensimplex internals: the exact, slow scalar reference
            return np.vectorize(self._scalar, otypes=[np.float64])(x, y, z)
        shape = np.broadcast_shapes(np.shape(x), np.shape(y))
        x = np.broadcast_to(np.asarray(x, np.float64), shape).ravel()
        y = np.broadcast_to(np.asarray(y, np.float64), shape).ravel()
        return self._noise(x, y, np.full(x.shape, float(z))).reshape(shape)

    def _noise(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        n = x.size
        stretch = (x + y + z) * _STRETCH3
        xs, ys, zs = x + stretch, y + stretch, z + stretch
        xsb, ysb, zsb = np.floor(xs), np.floor(ys), np.floor(zs)
        squish = (xsb + ysb + zsb) * _SQUISH3
        dx0, dy0, dz0 = x - (xsb + squish), y - (ysb + squish), z - (zsb + squish)
        xins, yins, zins = xs - xsb, ys - ysb, zs - zsb
        in_sum = xins + yins + zins
        region_a = in_sum <= 1
        region_b = in_sum >= 2
        region_c = ~region_a & ~region_b
        ext_a = self._extra_near_origin(xins, yins, zins, in_sum)
        ext_b = self._extra_near_far_corner(xins, yins, zins, in_sum)
        ext_c = self._extra_octahedron(xins, yins, zins, n)
        ext0 = np.where(region_a, ext_a[0], np.where(region_b, ext_b[0], ext_c[0]))
        ext1 = np.where(region_a, ext_a[1], np.where(region_b, ext_b[1], ext_c[1]))

        base = (xsb.astype(np.int64), ysb.astype(np.int64), zsb.astype(np.int64))
        deltas = (dx0, dy0, dz0)
        value = np.zeros(n)
        regions = (region_a, region_b, region_c)
        for slot in range(6):
            offset = np.zeros((3, n), np.int64)
            valid = np.zeros(n, bool)
            for region, vertices in zip(regions, _REGION_VERTICES, strict=True):
                if slot < len(vertices):
                    offset[:, region] = np.array(vertices[slot])[:, None]
                    valid |= region
            value = self._add(value, base, deltas, offset, valid)
        everywhere = np.ones(n, bool)
        value = self._add(value, base, deltas, ext0, everywhere)
        value = self._add(value, base, deltas, ext1, everywhere)
        return value / _NORM3

    def _add(
        self,
        value: np.ndarray,
        base: tuple[np.ndarray, np.ndarray, np.ndarray],
        deltas: tuple[np.ndarray, np.ndarray, np.ndarray],
        offset: np.ndarray,
        valid: np.ndarray,
    ) -> np.ndarray:
        i, j, k = offset
        shift = (i + j + k) * _SQUISH3
        dx, dy, dz = deltas[0] - i - shift, deltas[1] - j - shift, deltas[2] - k - shift
        attn = 2 - dx * dx - dy * dy - dz * dz
        attn2 = attn * attn
        perm = self._perm
        index = self._grad_index[
            (perm[(perm[(base[0] + i) & 0xFF] + base[1] + j) & 0xFF] + base[2] + k) & 0xFF
        ]
        grad = _GRADIENTS3[index] * dx + _GRADIENTS3[index + 1] * dy + _GRADIENTS3[index + 2] * dz
        return np.where(valid & (attn > 0), value + attn2 * attn2 * grad, value)

    @staticmethod
    def _extra_near_origin(
        xins: np.ndarray, yins: np.ndarray, zins: np.ndarray, in_sum: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The two extra vertices inside the tetrahedron at (0,0,0)."""
        a_score, b_score = xins, yins
        swap_b = (a_score >= b_score) & (zins > b_score)
        swap_a = ~swap_b & (a_score < b_score) & (zins > a_score)
        b_score = np.where(swap_b, zins, b_score)
        b_point = np.where(swap_b, 4, 2)
        a_score = np.where(swap_a, zins, a_score)
        a_point = np.where(swap_a, 4, 1)
        wins = 1 - in_sum
        origin_close = (wins > a_score) | (wins > b_score)
        c = np.where(origin_close, np.where(b_score > a_score, b_point, a_point), a_point | b_point)
        cx, cy, cz = _has(c, 1), _has(c, 2), _has(c, 4)
        close0 = np.stack([np.where(cx, 1, -1), np.where(cy, 1, np.where(cx, -1, 0)), np.where(cz, 1, 0)])
        close1 = np.stack([np.where(cx, 1, 0), np.where(cy, 1, np.where(cx, 0, -1)), np.where(cz, 1, -1)])
        far0 = np.stack([cx, cy, cz]).astype(np.int64)
        far1 = 2 * far0 - 1
        return np.where(origin_close, close0, far0), np.where(origin_close, close1, far1)

    @staticmethod
    def _extra_near_far_corner(
        xins: np.ndarray, yins: np.ndarray, zins: np.ndarray, in_sum: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The two extra vertices inside the tetrahedron at (1,1,1)."""
        a_score, b_score = xins, yins
        swap_b = (a_score <= b_score) & (zins < b_score)
        swap_a = ~swap_b & (a_score > b_score) & (zins < a_score)
        b_score = np.where(swap_b, zins, b_score)
        b_point = np.where(swap_b, 3, 5)
        a_score = np.where(swap_a, zins, a_score)
        a_point = np.where(swap_a, 3, 6)
        wins = 3 - in_sum
        corner_close = (wins < a_score) | (wins < b_score)
        c = np.where(corner_close, np.where(b_score < a_score, b_point, a_point), a_point & b_point)
        cx, cy, cz = _has(c, 1), _has(c, 2), _has(c, 4)
        close0 = np.stack([np.where(cx, 2, 0), np.where(cy, np.where(cx, 1, 2), 0), np.where(cz, 1, 0)])
        close1 = np.stack([np.where(cx, 1, 0), np.where(cy, np.where(cx, 2, 1), 0), np.where(cz, 2, 0)])
        far0 = np.stack([cx, cy, cz]).astype(np.int64)
        return np.where(corner_close, close0, far0), np.where(corner_close, close1, 2 * far0)

    @staticmethod
    def _extra_octahedron(
        xins: np.ndarray, yins: np.ndarray, zins: np.ndarray, n: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """The two extra vertices inside the octahedron between the two tetrahedra."""
        p1, p2, p3 = xins + yins, xins + zins, yins + zins
        a_far, b_far, p3_far = p1 > 1, p2 > 1, p3 > 1
        a_score = np.where(a_far, p1 - 1, 1 - p1)
        a_point = np.where(a_far, 3, 4)
        b_score = np.where(b_far, p2 - 1, 1 - p2)
        b_point = np.where(b_far, 5, 2)
        score = np.where(p3_far, p3 - 1, 1 - p3)
        replace_a = (a_score <= b_score) & (a_score < score)
        replace_b = ~replace_a & (a_score > b_score) & (b_score < score)
        p3_point = np.where(p3_far, 6, 1)
        a_point = np.where(replace_a, p3_point, a_point)
        a_far = np.where(replace_a, p3_far, a_far)
        b_point = np.where(replace_b, p3_point, b_point)
        b_far = np.where(replace_b, p3_far, b_far)
        same_side = a_far == b_far
        # A doubled axis (0,0,2)-like vertex: the axis shared by both points, or the axis of the near one.
        two_src = np.where(same_side, a_point & b_point, np.where(a_far, b_point, a_point))
        doubled = np.zeros((3, n), np.int64)
        doubled[_first_axis(_has(two_src, 1), _has(two_src, 2)), np.arange(n)] = 2
        # A (1,1,-1)-like vertex: -1 on the axis missing from both points, or missing from the far one.
        neg_src = np.where(same_side, a_point | b_point, np.where(a_far, a_point, b_point))
        negated = np.ones((3, n), np.int64)
        negated[_first_axis(~_has(neg_src, 1), ~_has(neg_src, 2)), np.arange(n)] = -1
        both_far = same_side & a_far
        both_near = same_side & ~a_far
        ext0 = np.where(both_far, 1, np.where(both_near, 0, negated))
        ext1 = np.where(both_far, doubled, np.where(both_near, negated, doubled))
        return ext0, ext1


def _fractal(
    noise: VectorSimplex, x: np.ndarray, y: np.ndarray, z: float, sizes: Any, normalize: bool = True
) -> np.ndarray:
    """Crafter's ``worldgen._simplex`` on arrays, with the same operation order (bit-identical results)."""
    if not isinstance(sizes, dict):
        sizes = {sizes: 1}
    value: Any = 0
    for size, weight in sizes.items():
        value = value + weight * noise(x / size, y / size, z)
    if normalize:
        value = value / sum(sizes.values())
    return value


# ------------------------------------------------------------------------------------ world generation


def generate_world(world: engine.World, player: objects.Player, params: WorldParams) -> None:
    """Crafter's ``worldgen.generate_world`` with every constant taken from ``params``.

    The random draws happen in Crafter's order (cells x-major, same short-circuits), which is what makes the
    default spec reproduce Crafter's worlds seed for seed.
    """
    noise = VectorSimplex(seed=int(world.random.randint(0, 2**31 - 1)))
    width, height = world.area
    xs, ys = np.meshgrid(np.arange(width), np.arange(height), indexing="ij")
    xs, ys = xs.ravel(), ys.ravel()
    names, tunnels = _set_materials(world, player, params, noise, xs, ys)
    _set_objects(world, player, params, names, tunnels, xs, ys)


def _set_materials(
    world: engine.World,
    player: objects.Player,
    params: WorldParams,
    noise: VectorSimplex,
    xs: np.ndarray,
    ys: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    biome = params.biome
    px, py = int(player.pos[0]), int(player.pos[1])
    start = 4 - np.sqrt((xs - px) ** 2 + (ys - py) ** 2)
    start = start + 2 * _fractal(noise, xs, ys, 8, 3)
    start = 1 / (1 + np.exp(-start))
    water = _fractal(noise, xs, ys, 3, {15: 1, 5: 0.15}, False) + biome.water_bias
    water = water - 2 * start
    mountain = _fractal(noise, xs, ys, 0, {15: 1, 5: 0.3})
    mountain = mountain - (4 * start + 0.3 * water)

    spawn = start > 0.5
    rock = ~spawn & (mountain + biome.mountain_bias > 0.15)
    cave = rock & (_fractal(noise, xs, ys, 6, 7) > 0.15) & (mountain > 0.3)
    tunnel = rock & ~cave & (_fractal(noise, 2 * xs, ys / 5, 7, 3) > 0.4)
    tunnel |= rock & ~cave & ~tunnel & (_fractal(noise, xs / 5, 2 * ys, 7, 3) > 0.4)
    minable = rock & ~cave & ~tunnel
    lowland = ~spawn & ~rock
    sand = (
        lowland
        & (biome.sand_low < water)
        & (water <= biome.sand_high)
        & (_fractal(noise, xs, ys, 4, 9) > biome.sand_noise)
    )
    lake = lowland & ~sand & (water > biome.water_level)
    meadow = lowland & ~sand & ~lake

    names = np.empty(xs.shape, object)
    names[spawn | meadow] = "grass"
    names[cave | tunnel] = "path"
    names[sand] = "sand"
    names[lake] = "water"
    names[minable] = "stone"

    coal_ok = (_fractal(noise, xs, ys, 1, 8) > params.coal.noise).tolist()
    iron_ok = (_fractal(noise, xs, ys, 2, 6) > params.iron.noise).tolist()
    diamond_ok = (mountain > params.diamond.noise).tolist()
    lava = ((mountain > 0.3) & (_fractal(noise, xs, ys, 6, 5) > 0.35)).tolist()
    tree_ok = (_fractal(noise, xs, ys, 5, 7) > params.tree.noise).tolist()
    is_minable = minable.tolist()
    uniform = world.random.uniform
    coal, iron, diamond, tree = params.coal.draw, params.iron.draw, params.diamond.draw, params.tree.draw
    for index in np.flatnonzero(minable | meadow).tolist():
        if is_minable[index]:
            if coal_ok[index] and uniform() > coal:
                names[index] = "coal"
            elif iron_ok[index] and uniform() > iron:
                names[index] = "iron"
            elif diamond_ok[index] and uniform() > diamond:
                names[index] = "diamond"
            elif lava[index]:
                names[index] = "lava"
        elif tree_ok[index] and uniform() > tree:
            names[index] = "tree"

    for x, y, name in zip(xs.tolist(), ys.tolist(), names.tolist(), strict=True):
        world[x, y] = name
    return names.astype(str), tunnel


def _set_objects(
    world: engine.World,
    player: objects.Player,
    params: WorldParams,
    material: np.ndarray,
    tunnels: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
) -> None:
    px, py = int(player.pos[0]), int(player.pos[1])
    dist = np.sqrt((xs - px) ** 2 + (ys - py) ** 2)
    walkable = np.isin(material, constants.walkable)
    cow_ok = (walkable & (dist > 3) & (material == "grass")).tolist()
    zombie_ok = (walkable & (dist > 10)).tolist()
    skeleton_ok = (walkable & (material == "path") & tunnels).tolist()
    uniform = world.random.uniform
    candidates = np.flatnonzero(np.array(cow_ok) | np.array(zombie_ok) | np.array(skeleton_ok))
    xl, yl = xs.tolist(), ys.tolist()
    for index in candidates.tolist():
        pos = (xl[index], yl[index])
        if cow_ok[index] and uniform() > params.cow_spawn:
            world.add(objects.Cow(world, pos))
        elif zombie_ok[index] and uniform() > params.zombie_spawn:
            world.add(objects.Zombie(world, pos, player))
        elif skeleton_ok[index] and uniform() > params.skeleton_spawn:
            world.add(objects.Skeleton(world, pos, player))


class SpecCrafter(crafter.Env):
    """``crafter.Env`` whose world generation and creature balancing follow a `CrafterWorldSpec`."""

    def __init__(self, spec: CrafterWorldSpec, seed: int | None = None) -> None:
        super().__init__(area=(spec.area, spec.area), length=spec.length, seed=seed)
        self.params = WorldParams.from_spec(spec)

    def reset(self) -> np.ndarray:
        # Crafter's reset, with its generate_world swapped for the parameterised one and the start inventory.
        center = (self._world.area[0] // 2, self._world.area[1] // 2)
        self._episode += 1
        self._step = 0
        self._world.reset(seed=hash((self._seed, self._episode)) % (2**31 - 1))
        self._update_time()
        self._player = objects.Player(self._world, center)
        self._last_health = self._player.health
        self._world.add(self._player)
        self._unlocked = set()
        generate_world(self._world, self._player, self.params)
        for item, count in self.params.inventory:
            self._player.inventory[item] = count
        return self._obs()

    def _balance_chunk(self, chunk: tuple[int, int, int, int], objs: Iterable[Any]) -> None:
        # Crafter's targets and probabilities times the spec's multipliers (all 1.0 for the default spec).
        # Crafter picks the creature to despawn by its index in a set, i.e. by memory address, so its episodes
        # are not reproducible from the seed; ordering by position (unique per object) fixes that.
        objs = sorted(objs, key=lambda obj: (int(obj.pos[0]), int(obj.pos[1])))
        light = self._world.daylight
        p = self.params
        if not p.peaceful:
            zm, sm = p.zombie_mult, p.skeleton_mult
            self._balance_object(
                chunk, objs, objects.Zombie, "grass", 6, 0, min(1.0, 0.3 * zm), 0.4,
                lambda pos: objects.Zombie(self._world, pos, self._player),
                lambda num, space: ((0 if space < 50 else 3.5 - 3 * light) * zm, (3.5 - 3 * light) * zm),
            )  # fmt: skip
            self._balance_object(
                chunk, objs, objects.Skeleton, "path", 7, 7, min(1.0, 0.1 * sm), 0.1,
                lambda pos: objects.Skeleton(self._world, pos, self._player),
                lambda num, space: ((0 if space < 6 else 1) * sm, 2 * sm),
            )  # fmt: skip
        cm = p.cow_mult
        self._balance_object(
            chunk, objs, objects.Cow, "grass", 5, 5, min(1.0, 0.01 * cm), 0.1,
            lambda pos: objects.Cow(self._world, pos),
            lambda num, space: ((0 if space < 30 else 1) * cm, (1.5 + light) * cm),
        )  # fmt: skip


# ---------------------------------------------------------------------------------- Gymnasium envs


class CrafterGymEnv(gym.Env):
    """Crafter under the Gymnasium API, with ``info["events"]`` (achievements unlocked this step).

    Events are first unlocks within the episode, the same moments Crafter rewards, so per-skill success is
    simply "the event happened in the episode".
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(
        self, seed: int | None = None, render_mode: str | None = None, area: int = 64, length: int = 10000
    ) -> None:
        self._area, self._length = area, length
        self._setup(seed, render_mode)

    def _setup(self, seed: int | None, render_mode: str | None) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode {render_mode!r} is not supported; use 'rgb_array'")
        self.render_mode = render_mode
        self._env = self._build(seed)
        self.observation_space = gym.spaces.Box(0, 255, (*self._env._size, 3), np.uint8)
        self.action_space = gym.spaces.Discrete(len(constants.actions))
        self._unlocked: set[str] = set()

    def _build(self, seed: int | None) -> crafter.Env:
        return crafter.Env(area=(self._area, self._area), length=self._length, seed=seed)

    @property
    def crafter_env(self) -> crafter.Env:
        """The underlying Crafter env (world, player), for maps, probes and tests."""
        return self._env

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if seed is not None:
            # Crafter derives each world from (seed, episode index): restart the count so a seed is a level.
            self._env._seed = int(seed)
            self._env._episode = 0
        obs = self._env.reset()
        self._unlocked = set()
        player = self._env._player
        info = {
            "inventory": player.inventory.copy(),
            "achievements": player.achievements.copy(),
            "discount": 1.0,
            "semantic": self._env._sem_view(),
            "player_pos": player.pos.copy(),
            "reward": 0.0,
            "events": [],
        }
        return obs, info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        obs, reward, done, info = self._env.step(int(action))
        events = [
            name for name, count in info["achievements"].items() if count and name not in self._unlocked
        ]
        if events:
            self._unlocked.update(events)
        info["events"] = events
        info["player_pos"] = info["player_pos"].copy()  # Crafter hands out the player's own array
        terminated = info["discount"] == 0.0
        return obs, float(reward), terminated, bool(done) and not terminated, info

    def render(self) -> np.ndarray | None:
        if self.render_mode == "rgb_array":
            return self._env.render()
        return None


class CrafterGenEnv(CrafterGymEnv):
    """A world sampled from a `CrafterWorldSpec`; ``reset(seed=s)`` always yields the same world for ``s``."""

    def __init__(
        self,
        spec: CrafterWorldSpec | Mapping[str, Any] | None = None,
        seed: int | None = None,
        render_mode: str | None = None,
    ) -> None:
        if spec is None:
            spec = CrafterWorldSpec()
        elif not isinstance(spec, CrafterWorldSpec):
            spec = CrafterWorldSpec.model_validate(dict(spec))
        # Not ``self.spec``: gymnasium.make stores its EnvSpec there.
        self.world_spec = spec
        self._area, self._length = spec.area, spec.length
        self._setup(seed, render_mode)

    def _build(self, seed: int | None) -> crafter.Env:
        return SpecCrafter(self.world_spec, seed=seed)


# ------------------------------------------------------------------------------------- maps & census


@functools.lru_cache(maxsize=1)
def _textures() -> engine.Textures:
    return engine.Textures(constants.root / "assets")


def _resolve(env: Any) -> crafter.Env:
    base = getattr(env, "unwrapped", env)
    inner = base.crafter_env if isinstance(base, CrafterGymEnv) else base
    if not isinstance(inner, crafter.Env):
        raise TypeError(f"expected a Crafter env, got {type(env).__name__}")
    if inner._player is None:
        raise RuntimeError("the env has no world yet: call reset() first")
    return inner


def render_world_map(env: Any, unit: int = 8) -> np.ndarray:
    """The whole world as one RGB image (``area*unit`` pixels square), for reports and spec previews.

    Unlike the observation it ignores daylight and the view window, so it shows what the spec generated.
    """
    inner = _resolve(env)
    world = inner._world
    textures = _textures()
    width, height = world.area
    canvas = np.zeros((width * unit, height * unit, 3), np.uint8)
    tiles: dict[str, np.ndarray] = {}
    for x in range(width):
        for y in range(height):
            name = world[x, y][0]
            if name not in tiles:
                tiles[name] = textures.get(name, (unit, unit))[..., :3]
            canvas[x * unit : (x + 1) * unit, y * unit : (y + 1) * unit] = tiles[name]
    for obj in world.objects:
        x, y = int(obj.pos[0]), int(obj.pos[1])
        texture = textures.get(obj.texture, (unit, unit))
        cell = canvas[x * unit : (x + 1) * unit, y * unit : (y + 1) * unit]
        if texture.shape[-1] == 4:
            alpha = texture[..., 3:].astype(np.float32) / 255
            blended = alpha * texture[..., :3].astype(np.float32) + (1 - alpha) * cell.astype(np.float32)
            cell[:] = blended.astype(np.uint8)
        else:
            cell[:] = texture
    return canvas.transpose((1, 0, 2))


def render_views(
    spec: CrafterWorldSpec | Mapping[str, Any], seed: int = 0, unit: int = 8
) -> dict[str, np.ndarray]:
    """The agent's first observation and the whole world map of one sampled world (for `gymsmith show`)."""
    env = CrafterGenEnv(spec, render_mode="rgb_array")
    try:
        obs, _ = env.reset(seed=seed)
        return {"local": obs, "map": render_world_map(env, unit=unit)}
    finally:
        env.close()


def world_census(env: Any) -> dict[str, int]:
    """Counts of every material and creature in the current world: what a spec actually produced."""
    inner = _resolve(env)
    world = inner._world
    counts = {name: int(world.count(name)) for name in constants.materials}
    for kind in ("cow", "zombie", "skeleton", "arrow", "plant"):
        counts[kind] = 0
    for obj in world.objects:
        kind = type(obj).__name__.lower()
        if kind in counts:
            counts[kind] += 1
    return counts


# ------------------------------------------------------------------------------------------- scoring


def achievement_success_rates(episodes: Iterable[Mapping[str, int]]) -> dict[str, float]:
    """Per-achievement success rate in percent (share of episodes where it was unlocked at least once).

    Takes the final ``info["achievements"]`` of each episode; this is the input of the Crafter score.
    """
    episodes = list(episodes)
    if not episodes:
        raise ValueError("no episodes: success rates are undefined")
    return {
        name: 100.0 * sum(1 for ep in episodes if ep.get(name, 0) > 0) / len(episodes)
        for name in CRAFTER_ACHIEVEMENTS
    }


def crafter_score(success_rates_percent: Mapping[str, float]) -> float:
    """The Crafter score (Hafner 2021): geometric mean of ``1 + s_i`` over the 22 achievements, minus 1.

    Missing achievements count as 0 %; unknown names raise, because a typo would silently lower the score.
    """
    unknown = set(success_rates_percent) - set(CRAFTER_ACHIEVEMENTS)
    if unknown:
        raise ValueError(f"unknown achievements: {sorted(unknown)}")
    logs = [math.log1p(float(success_rates_percent.get(name, 0.0))) for name in CRAFTER_ACHIEVEMENTS]
    return math.exp(sum(logs) / len(logs)) - 1


# -------------------------------------------------------------------------------------- registration


def _build_generated(spec: CrafterWorldSpec | None) -> gym.Env:
    return CrafterGenEnv(spec)


def _build_target(_: Any) -> gym.Env:
    return CrafterGymEnv()


def register_crafter() -> None:
    """Idempotent registration: ``gym.make(GEN_ENV_ID, spec=..., seed=...)`` and ``gym.make(TARGET_ENV_ID)``.

    Also registers the builders the mixture env uses for Crafter sources.
    """
    if GEN_ENV_ID not in gym.registry:
        gym.register(id=GEN_ENV_ID, entry_point="gymsmith.envs.crafter_family:CrafterGenEnv")
    if TARGET_ENV_ID not in gym.registry:
        gym.register(id=TARGET_ENV_ID, entry_point="gymsmith.envs.crafter_family:CrafterGymEnv")
    from gymsmith.envs.mixture import FAMILY_BUILDERS

    FAMILY_BUILDERS.setdefault("crafter", _build_generated)
    FAMILY_BUILDERS.setdefault(TARGET_ENV_ID, _build_target)


register_crafter()
