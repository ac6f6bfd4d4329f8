"""The MiniGrid level language: solvability search, generation, knobs that change levels, events, the expert."""

from __future__ import annotations

import random

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from minigrid.core.grid import Grid
from minigrid.core.world_object import Ball, Box, Door, Goal, Key, Lava

import gymsmith.envs  # noqa: F401  (registration)
from gymsmith.envs.family import UnsolvableLevel
from gymsmith.envs.minigrid import MiniGridLevelSpec
from gymsmith.envs.minigrid.census import census
from gymsmith.envs.minigrid.expert import expert_policy
from gymsmith.envs.minigrid.levels import GEN_ENV_ID, MiniGridGenEnv, check_spec, make_generated, render_level
from gymsmith.envs.minigrid.objective import Objective, parse_mission
from gymsmith.envs.minigrid.solve import solvable
from gymsmith.envs.mixture import MixtureEnv
from gymsmith.generator.verifier import verify_env_config
from gymsmith.schemas import EnvMixture, MixtureEntry, TargetEnv

DOORKEY = MiniGridLevelSpec(name="doorkey", layout="two_rooms", size=5, locked_doors=1)
GOAL = Objective("goal")


def _room(width: int = 7, height: int = 5, split: int = 3) -> Grid:
    grid = Grid(width, height)
    grid.wall_rect(0, 0, width, height)
    grid.vert_wall(split, 0)
    grid.set(width - 2, height - 2, Goal())
    return grid


# ------------------------------------------------------------------------------------------ solvability


def test_locked_door_with_reachable_key_is_solvable():
    grid = _room()
    grid.set(3, 2, Door("yellow", is_locked=True))
    grid.set(1, 3, Key("yellow"))
    assert solvable(grid, (1, 1), GOAL) == (True, "")


def test_key_behind_its_own_locked_door_or_of_another_colour_is_unsolvable():
    grid = _room()
    grid.set(3, 2, Door("yellow", is_locked=True))
    grid.set(4, 1, Key("yellow"))  # on the goal side
    ok, why = solvable(grid, (1, 1), GOAL)
    assert not ok and "locked yellow door" in why and "no yellow key" in why
    grid.set(4, 1, None)
    grid.set(1, 3, Key("red"))
    assert not solvable(grid, (1, 1), GOAL)[0]


def test_key_in_a_box_and_a_ball_blocking_the_door_are_solvable():
    grid = _room()
    grid.set(3, 2, Door("blue", is_locked=True))
    grid.set(2, 2, Ball("green"))  # in front of the door
    box = Box("red")
    box.contains = Key("blue")
    grid.set(1, 3, box)
    assert solvable(grid, (1, 1), GOAL)[0]
    # strict levels may not pick up anything but the target: the ball now seals the door
    strict = Objective("pickup", "key", "purple", strict=True)
    grid.set(5, 1, Key("purple"))
    assert not solvable(grid, (1, 1), strict)[0]


def test_lava_blocks_and_closed_doors_do_not():
    grid = _room()
    grid.set(3, 2, Door("yellow"))
    assert solvable(grid, (1, 1), GOAL)[0]
    for y in (1, 2, 3):
        grid.set(4, y, Lava())
    ok, why = solvable(grid, (1, 1), GOAL)
    assert not ok and "no path" in why and "lava" in why


def test_every_objective_is_searched():
    grid = Grid(6, 6)
    grid.wall_rect(0, 0, 6, 6)
    grid.set(3, 3, Ball("blue"))
    grid.set(1, 4, Box("red"))
    assert solvable(grid, (1, 1), Objective("pickup", "ball", "blue"))[0]
    assert solvable(grid, (1, 1), Objective("goto", "box", "red"))[0]
    assert solvable(grid, (1, 1), Objective("put_near", "ball", "blue", "box", "red"))[0]
    assert not solvable(grid, (1, 1), Objective("pickup", "key", "blue"))[0]
    assert not solvable(grid, (1, 1), Objective("open_door", "door"))[0]


def test_mission_texts_of_registered_envs_parse_to_objectives():
    assert parse_mission("pick up the purple ball") == Objective("pickup", "ball", "purple")
    assert parse_mission("you must fetch a red key") == Objective("pickup", "key", "red", strict=True)
    assert parse_mission("go to the green door") == Objective("goto", "door", "green", strict=True)
    assert parse_mission("put the blue key near the grey box") == Objective(
        "put_near", "key", "blue", "box", "grey", strict=True)
    assert parse_mission("open the door").kind == "open_door"
    assert parse_mission("avoid the lava and get to the green goal square") == GOAL


# ------------------------------------------------------------------------------------------- generation


def test_spec_rules_reject_with_a_reason_the_llm_can_act_on():
    cases = [
        (dict(layout="chain", lava_strips=2), 'need layout "room"'),
        (dict(layout="room", locked_doors=1), "at most 0 locked doors"),
        (dict(layout="two_rooms", key_in_box=True), "need locked_doors >= 1"),
        (dict(layout="room", size=5, lava_strips=3), "fits at most 2 strips"),
        (dict(layout="room", lava_strips=1, wall_strips=1), "not both"),
        (dict(objective="pickup", target="door"), "a door cannot be carried"),
        (dict(layout="room", objective="open_door"), "needs a door to open"),
    ]
    for fields, why in cases:
        with pytest.raises(ValueError, match=why):
            MiniGridLevelSpec(**fields)


def test_an_unplaceable_spec_is_rejected_by_the_verifier_with_its_layer():
    crowded = MiniGridLevelSpec(layout="room", size=5, balls=8, boxes=8)
    ok, why = check_spec(crowded)
    assert not ok and "no free cell" in why
    verdict = verify_env_config(crowded)
    assert not verdict.accepted and verdict.rejections[0].layer == "solvability"
    assert verify_env_config(DOORKEY).accepted


@pytest.mark.parametrize(
    "spec",
    [
        DOORKEY,
        MiniGridLevelSpec(layout="room", size=9, lava_strips=2, scattered_lava=2, balls=1, start="corner"),
        MiniGridLevelSpec(layout="chain", size=25, rooms=3, room_size=5, locked_doors=1, key_in_box=True),
        MiniGridLevelSpec(layout="grid", rows=2, cols=2, room_size=5, connect="gap", objective="pickup",
                          target="box", place="random"),
        MiniGridLevelSpec(layout="corridor", rows=2, room_size=6, locked_doors=1, blocked=True,
                          objective="put_near", target="key", near="ball"),
        MiniGridLevelSpec(layout="room", size=6, wall_doors=3, objective="goto", target="door", target_color="red"),
    ],
)
def test_generated_levels_pass_check_env_and_the_expert_solves_them(spec):
    env = gym.make(GEN_ENV_ID, spec=spec.model_dump())
    check_env(env.unwrapped, skip_render_check=True)
    for seed in range(4):
        obs, info = env.reset(seed=seed)
        assert obs.shape == (7, 7, 3) and set(info) >= {"events", "features"}
        rng, seen = random.Random(seed), set()
        for _ in range(env.unwrapped.max_steps):
            obs, reward, terminated, truncated, info = env.step(expert_policy(env, rng))
            seen.update(info["events"])
            if terminated or truncated:
                break
        assert info["success"] == 1.0 and reward > 0 and "completed_mission" in seen, (spec, seed, seen)
    env.close()


def test_levels_are_a_seeded_distribution():
    env = MiniGridGenEnv(MiniGridLevelSpec(layout="chain", size=25, rooms=3, room_size=5))
    env.reset(seed=1)
    a = env.grid.encode().copy()
    env.reset(seed=1)
    assert np.array_equal(a, env.grid.encode())
    env.reset(seed=2)
    assert not np.array_equal(a, env.grid.encode())


def _counts(spec: MiniGridLevelSpec, seeds: range = range(6)) -> list[dict]:
    env = make_generated(spec)
    try:
        out = []
        for seed in seeds:
            env.reset(seed=seed)
            out.append(census(env))
        return out
    finally:
        env.close()


@pytest.mark.parametrize(
    ("base", "knob", "value", "quantity", "expected"),
    [
        (dict(layout="room", size=9), "lava_strips", 3, "lava_strips", 3),
        (dict(layout="room", size=9), "wall_strips", 2, "wall_strips", 2),
        (dict(layout="room", size=8), "scattered_lava", 5, "lava_cells", 5),
        (dict(layout="room", size=8), "size", 11, "size", 11),
        (dict(layout="room", size=8), "wall_doors", 4, "doors", 4),
        (dict(layout="room", size=8), "balls", 3, "balls", 3),
        (dict(layout="room", size=8), "boxes", 2, "boxes", 2),
        (dict(layout="room", size=8), "keys", 2, "keys", 2),
        (dict(layout="chain", size=25, room_size=5), "rooms", 5, "rooms", 5),
        (dict(layout="grid", room_size=5, rows=1), "cols", 3, "rooms", 3),
        (dict(layout="grid", room_size=5), "rows", 3, "rooms", 6),
        (dict(layout="corridor", room_size=4), "rows", 3, "rooms", 7),
        (dict(layout="grid", rows=1, cols=3), "room_size", 8, "size", 22),
        (dict(layout="chain", size=25, rooms=4, room_size=5), "locked_doors", 3, "locked_doors", 3),
        (dict(layout="chain", size=25, rooms=3, room_size=5), "connect", "open", "open_doors", 2),
        (dict(layout="two_rooms", locked_doors=1), "key_in_box", True, "keys_in_boxes", 1),
        (dict(layout="two_rooms", locked_doors=1), "blocked", True, "balls", 1),
        (dict(layout="room"), "objective", "pickup", "objective", "pickup"),
        (dict(layout="room", objective="pickup"), "target", "box", "boxes", 1),
    ],
)
def test_every_knob_changes_the_sampled_levels(base, knob, value, quantity, expected):
    """A spec knob must measurably change the generated level (read off the grid, not the spec)."""
    before = _counts(MiniGridLevelSpec(**base))
    after = _counts(MiniGridLevelSpec(**{**base, knob: value}))
    assert all(row[quantity] == expected for row in after), [row[quantity] for row in after]
    assert [row[quantity] for row in before] != [row[quantity] for row in after]


def test_placement_knobs_move_the_agent_and_the_goal():
    def positions(spec: MiniGridLevelSpec) -> set[tuple]:
        env = MiniGridGenEnv(spec)
        out = set()
        for seed in range(8):
            env.reset(seed=seed)
            goal = next(i for i, c in enumerate(env.grid.grid) if c is not None and c.type == "goal")
            out.add((tuple(int(v) for v in env.agent_pos), env.agent_dir, goal))
        return out

    corner = positions(MiniGridLevelSpec(size=7, start="corner"))
    assert {(a, d) for a, d, _ in corner} == {((1, 1), 0)} and {g for _, _, g in corner} == {5 * 7 + 5}
    anywhere = positions(MiniGridLevelSpec(size=7, start="anywhere", place="random"))
    assert len({a for a, _, _ in anywhere}) > 3 and len({g for _, _, g in anywhere}) > 3


def test_door_color_colours_the_locked_door_and_its_key():
    env = MiniGridGenEnv(DOORKEY.model_copy(update={"door_color": "purple"}))
    for seed in range(3):
        env.reset(seed=seed)
        colors = {(c.type, c.color) for c in env.grid.grid if c is not None and c.type in ("door", "key")}
        assert colors == {("door", "purple"), ("key", "purple")}


def test_legacy_specs_still_load_as_the_same_levels():
    old = {"family": "minigrid", "name": "tiny", "size": 5, "wall": True, "door_locked": True, "key": True,
           "lava": 0, "distractors": 2, "goal": "near"}
    spec = MiniGridLevelSpec.model_validate(old)
    assert (spec.layout, spec.locked_doors, spec.balls, spec.boxes) == ("two_rooms", 1, 1, 1)
    assert census(make_and_reset(spec))["locked_doors"] == 1


def make_and_reset(spec: MiniGridLevelSpec) -> gym.Env:
    env = make_generated(spec)
    env.reset(seed=0)
    return env


# ---------------------------------------------------------------------------------------------- events


def test_events_follow_an_expert_episode_through_the_level():
    spec = MiniGridLevelSpec(layout="chain", size=25, rooms=3, room_size=5, locked_doors=1, key_in_box=True)
    env = make_generated(spec)
    env.reset(seed=4)
    rng, order = random.Random(0), []
    for _ in range(env.unwrapped.max_steps):
        _, _, terminated, truncated, info = env.step(expert_policy(env, rng))
        order += info["events"]
        if terminated or truncated:
            break
    for event in ("opened_box", "picked_up_key", "unlocked_door", "opened_door", "entered_room_2",
                  "entered_room_3", "reached_goal", "completed_mission"):
        assert event in order, (event, order)
    assert order.index("opened_box") < order.index("picked_up_key") < order.index("unlocked_door")
    assert order.index("entered_room_2") < order.index("entered_room_3") < order.index("reached_goal")
    assert info["features"]["rooms_entered"] == 3.0 and info["success"] == 1.0


def test_crossing_events_count_the_strips_crossed_and_lava_kills():
    env = make_generated(MiniGridLevelSpec(layout="room", size=9, lava_strips=3, start="corner"))
    env.reset(seed=1)
    rng, order = random.Random(0), []
    for _ in range(200):
        _, _, terminated, truncated, info = env.step(expert_policy(env, rng))
        order += info["events"]
        if terminated or truncated:
            break
    assert [e for e in order if e.startswith("crossed_")] == ["crossed_1", "crossed_2", "crossed_3"]
    assert info["features"]["crossed"] == 3.0
    env.reset(seed=1)
    base = env.unwrapped
    lava = next((i % base.width, i // base.width) for i, c in enumerate(base.grid.grid) if c is not None
                and c.type == "lava")
    base.agent_pos = np.array((lava[0] - 1, lava[1])) if base.grid.get(lava[0] - 1, lava[1]) is None \
        else np.array((lava[0], lava[1] - 1))
    base.agent_dir = 0 if base.grid.get(lava[0] - 1, lava[1]) is None else 1
    _, _, terminated, _, info = env.step(2)
    assert terminated and "died_in_lava" in info["events"] and info["success"] == 0.0


def test_features_track_the_objective_target():
    env = make_generated(MiniGridLevelSpec(layout="room", size=7, objective="pickup", target="ball",
                                           target_color="blue"))
    _, info = env.reset(seed=0)
    f = info["features"]
    base = env.unwrapped
    ball = next((i % base.width, i // base.width) for i, c in enumerate(base.grid.grid) if c is not None
                and c.type == "ball")
    assert (f["target_x"], f["target_y"]) == ball and f["dist_target"] > 0 and f["goal_x"] == -1


# ----------------------------------------------------------------------------------------------- mixture


def test_mixture_samples_sources_by_weight():
    mix = EnvMixture(entries=[MixtureEntry(source=TargetEnv(), weight=1.0),
                              MixtureEntry(source=DOORKEY, weight=3.0, seeds=[7, 8])])
    env = MixtureEnv(mix, seed=0)
    counts = [0, 0]
    for _ in range(200):
        _, info = env.reset()
        counts[info["source"]] += 1
        if info["source"] == 1:
            assert info["level_seed"] in (7, 8)
    assert 100 < counts[1] < 180
    env.close()


def test_mixture_redraws_a_seed_whose_layout_is_unsolvable():
    # passes the verifier's 8 check seeds, but level seed 634 has no solvable placement (lava walls the goal off)
    spec = MiniGridLevelSpec(layout="room", size=5, scattered_lava=4, start="corner")
    assert check_spec(spec)[0]
    bad = 634
    with pytest.raises(UnsolvableLevel, match="no path from the agent to the goal"):
        MiniGridGenEnv(spec).reset(seed=bad)
    env = MixtureEnv(EnvMixture(entries=[MixtureEntry(source=spec, weight=1.0, seeds=[bad])]), seed=0)
    _, info = env.reset()
    assert info["level_seed"] != bad and env.unsolvable_redraws == 1
    env.step(0)
    env.close()


def test_mixture_names_a_source_that_never_places():
    broken = MiniGridLevelSpec(layout="room", size=5, balls=8, boxes=8)
    env = MixtureEnv(EnvMixture(entries=[MixtureEntry(source=broken, weight=1.0)]), seed=0)
    with pytest.raises(UnsolvableLevel, match=r"mixture source 0 .*\"balls\":8.* no solvable layout in 20"):
        env.reset()
    env.close()


def test_render_level_is_an_image():
    img = render_level(MiniGridLevelSpec(size=6), seed=0)
    assert img.shape == (96, 96, 3) and img.dtype == np.uint8


def test_a_door_in_the_outer_wall_opens_but_leads_nowhere():
    """Found by llm-replay's edits on LavaCrossing (wall_doors 0 -> 1): an agent that opened a door in the outer
    wall and walked into it stood facing outside the grid, where MiniGrid's step fails an assertion."""
    import gymnasium as gym

    from gymsmith.envs.minigrid.spec import MiniGridLevelSpec

    spec = MiniGridLevelSpec(name="doors", layout="room", size=6, wall_doors=4, objective="goal", start="corner")
    env = gym.make("gymsmith/MiniGridGen-v0", spec=spec.model_dump(mode="json")).unwrapped
    env.reset(seed=0)
    door = next((x, y) for x in range(env.width) for y in (0, env.height - 1)
                if env.grid.get(x, y) is not None and env.grid.get(x, y).type == "door")
    inside = (door[0], 1 if door[1] == 0 else env.height - 2)
    env.agent_pos, env.agent_dir = inside, 3 if door[1] == 0 else 1  # facing the door
    env.step(env.actions.toggle)
    assert env.grid.get(*door).is_open
    for _ in range(3):  # walking on: bumped like a wall, never out of the grid
        env.step(env.actions.forward)
        assert tuple(env.agent_pos) == inside
