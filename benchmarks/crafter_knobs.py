"""What each Crafter world knob does, measured on sampled worlds: the numbers behind tests/test_crafter_family.py.

For every rarity knob and every value, the mean count of its material or creature at reset over ``--seeds``
64x64 worlds (every other knob at its default); for ``biome`` the shares of rock, green, sand and water cells;
for ``peaceful`` the most zombies and skeletons alive at once over a full day and night with every hostile at
``very_common``. The tests assert the direction (strictly rising counts, none at all when peaceful); this prints
the magnitudes for BENCHMARKS.md.

    python benchmarks/crafter_knobs.py --seeds 4
"""

from __future__ import annotations

import argparse

import numpy as np
from crafter import constants, objects

from gymsmith.envs.crafter.gym_env import CrafterGenEnv, world_census
from gymsmith.envs.crafter.worldgen import BIOMES, RARITIES

#: Rarity knob -> what it counts in a census.
COUNTED = {"tree": "tree", "coal": "coal", "iron": "iron", "diamond": "diamond", "zombies": "zombie",
           "skeletons": "skeleton", "cows": "cow"}
ROCK = ("stone", "path", "coal", "iron", "diamond", "lava")


def mean_census(spec: dict, seeds: int) -> dict[str, float]:
    env = CrafterGenEnv(spec)
    total: dict[str, float] = {}
    for seed in range(seeds):
        env.reset(seed=seed)
        for key, count in world_census(env).items():
            total[key] = total.get(key, 0.0) + count / seeds
    return total


def most_hostiles(peaceful: bool, seeds: int, steps: int = 300) -> float:
    """Most zombies + skeletons alive at once over a day and night (noop agent kept fed), mean over seeds."""
    noop = constants.actions.index("noop")
    peaks = []
    for seed in range(seeds):
        env = CrafterGenEnv({"peaceful": peaceful, "zombies": "very_common", "skeletons": "very_common"})
        env.reset(seed=seed)
        player, world = env.crafter_env._player, env.crafter_env._world
        peak = 0
        for _ in range(steps):
            player.inventory.update(health=9, food=9, drink=9, energy=9)
            env.step(noop)
            peak = max(peak, sum(isinstance(o, objects.Zombie | objects.Skeleton) for o in world.objects))
        peaks.append(peak)
    return float(np.mean(peaks))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4)
    args = parser.parse_args()
    print(f"mean count at reset over {args.seeds} 64x64 worlds (other knobs default)\n")
    print(f"| knob (counted) | {' | '.join(RARITIES)} | very_common / very_rare |")
    print(f"|---|{'---|' * len(RARITIES)}---|")
    for knob, counted in COUNTED.items():
        counts = [mean_census({knob: rarity}, args.seeds)[counted] for rarity in RARITIES]
        ratio = f"{counts[-1] / counts[0]:.1f}x" if counts[0] else "from 0"
        print(f"| `{knob}` ({counted}) | {' | '.join(f'{c:.1f}' for c in counts)} | {ratio} |")
    print("\n| biome | rock | grass + tree | sand | water |\n|---|---|---|---|---|")
    cells = 64 * 64
    for biome in BIOMES:
        census = mean_census({"biome": biome}, args.seeds)
        rock = sum(census[m] for m in ROCK) / cells
        green = (census["grass"] + census["tree"]) / cells
        sand, water = census["sand"] / cells, census["water"] / cells
        print(f"| `{biome}` | {rock:.2f} | {green:.2f} | {sand:.2f} | {water:.2f} |")
    print(f"\nmost zombies + skeletons alive at once in 300 steps (hostiles very_common), mean over {args.seeds} "
          f"seeds: peaceful=false {most_hostiles(False, args.seeds):.1f}, peaceful=true "
          f"{most_hostiles(True, args.seeds):.1f}")


if __name__ == "__main__":
    main()
