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

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import crafter
import numpy as np
from crafter import constants, engine, objects

from gymsmith.envs.crafter.noise import VectorSimplex, fractal
from gymsmith.envs.crafter.spec import CrafterWorldSpec
from gymsmith.envs.crafter.view import CachedItemView, FastLocalView

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
    start = start + 2 * fractal(noise, xs, ys, 8, 3)
    start = 1 / (1 + np.exp(-start))
    water = fractal(noise, xs, ys, 3, {15: 1, 5: 0.15}, False) + biome.water_bias
    water = water - 2 * start
    mountain = fractal(noise, xs, ys, 0, {15: 1, 5: 0.3})
    mountain = mountain - (4 * start + 0.3 * water)

    spawn = start > 0.5
    rock = ~spawn & (mountain + biome.mountain_bias > 0.15)
    cave = rock & (fractal(noise, xs, ys, 6, 7) > 0.15) & (mountain > 0.3)
    tunnel = rock & ~cave & (fractal(noise, 2 * xs, ys / 5, 7, 3) > 0.4)
    tunnel |= rock & ~cave & ~tunnel & (fractal(noise, xs / 5, 2 * ys, 7, 3) > 0.4)
    minable = rock & ~cave & ~tunnel
    lowland = ~spawn & ~rock
    sand = (
        lowland
        & (biome.sand_low < water)
        & (water <= biome.sand_high)
        & (fractal(noise, xs, ys, 4, 9) > biome.sand_noise)
    )
    lake = lowland & ~sand & (water > biome.water_level)
    meadow = lowland & ~sand & ~lake

    names = np.empty(xs.shape, object)
    names[spawn | meadow] = "grass"
    names[cave | tunnel] = "path"
    names[sand] = "sand"
    names[lake] = "water"
    names[minable] = "stone"

    coal_ok = (fractal(noise, xs, ys, 1, 8) > params.coal.noise).tolist()
    iron_ok = (fractal(noise, xs, ys, 2, 6) > params.iron.noise).tolist()
    diamond_ok = (mountain > params.diamond.noise).tolist()
    lava = ((mountain > 0.3) & (fractal(noise, xs, ys, 6, 5) > 0.35)).tolist()
    tree_ok = (fractal(noise, xs, ys, 5, 7) > params.tree.noise).tolist()
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
    """``crafter.Env`` whose world generation and creature balancing follow a `CrafterWorldSpec`.

    It also renders with the vectorised views (`gymsmith.envs.crafter.view`): same pixels, about 2x cheaper.
    """

    def __init__(self, spec: CrafterWorldSpec, seed: int | None = None) -> None:
        super().__init__(area=(spec.area, spec.area), length=spec.length, seed=seed)
        self.params = WorldParams.from_spec(spec)
        self._local_view = FastLocalView(self._world, self._textures, self._local_view._grid)
        self._item_view = CachedItemView(self._textures, self._item_view._grid)

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
