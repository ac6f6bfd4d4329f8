"""Every `CrafterWorldSpec` field must visibly change the generated worlds; the default spec is Crafter."""

from __future__ import annotations

import functools
import math
from itertools import pairwise

import crafter
import gymnasium as gym
import numpy as np
import pytest
from crafter import constants, objects
from gymnasium.utils.env_checker import check_env

from gymsmith.envs.crafter.family import CRAFTER_TARGET as TARGET_ENV_ID
from gymsmith.envs.crafter.family import GEN_ENV_ID
from gymsmith.envs.crafter.family import register as register_crafter
from gymsmith.envs.crafter.gym_env import (
    CRAFTER_ACHIEVEMENTS,
    CrafterGenEnv,
    achievement_success_rates,
    crafter_score,
    render_views,
    render_world_map,
    world_census,
)
from gymsmith.envs.crafter.spec import CRAFTER_MATERIALS, CRAFTER_TOOLS, CrafterWorldSpec
from gymsmith.envs.crafter.worldgen import RARITIES

ROCK = ("stone", "path", "coal", "iron", "diamond", "lava")
NOOP = constants.actions.index("noop")


@functools.cache
def mean_census(fields: tuple[tuple[str, object], ...], seeds: tuple[int, ...] = (0, 1)) -> dict[str, float]:
    """Mean material/creature counts over a few seeds (cached: several tests share the same worlds)."""
    env = CrafterGenEnv(CrafterWorldSpec(**dict(fields)))
    total: dict[str, float] = {}
    for seed in seeds:
        env.reset(seed=seed)
        for key, count in world_census(env).items():
            total[key] = total.get(key, 0.0) + count / len(seeds)
    return total


def snapshot(env: crafter.Env) -> tuple[np.ndarray, list[tuple[str, int, int]]]:
    world = env._world
    objs = sorted((type(o).__name__, int(o.pos[0]), int(o.pos[1])) for o in world.objects)
    return world._mat_map.copy(), objs


def count_hostiles(env: CrafterGenEnv) -> int:
    kinds = (objects.Zombie, objects.Skeleton, objects.Arrow)
    return sum(isinstance(o, kinds) for o in env.crafter_env._world.objects)


# ------------------------------------------------------------------------------- default == Crafter


@pytest.mark.parametrize("seed", [0, 1])
def test_default_spec_reproduces_crafter_world(seed: int) -> None:
    reference = crafter.Env(area=(32, 32), seed=seed)
    ref_obs = reference.reset()
    env = CrafterGenEnv(CrafterWorldSpec(area=32))
    obs, _ = env.reset(seed=seed)
    ref_map, ref_objs = snapshot(reference)
    gen_map, gen_objs = snapshot(env.crafter_env)
    np.testing.assert_array_equal(gen_map, ref_map)
    assert gen_objs == ref_objs
    np.testing.assert_array_equal(obs, ref_obs)


def test_target_is_crafter() -> None:
    # The target env generates with the vectorised generator and draws with the vectorised views: the world
    # and the first observation of a 64x64 Crafter episode must still be Crafter's own.
    from gymsmith.envs import family_for

    reference = crafter.Env(seed=7)
    ref_obs = reference.reset()
    target = family_for("CrafterReward-v1").make_target()
    obs, _ = target.reset(seed=7)
    ref_map, ref_objs = snapshot(reference)
    gen_map, gen_objs = snapshot(target.crafter_env)
    np.testing.assert_array_equal(gen_map, ref_map)
    assert gen_objs == ref_objs
    np.testing.assert_array_equal(obs, ref_obs)


def test_same_seed_same_episode() -> None:
    # Crafter despawns creatures in set (memory) order; the family orders them, so a seed replays exactly.
    first, second = CrafterGenEnv({"area": 32}), CrafterGenEnv({"area": 32})
    first.reset(seed=5)
    second.reset(seed=5)
    actions = np.random.default_rng(0).integers(0, 17, size=120)
    for action in actions:
        a, b = first.step(action), second.step(action)
        np.testing.assert_array_equal(a[0], b[0])
        assert a[1:4] == b[1:4]
        if a[2] or a[3]:
            break
    assert snapshot(first.crafter_env)[1] == snapshot(second.crafter_env)[1]


# ------------------------------------------------------------------------------------ one per field


def test_biome() -> None:
    def shares(biome: str) -> dict[str, float]:
        census = mean_census((("biome", biome),))
        cells = 64 * 64
        return {
            "rock": sum(census[m] for m in ROCK) / cells,
            "green": (census["grass"] + census["tree"]) / cells,
            "sand": census["sand"] / cells,
            "wet": (census["sand"] + census["water"]) / cells,
        }

    natural, grassland = shares("natural"), shares("grassland")
    mountain, beaches = shares("mountain"), shares("beaches")
    assert grassland["rock"] < 0.5 * natural["rock"] and grassland["green"] > 0.65
    assert mountain["rock"] > 0.6 and mountain["rock"] > 2 * natural["rock"]
    assert beaches["wet"] > 0.5 and beaches["sand"] > 3 * natural["sand"]


@pytest.mark.parametrize("field", ["coal", "iron", "diamond", "tree"])
def test_material_rarity(field: str) -> None:
    # Every rarity has its own row: counts must strictly grow along the five levels (no silent default).
    seeds = (0, 1, 2) if field == "diamond" else (0, 1)
    counts = [mean_census(((field, rarity),), seeds)[field] for rarity in RARITIES]
    assert all(a < b for a, b in pairwise(counts)), counts
    assert counts[-1] > 4 * counts[0], counts


@pytest.mark.parametrize(
    ("field", "kind"), [("zombies", "zombie"), ("skeletons", "skeleton"), ("cows", "cow")]
)
def test_mob_density_at_reset(field: str, kind: str) -> None:
    counts = [mean_census(((field, rarity),))[kind] for rarity in RARITIES]
    assert all(a < b for a, b in pairwise(counts)), counts
    assert counts[-1] > 4 * counts[0], counts


@pytest.mark.parametrize(
    ("field", "cls", "rounds"),
    [("zombies", objects.Zombie, 60), ("skeletons", objects.Skeleton, 100), ("cows", objects.Cow, 200)],
)
def test_mob_density_during_episode(field: str, cls: type, rounds: int) -> None:
    # The rarity also scales Crafter's per-chunk balancing (targets and spawn chance): empty the world of the
    # creature, then run the balancer at night as the env does every 10 steps, without a player to kill.
    def respawned(rarity: str) -> int:
        env = CrafterGenEnv({"area": 32, field: rarity})
        env.reset(seed=3)
        inner, world = env.crafter_env, env.crafter_env._world
        for obj in world.objects:
            if isinstance(obj, cls):
                world.remove(obj)
        world.daylight = 0.0
        for _ in range(rounds):
            for chunk, objs in world.chunks.items():
                inner._balance_chunk(chunk, objs)
        return sum(isinstance(obj, cls) for obj in world.objects)

    counts = [respawned(rarity) for rarity in RARITIES]
    assert counts[0] == 0 and counts[1] <= counts[2] < counts[3] < counts[4], counts


def test_inventory() -> None:
    items = {"wood": 5, "sapling": 9, "stone_pickaxe": 1, "iron_sword": 1}
    env = CrafterGenEnv({"area": 32, "inventory": items})
    _, info = env.reset(seed=0)
    for item, count in items.items():
        assert info["inventory"][item] == count
    assert info["inventory"]["coal"] == 0 and info["inventory"]["health"] == 9
    env.reset(seed=1)  # every episode starts with it, not only the first
    assert env.crafter_env._player.inventory["wood"] == 5


@pytest.mark.parametrize("item", CRAFTER_MATERIALS + CRAFTER_TOOLS)
def test_every_inventory_item_is_there_at_step_zero(item: str) -> None:
    # Every item the LLM may hand out, at every count it may choose, is in the inventory the agent starts with
    # (also in the features reward programs read and in the observation's inventory strip).
    counts = range(1, 10) if item in CRAFTER_MATERIALS else (1,)
    empty = CrafterGenEnv({"area": 32})
    empty_obs, _ = empty.reset(seed=0)
    for count in counts:
        env = CrafterGenEnv({"area": 32, "inventory": {item: count}})
        obs, info = env.reset(seed=0)
        assert info["inventory"][item] == count and info["features"][f"inv_{item}"] == count
        assert not np.array_equal(obs, empty_obs)  # the agent can see what it carries


def test_peaceful() -> None:
    def hostiles(peaceful: bool) -> int:
        spec = {"area": 32, "peaceful": peaceful, "zombies": "very_common", "skeletons": "very_common"}
        env = CrafterGenEnv(spec)
        env.reset(seed=2)
        seen = count_hostiles(env)
        for _ in range(300):  # a full day/night cycle: zombies spawn at night
            _, _, terminated, truncated, _ = env.step(NOOP)
            seen = max(seen, count_hostiles(env))
            if terminated or truncated:
                break
        return seen

    assert hostiles(peaceful=True) == 0
    assert hostiles(peaceful=False) > 0


@pytest.mark.parametrize("length", [100, 1000])
def test_length(length: int) -> None:
    env = CrafterGenEnv({"area": 32, "length": length, "peaceful": True})
    env.reset(seed=0)
    player = env.crafter_env._player
    for step in range(1, length + 1):
        player.inventory.update(health=9, food=9, drink=9, energy=9)  # idle agents starve before step 1000
        _, _, terminated, truncated, _ = env.step(NOOP)
        if step < length:
            assert not (terminated or truncated)
    assert truncated and not terminated


@pytest.mark.parametrize("area", [32, 48])
def test_area(area: int) -> None:
    env = CrafterGenEnv({"area": area}, render_mode="rgb_array")
    obs, info = env.reset(seed=0)
    assert env.crafter_env._world.area == (area, area)
    assert "semantic" not in info  # 32 KB a step through worker pipes: read it from crafter_env when needed
    assert tuple(info["player_pos"]) == (area // 2, area // 2)
    assert obs.shape == (64, 64, 3) and obs.dtype == np.uint8
    world_map = render_world_map(env, unit=4)
    assert world_map.shape == (4 * area, 4 * area, 3) and world_map.dtype == np.uint8
    np.testing.assert_array_equal(env.render(), obs)
    views = render_views({"area": area}, seed=0, unit=4)
    np.testing.assert_array_equal(views["local"], obs)
    np.testing.assert_array_equal(views["map"], world_map)


#: Which tests measure each `CrafterWorldSpec` knob on sampled worlds. A field missing here fails
#: `test_every_knob_is_measured`: a knob nobody measures is how EnvGen shipped a "very common" that did nothing.
MEASURED_BY = {
    "biome": (test_biome,),
    **{field: (test_material_rarity,) for field in ("coal", "iron", "diamond", "tree")},
    **{field: (test_mob_density_at_reset, test_mob_density_during_episode)
       for field in ("zombies", "skeletons", "cows")},
    "peaceful": (test_peaceful,),
    "inventory": (test_inventory, test_every_inventory_item_is_there_at_step_zero),
    "length": (test_length,),
    "area": (test_area,),
}


def test_every_knob_is_measured() -> None:
    from gymsmith.envs import family_for

    assert set(MEASURED_BY) == set(CrafterWorldSpec.model_fields) - {"family", "name"}
    # the values the LLM and domain randomisation may choose are the ones the tests sweep
    allowed = family_for("crafter").allowed()
    for field in ("coal", "iron", "diamond", "tree", "zombies", "skeletons", "cows"):
        assert tuple(allowed[field]) == RARITIES
    assert set(allowed["biome"]) == {"natural", "grassland", "mountain", "beaches"}  # test_biome's four
    assert set(allowed["area"]) == {32, 48, CrafterWorldSpec().area}  # test_area's two and the default
    assert set(allowed["peaceful"]) == {False, True}


# ------------------------------------------------------------------------------------ API & scoring


def test_check_env_and_registration() -> None:
    register_crafter()
    register_crafter()  # idempotent
    env = gym.make(GEN_ENV_ID, spec={"area": 32, "biome": "beaches"}, seed=1, render_mode="rgb_array")
    check_env(env.unwrapped)
    target = gym.make(TARGET_ENV_ID, area=32)
    obs, _ = target.reset(seed=0)
    assert target.observation_space.contains(obs) and target.action_space.n == 17


def test_events_report_first_unlocks() -> None:
    env = CrafterGenEnv({"area": 32, "peaceful": True, "inventory": {"wood": 9}})
    env.reset(seed=0)  # the player faces the grass cell below it
    place, make = constants.actions.index("place_table"), constants.actions.index("make_wood_pickaxe")
    assert env.step(place)[4]["events"] == ["place_table"]
    assert env.step(make)[4]["events"] == ["make_wood_pickaxe"]
    _, _, _, _, info = env.step(make)
    assert info["events"] == [] and info["achievements"]["make_wood_pickaxe"] == 2


def test_crafter_score() -> None:
    assert len(CRAFTER_ACHIEVEMENTS) == 22
    assert crafter_score(dict.fromkeys(CRAFTER_ACHIEVEMENTS, 10.0)) == pytest.approx(10.0)
    # By hand: exp((ln 101 + ln 51 + 20 * ln 1) / 22) - 1 = exp(8.546946 / 22) - 1 = 0.474763
    assert crafter_score({"collect_wood": 100.0, "place_table": 50.0}) == pytest.approx(0.474763, abs=1e-6)
    assert crafter_score({}) == 0.0
    with pytest.raises(ValueError):
        crafter_score({"collect_wod": 50.0})


def test_achievement_success_rates() -> None:
    episodes = [{"collect_wood": 1, "place_table": 0}, {"collect_wood": 3, "place_table": 1}]
    rates = achievement_success_rates(episodes)
    assert set(rates) == set(CRAFTER_ACHIEVEMENTS)
    assert rates["collect_wood"] == 100.0 and rates["place_table"] == 50.0 and rates["eat_cow"] == 0.0
    assert crafter_score(rates) == pytest.approx(math.exp((math.log(101) + math.log(51)) / 22) - 1)


# ------------------------------------------------------------------------------------ fast rendering


def test_fast_views_draw_crafter_pixels() -> None:
    # The vectorised views must paint exactly what Crafter's own views paint: day, night (whose noise draws
    # from the world's random state, so both renders start from the same state), sleep, inventories, and
    # windows that hang over the world's edge.
    from types import SimpleNamespace

    from crafter import engine

    env = CrafterGenEnv({"area": 32, "peaceful": True, "cows": "very_common", "inventory": {"wood": 3}})
    env.reset(seed=4)
    inner = env.crafter_env
    world, textures = inner._world, inner._textures
    grid = inner._local_view._grid
    slow_local, slow_items = engine.LocalView(world, textures, grid), engine.ItemView(textures, inner._item_view._grid)
    unit = inner._size // inner._view

    def both(player: object) -> None:
        state = world.random.get_state()
        fast = inner._local_view(player, unit)
        world.random.set_state(state)
        slow = slow_local(player, unit)
        np.testing.assert_array_equal(fast, slow)
        np.testing.assert_array_equal(inner._item_view(inner._player.inventory, unit),
                                      slow_items(inner._player.inventory, unit))

    rng = np.random.default_rng(0)
    nights = 0
    for step in range(400):
        if step % 2:  # Crafter's own clock reaches night only after 165 steps: visit every light level
            world.daylight = float(rng.uniform())
        both(inner._player)
        nights += world.daylight < 0.5
        _, _, terminated, truncated, _ = env.step(int(rng.integers(17)))
        if terminated or truncated:
            env.reset(seed=step)
    assert nights > 50
    for pos in [(0, 0), (31, 31), (0, 17), (3, 30), (31, 2)]:
        for sleeping in (False, True):
            both(SimpleNamespace(pos=np.array(pos), sleeping=sleeping))


def test_reward_verifier_references_make_progress_on_crafter() -> None:
    # The hack check compares a reward's payout on scripted progress episodes with doing nothing: on Crafter
    # those episodes must really collect wood (and go on to the table), or the check compares nothing.
    from gymsmith.envs import family_for
    from gymsmith.generator.verify_reward import reward_fixtures

    episodes = reward_fixtures(family_for("crafter")).episodes
    assert set(episodes) == {"noop", "random", "progress"}
    for episode in episodes["progress"]:
        unlocked = {event for transition in episode for event in transition["info"]["events"]}
        assert {"collect_wood", "place_table"} <= unlocked
    assert not any(t["info"]["events"] for t in episodes["noop"][0])
