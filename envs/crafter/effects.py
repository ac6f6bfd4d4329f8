"""What the Crafter knobs do to a world, measured: the table `measure.narrowing` reads a request's constraints by.

A rarity knob alone does not decide what a world holds: coal set to ``common`` in a grassland world still gives
*less* coal than the original Crafter world (grassland has few mountains, where coal lies), and no rarity gives
a world without trees. So the grammar is narrowed by measurement, not by the knob's name: for every biome and
rarity (all rarity knobs set alike) the world is generated on two seeds and each quantity measured against the
original (`measure.measure`); a constraint then allows the (biome, rarity) pairs whose worlds met it on both
seeds. The table ships as ``effects.json``; ``python -m gymsmith.envs.crafter.effects`` measures it again (about a
minute on one core) after a change to the world generator or the measure.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, get_args

from gymsmith.envs.crafter.spec import CrafterWorldSpec, Rarity

EFFECTS_FILE = Path(__file__).with_name("effects.json")
SEEDS = (0, 1)
BIOMES: tuple[str, ...] = get_args(CrafterWorldSpec.model_fields["biome"].annotation)
RARITIES: tuple[str, ...] = get_args(Rarity)
#: Rarity knobs set alike in each measured world (skeletons stay in caves and are not a quantity).
KNOBS = ("tree", "coal", "iron", "diamond", "cows", "zombies")


def measure_effects(
    seeds: tuple[int, ...] = SEEDS, biomes: tuple[str, ...] = BIOMES, rarities: tuple[str, ...] = RARITIES
) -> dict[str, Any]:
    """{"seeds", "worlds": {biome: {rarity: {quantity: [measured value per seed]}}}} for the relative quantities
    of `measure`."""
    from gymsmith.envs.crafter.measure import CREATURES, MATERIALS, measure

    table: dict[str, Any] = {"seeds": list(seeds), "worlds": {}}
    for biome in biomes:
        for rarity in rarities:
            spec = CrafterWorldSpec(biome=biome, **{k: rarity for k in KNOBS})
            rows = [measure(spec, seed) for seed in seeds]
            table["worlds"].setdefault(biome, {})[rarity] = {
                q: [row[q] for row in rows] for q in (*MATERIALS, *CREATURES)
            }
    return table


@functools.lru_cache(maxsize=1)
def effects() -> dict[str, dict[str, dict[str, list[str]]]]:
    return json.loads(EFFECTS_FILE.read_text())["worlds"]


def _dump(table: dict[str, Any]) -> str:
    """One line per (biome, rarity), so a re-measured table diffs readably."""
    lines = [f'{{"seeds": {json.dumps(table["seeds"])}, "worlds": {{']
    biomes = list(table["worlds"].items())
    for i, (biome, by_rarity) in enumerate(biomes):
        lines.append(f'  "{biome}": {{')
        rows = list(by_rarity.items())
        for j, (rarity, row) in enumerate(rows):
            lines.append(f'    "{rarity}": {json.dumps(row)}{"," if j < len(rows) - 1 else ""}')
        lines.append("  }" + ("," if i < len(biomes) - 1 else ""))
    return "\n".join([*lines, "}}"]) + "\n"


if __name__ == "__main__":
    EFFECTS_FILE.write_text(_dump(measure_effects()))
    print(f"wrote {EFFECTS_FILE}")
