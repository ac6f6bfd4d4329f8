"""What a generated Crafter world contains, measured on the world itself: the quantities that
`gymsmith generate` checks a request's constraints against.

Resources and creatures are compared with the original Crafter world at the same seed (what "rich in iron" means
to a user): a density at least 1.5 times the original's is ``more``, at most 2/3 of it ``less``, none at all
``none``, anything between ``same``. Creatures are counted over a short random rollout, because Crafter spawns
and despawns them as the agent moves; the starting inventory is read from the player.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
from crafter import constants

from gymsmith.envs.crafter.gym_env import CrafterGenEnv, world_census
from gymsmith.envs.crafter.spec import CrafterWorldSpec
from gymsmith.schemas import Constraint

#: Materials compared with the original world (census names), and creatures seen in the rollout.
MATERIALS = ("tree", "coal", "iron", "diamond", "water", "sand")
CREATURES = {"cows": "cow", "zombies": "zombie"}
#: Steps of the random rollout creatures are counted over.
ROLLOUT = 100
MORE, LESS = 1.5, 2 / 3
RELATIVE = ["more", "less", "none"]


def quantities() -> dict[str, list[str]]:
    """Quantity -> the comparisons the constraints prompt may use."""
    counts = ["0", "1", ">=1", ">=2", ">=3", ">=5", ">=9"]
    out: dict[str, list[str]] = {"area": ["32", "48", "64"]}
    out.update({m: list(RELATIVE) for m in MATERIALS})
    out.update({c: list(RELATIVE) for c in CREATURES})
    out["hostiles"] = ["0", ">=1"]
    out.update({f"start_{item}": counts for item in constants.items if item not in ("health", "food", "drink",
                                                                                      "energy")})
    return out


def _observe(spec: CrafterWorldSpec, seed: int) -> dict[str, Any]:
    env = CrafterGenEnv(spec)
    try:
        env.reset(seed=seed)
        inner = env.crafter_env
        inventory = dict(inner._player.inventory)  # before the rollout spends any of it
        area = int(inner._world.area[0])
        census = world_census(env)
        counts: dict[str, Any] = {m: census.get(m, 0) / area**2 for m in MATERIALS}
        rng = np.random.default_rng(seed)
        seen = {c: 0 for c in ("Cow", "Zombie", "Skeleton")}
        for _ in range(ROLLOUT):
            kinds = [type(o).__name__ for o in inner._world.objects]
            for kind in seen:
                seen[kind] = max(seen[kind], kinds.count(kind))
            _, _, terminated, truncated, _ = env.step(int(rng.integers(env.action_space.n)))
            if terminated or truncated:
                break
        counts["cows"] = seen["Cow"] / area**2
        counts["zombies"] = seen["Zombie"] / area**2
        counts["hostiles"] = seen["Zombie"] + seen["Skeleton"]
        counts["area"] = area
        counts["inventory"] = inventory
        return counts
    finally:
        env.close()


@functools.lru_cache(maxsize=16)
def _original(seed: int) -> dict[str, Any]:
    return _observe(CrafterWorldSpec(), seed)


def _relative(value: float, original: float) -> str:
    if value == 0:
        return "none"
    if original > 0 and value >= MORE * original:
        return "more"
    if original > 0 and value <= LESS * original:
        return "less"
    return "same" if original > 0 else "more"


def measure(spec: CrafterWorldSpec, seed: int) -> dict[str, Any]:
    """The quantities of `quantities` for the world ``spec`` generates at ``seed``."""
    world, original = _observe(spec, seed), _original(seed)
    out: dict[str, Any] = {"area": str(world["area"]), "hostiles": world["hostiles"]}
    for name in (*MATERIALS, *CREATURES):
        out[name] = _relative(world[name], original[name])
    for item, count in world["inventory"].items():
        out[f"start_{item}"] = int(count)
    return out


def narrowing(constraints: Sequence[Constraint]) -> dict[str, list[Any]]:
    """Knob -> the values that can meet ``constraints`` (only knobs some constraint narrows).

    Resources and creatures are read off the measured table (`effects`): a constraint allows the (biome,
    rarity) pairs whose worlds met it; the biomes left are those every such constraint allows, and each
    constraint's own knob keeps the rarities that met it in all of them (else in any). A constraint no measured
    world meets ("no trees at all") gets the rarities its word points to, the closest the knobs come; the built
    worlds are checked against it and a miss is reported."""
    from gymsmith.envs.crafter.effects import BIOMES, KNOBS, RARITIES, effects

    out: dict[str, list[Any]] = {}
    met: dict[str, set[tuple[str, str]]] = {}
    for c in constraints:
        q, value = c.quantity, str(c.value)
        if q == "area":
            out["area"] = [int(float(value))]
        elif q == "hostiles":
            out["peaceful"] = [True] if c.holds(0) and not c.holds(1) else [False]
        elif q in MATERIALS or q in CREATURES:
            pairs = {(biome, rarity) for biome, by_rarity in effects().items() for rarity, row in by_rarity.items()
                     if all(c.holds(v) for v in row[q])}  # fmt: skip
            if pairs:
                met[q] = pairs
            elif q in KNOBS and value in ("more", "less", "none"):
                out[q] = list(RARITIES[-2:]) if value == "more" else list(RARITIES[:2])
            if q == "zombies" and value in ("more", "none"):
                out["peaceful"] = [value == "none"]
    biomes = [b for b in BIOMES if all(any(p[0] == b for p in pairs) for pairs in met.values())]
    if met and 0 < len(biomes) < len(BIOMES):
        out["biome"] = biomes
    for q, pairs in met.items():
        if q in KNOBS:
            everywhere = [r for r in RARITIES if biomes and all((b, r) in pairs for b in biomes)]
            out[q] = everywhere or [r for r in RARITIES if any((b, r) in pairs for b in biomes or BIOMES)]
    return out
