"""Families, declared parameter ranges, goal parsing and the repair round, without an LLM.

Answers here are typed-in test inputs for the parser, not cassettes: recorded model responses live in
tests/cassettes and are exercised by test_generate.py and test_llm.py.
"""

from __future__ import annotations

import json

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from gymsmith.envs import family_for, make_env, make_family
from gymsmith.envs.crafter import CrafterWorldSpec
from gymsmith.envs.goals import episode_events, goal_reached, goal_success, probe_skills
from gymsmith.envs.gym_family import GymFamily, GymKwargsSpec
from gymsmith.envs.minigrid import MINIGRID_EVENTS, MiniGridLevelSpec
from gymsmith.envs.params import FamilyError, InvalidItem, ParamRange
from gymsmith.generator.llm import LLMClient
from gymsmith.generator.proposer import Proposer, parse_answer
from gymsmith.generator.verifier import verify_env_config
from gymsmith.schemas import DEFAULT_TARGET, Feedback, Goal, TaskSpec
from gymsmith.templates import render

LEVEL = {"name": "a", "layout": "two_rooms", "size": 5, "connect": "closed", "locked_doors": 1,
         "door_color": "yellow", "key_in_box": False, "blocked": False, "scattered_lava": 0, "balls": 0, "boxes": 0,
         "keys": 0, "place": "far", "start": "first_room", "objective": {"type": "goal"}}


def task(fam, request="x"):
    """The task a `gymsmith generate` request stands for."""
    return fam.task(TaskSpec(target_env=fam.target_env, description=request, skills=list(fam.events)))


WORLD = {"name": "w", "biome": "mountain", "tree": "common", "coal": "very_common", "iron": "common",
         "diamond": "default", "zombies": "rare", "skeletons": "rare", "cows": "common", "peaceful": False,
         "area": 48, "length": 10000, "inventory": {"wood": 5}}


# ------------------------------------------------------------------------------------------ --param


def test_param_declarations_parse_to_ints_floats_and_choices():
    size = ParamRange.parse("size=5..16")
    assert (size.kind, size.low, size.high) == ("int", 5, 16)
    assert size.schema() == {"enum": list(range(5, 17))}  # small int ranges are enums: grammars enforce those
    p = ParamRange.parse("p=0.1..0.9")
    assert p.kind == "float" and p.schema() == {"type": "number", "minimum": 0.1, "maximum": 0.9}
    mode = ParamRange.parse("mode=a|b")
    assert mode.choices == ("a", "b") and mode.schema() == {"enum": ["a", "b"]}
    flag = ParamRange.parse("is_slippery=true|false")
    assert flag.choices == (True, False)
    assert ParamRange.parse("x=3").choices == (3,)
    wide = ParamRange.parse("max_steps=10..1000")
    assert wide.schema() == {"type": "integer", "minimum": 10, "maximum": 1000}
    for bad in ("size", "size=", "size=9..5", "size=a..b", "1x=1..2", "m=a||b"):
        with pytest.raises(FamilyError):
            ParamRange.parse(bad)


def test_gym_kwargs_are_validated_against_the_declared_ranges():
    fam = make_family("gym:MiniGrid-Empty-5x5-v0", ["size=5..12"])
    assert isinstance(fam, GymFamily)
    spec = fam.build({"name": "room", "kwargs": {"size": 8}})
    assert spec == GymKwargsSpec(name="room", env_id="MiniGrid-Empty-5x5-v0", kwargs={"size": 8})
    schema = fam.schema(task(fam), 3, goals=1)
    config = schema["properties"]["configs"]["items"]
    assert config["properties"]["kwargs"]["properties"]["size"] == {"enum": list(range(5, 13))}
    assert schema["properties"]["goals"]["items"]["properties"]["events"]["items"] == {"enum": list(MINIGRID_EVENTS)}
    for bad, why in (({"size": 20}, "less than or equal to 12"), ({"size": 6.5}, "valid integer"),
                     ({"size": True}, "valid integer"), ({"size": 6, "agent_start_dir": 1}, "Extra inputs"),
                     ({}, "Field required")):
        result = parse_answer(json.dumps({"rationale": "", "configs": [{"name": "r", "kwargs": bad}]}), fam,
                              task(fam), k=1)
        assert not result.specs and why in result.rejected[0].reason, (bad, result.rejected)
        assert result.rejected[0].reason.startswith("[schema] kwargs.")


def test_float_and_choice_ranges_for_classic_envs():
    pendulum = make_family("gym:Pendulum-v1", ["g=2.0..12.0"])
    assert pendulum.build({"name": "low", "kwargs": {"g": 3}}).kwargs == {"g": 3.0}
    with pytest.raises(ValueError, match="less than or equal to 12"):
        pendulum.build({"name": "high", "kwargs": {"g": 15.5}})
    assert pendulum.events == ()  # no event vocabulary: such a family has no goals
    lake = make_family("gym:FrozenLake-v1", ["map_name=4x4|8x8", "is_slippery=true|false"])
    assert lake.build({"name": "l", "kwargs": {"map_name": "8x8", "is_slippery": False}}).kwargs == {
        "map_name": "8x8", "is_slippery": False}
    with pytest.raises(ValueError, match='map_name: "5x5" is not one of "4x4", "8x8"'):
        lake.build({"name": "l", "kwargs": {"map_name": "5x5", "is_slippery": False}})
    with pytest.raises(ValueError, match="is_slippery: 0 is not one of true, false"):
        lake.build({"name": "l", "kwargs": {"map_name": "4x4", "is_slippery": 0}})  # 0 == False, but not a bool


def test_verifier_applies_the_declared_ranges_and_the_env_constructor():
    fam = make_family("gym:MiniGrid-Empty-5x5-v0", ["size=5..12"])
    ok = verify_env_config(GymKwargsSpec(env_id="MiniGrid-Empty-5x5-v0", kwargs={"size": 7}), fam)
    assert ok.accepted, ok.reason()
    out = verify_env_config(GymKwargsSpec(env_id="MiniGrid-Empty-5x5-v0", kwargs={"size": 14}), family=fam)
    assert not out.accepted and out.rejections[0].layer == "schema" and "declared ranges" in out.reason()
    # without declared ranges the constructor is the judge: an Empty room needs size >= 3
    tiny = verify_env_config(GymKwargsSpec(env_id="MiniGrid-Empty-5x5-v0", kwargs={"size": 1}))
    assert not tiny.accepted and tiny.rejections[0].layer == "construct"


def test_family_setup_errors_say_what_to_type():
    with pytest.raises(FamilyError, match="did you mean"):
        make_family("gym:CartPole-v9", ["x=1..2"])
    with pytest.raises(FamilyError, match="does not take gravity; its constructor takes: g"):
        make_family("gym:Pendulum-v1", ["gravity=1.0..2.0"])
    with pytest.raises(FamilyError, match="needs at least one --param"):
        make_family("gym:Pendulum-v1")
    bare = family_for("Pendulum-v1")  # fine as a target; writing configs needs ranges
    with pytest.raises(FamilyError, match="needs --param ranges"):
        bare.schema(task(bare), 2, goals=0)
    with pytest.raises(FamilyError, match="declared twice"):
        make_family("gym:Pendulum-v1", ["g=1.0..2.0", "g=3.0..4.0"])
    with pytest.raises(FamilyError, match="unknown family"):
        make_family("procgen")
    with pytest.raises(FamilyError, match="tunable fields"):
        make_family("crafter", ["inventory=1..2"])
    with pytest.raises(FamilyError, match="not allowed"):
        make_family("crafter", ["area=16..20"])


# -------------------------------------------------------------------------------- MiniGrid & Crafter


def test_minigrid_schema_has_one_shape_per_layout_case_and_objective():
    """The grammar cannot write a field a layout ignores, an objective field its type does not have, nor the
    exclusive combinations the validator refuses (lava and wall strips in one room, a key in a box without a
    locked door, two locked doors between two rooms): the 0.5B model wrote all three in bench_generate."""
    fam = family_for("MiniGrid-DoorKey-8x8-v0")
    schema = fam.schema(fam.task(), 3, goals=0)
    assert list(schema["properties"]) == ["rationale", "levels"]  # no goals in the curriculum's answers
    shapes: dict[str, list[dict]] = {}
    for s in schema["properties"]["levels"]["items"]["anyOf"]:
        shapes.setdefault(s["properties"]["layout"]["enum"][0], []).append(s)
    assert set(shapes) == {"room", "two_rooms", "chain", "grid", "corridor"}
    lava, lava_doors, wall, wall_doors = (s["properties"] for s in shapes["room"])
    assert lava["wall_strips"] == {"enum": [0]} and 0 in lava["lava_strips"]["enum"]
    assert wall["lava_strips"] == {"enum": [0]} and 0 not in wall["wall_strips"]["enum"]
    assert lava["wall_doors"] == {"enum": [0]} and 0 not in lava_doors["wall_doors"]["enum"]

    def kinds(props: dict) -> dict:
        return {o["properties"]["type"]["enum"][0]: o["properties"].get("target", {}).get("enum")
                for o in props["objective"]["anyOf"]}

    assert "open_door" not in kinds(lava) and "door" not in kinds(lava)["goto"]  # no door in the room
    assert "open_door" in kinds(wall_doors) and "door" in kinds(wall_doors)["goto"]
    gap, open_, closed, locked = (s["properties"] for s in shapes["two_rooms"])
    assert "locked_doors" not in lava and "lava_strips" not in open_
    assert [p["connect"] for p in (gap, open_, closed)] == [{"enum": ["gap"]}, {"enum": ["open"]}, {"enum": ["closed"]}]
    assert open_["locked_doors"] == {"enum": [0]} and open_["key_in_box"] == open_["blocked"] == {"enum": [False]}
    assert "door" not in kinds(gap)["goto"] and "door" in kinds(open_)["goto"] and "open_door" not in kinds(open_)
    assert "open_door" in kinds(closed) and "open_door" in kinds(locked)
    assert locked["locked_doors"] == {"enum": [1]} and locked["key_in_box"] == {"type": "boolean"}
    assert [s["properties"]["locked_doors"]["enum"] for s in shapes["chain"]] == [[0], [0], [0], [1, 2, 3]]
    assert 3 not in shapes["chain"][0]["properties"]["room_size"]["enum"]
    assert shapes["room"][0]["required"] == list(lava)
    room = wall_doors
    objectives = {o["properties"]["type"]["enum"][0]: o for o in room["objective"]["anyOf"]}
    assert list(objectives["goal"]["properties"]) == ["type"]
    assert list(objectives["put_near"]["properties"]) == ["type", "target", "color", "near"]
    assert "door" not in objectives["pickup"]["properties"]["target"]["enum"]
    assert "door" in objectives["goto"]["properties"]["target"]["enum"]
    with_goals = fam.schema(fam.task(), 3, goals=2)
    assert with_goals["required"] == ["rationale", "levels", "goals"]


def test_minigrid_items_round_trip_and_bad_ones_are_rejected_with_reasons():
    fam = make_family("minigrid")
    spec = fam.build(LEVEL)
    assert (spec.layout, spec.locked_doors, spec.objective) == ("two_rooms", 1, "goal")
    assert fam.build(spec.to_item()) == spec and spec.brief() == spec.to_item()
    pickup = fam.build({"name": "p", "layout": "room", "size": 6,
                        "objective": {"type": "pickup", "target": "ball", "color": "blue"}})
    assert (pickup.target, pickup.target_color) == ("ball", "blue")
    chain = fam.build({"name": "c", "layout": "chain", "rooms": 4, "room_size": 5, "objective": {"type": "goal"}})
    assert chain.size == 25  # MultiRoom's grid
    text = json.dumps({"rationale": "", "levels": [
        {**LEVEL, "locked_doors": 2}, {**LEVEL, "name": "b", "key_in_box": True, "locked_doors": 0},
        {**LEVEL, "name": "c", "objective": {"type": "pickup", "target": "door"}},
        {**LEVEL, "name": "d", "objective": {"type": "goal", "when": "now"}}]})
    result = parse_answer(text, fam, task(fam), k=4)
    reasons = [r.reason for r in result.rejected]
    assert not result.specs and len(reasons) == 4, reasons
    assert 'layout "two_rooms" has at most 1 locked door' in reasons[0]
    assert "key_in_box and blocked need locked_doors >= 1" in reasons[1]
    assert "a door cannot be carried" in reasons[2] and "objective: unknown fields when" in reasons[3]


def test_minigrid_params_narrow_the_enums_and_are_rechecked():
    fam = make_family("minigrid", ["size=6..7", "scattered_lava=1|2", "layout=two_rooms"])
    shapes = fam.schema(task(fam), 2, goals=0)["properties"]["levels"]["items"]["anyOf"]
    assert len(shapes) == 4 and {s["properties"]["layout"]["enum"][0] for s in shapes} == {"two_rooms"}
    level = shapes[0]["properties"]
    assert level["size"] == {"enum": [6, 7]} and level["scattered_lava"] == {"enum": [1, 2]}
    prompt = render(fam.template, None, **fam.context(task(fam), 2, None, "x", 0))
    assert '"size" (side of the grid including walls, 6 to 7)' in prompt
    assert 'layout must be "two_rooms" in every level' in prompt
    text = json.dumps({"rationale": "", "levels": [{**LEVEL, "size": 6, "scattered_lava": 1},
                                                    {**LEVEL, "name": "b", "size": 8, "scattered_lava": 1}]})
    result = parse_answer(text, fam, task(fam), k=2)
    assert [s.name for s in result.specs] == ["a"]
    assert "size: 8 is not one of 6, 7" in result.rejected[0].reason


def test_crafter_fields_are_enums_and_answers_are_validated():
    fam = make_family("crafter")
    schema = fam.schema(task(fam), 2, goals=2)
    world = schema["properties"]["worlds"]["items"]["properties"]
    assert world["biome"] == {"enum": ["natural", "grassland", "mountain", "beaches"]}
    assert world["coal"]["enum"][0] == "very_rare" and world["area"] == {"enum": [32, 48, 64]}
    assert world["inventory"]["properties"]["wood"] == {"enum": list(range(10))}
    assert world["inventory"]["properties"]["iron_pickaxe"] == {"enum": [0, 1]}
    assert len(schema["properties"]["goals"]["items"]["properties"]["events"]["items"]["enum"]) == 22
    good = fam.build(WORLD)
    assert isinstance(good, CrafterWorldSpec) and good.inventory == {"wood": 5}
    text = json.dumps({"rationale": "", "worlds": [
        {**WORLD, "biome": "desert"}, {**WORLD, "inventory": {"wood": 12}}, {**WORLD, "area": 40}]})
    result = parse_answer(text, fam, task(fam), k=3)
    reasons = [r.reason for r in result.rejected]
    assert not result.specs and len(reasons) == 3
    assert "biome" in reasons[0] and "0..9" in reasons[1] and "area: 40 is not one of 32, 48, 64" in reasons[2]
    prompt = render(fam.template, None, **fam.context(task(fam, "iron"), 2, None, "iron", 2))
    for words in ("collect_iron: needs a stone_pickaxe", "make_iron_pickaxe: uses 1 wood, 1 coal, 1 iron",
                  "very_rare, rare, default, common, very_common", "Also write 1 to 2 goals", "REQUEST: iron"):
        assert words in prompt


# -------------------------------------------------------------------------------------------- goals


def test_goals_are_parsed_against_the_family_events():
    fam = make_family("minigrid")
    text = json.dumps({"rationale": "", "levels": [LEVEL], "goals": [
        {"name": "unlock", "description": "", "events": ["picked_up_key", "opened_door"]},
        {"name": "fly", "description": "", "events": ["flew_away"]},
        {"name": "unlock", "description": "twice", "events": ["reached_goal"]},
    ]})
    result = parse_answer(text, fam, task(fam), k=1, n_goals=2)
    assert [g.name for g in result.goals] == ["unlock"]
    assert "flew_away not in this family's events" in result.rejected[0].reason
    assert "expected at most 2 goals, got 3" in result.errors
    missing = parse_answer(json.dumps({"rationale": "", "levels": [LEVEL]}), fam, task(fam), k=1, n_goals=1)
    assert missing.specs and 'a "goals" list with 1 goal' in missing.errors[0]


def test_goal_helpers_score_episodes_from_event_sets():
    unlock = Goal(name="unlock", events=["picked_up_key", "opened_door"])
    finish = Goal(name="finish", events=["reached_goal"])
    episodes = [{"picked_up_key", "opened_door", "reached_goal"}, {"picked_up_key"}, set(), ["opened_door",
                                                                                           "picked_up_key"]]
    assert goal_reached(unlock, episodes[0]) and not goal_reached(unlock, episodes[1])
    rates = goal_success([unlock, finish], episodes)
    assert rates["unlock"].mean == 0.5 and rates["finish"].mean == 0.25 and rates["unlock"].n == 4
    assert probe_skills([unlock, finish, Goal(name="again", events=["opened_door"])]) == [
        "picked_up_key", "opened_door", "reached_goal"]
    assert make_family("minigrid").events == family_for("MiniGrid-DoorKey-8x8-v0").events == MINIGRID_EVENTS
    assert "collect_diamond" in family_for("crafter").events and family_for("Pendulum-v1").events == ()
    env = make_env(MiniGridLevelSpec(size=5, keys=1, max_steps=40))
    try:
        events = episode_events(env, episodes=3, seed=1)
    finally:
        env.close()
    assert len(events) == 3 and all(e <= set(MINIGRID_EVENTS) for e in events)


# ---------------------------------------------------------------------------------- proposer & repair


def test_repair_round_shows_the_validation_error_and_uses_the_fixed_answer():
    """A test double stands in for the model here; the recorded-model repair path is in test_generate."""
    bad = json.dumps({"rationale": "r", "levels": [{**LEVEL, "layout": "room"}],
                      "goals": [{"name": "g", "description": "", "events": ["reached_goal"]}]})
    good = json.dumps({"rationale": "r", "levels": [LEVEL],
                       "goals": [{"name": "g", "description": "", "events": ["reached_goal"]}]})
    client = LLMClient(FakeListChatModel(responses=[bad, good]), backend="fake", use_cache=False)
    proposal = Proposer(client, k=1, family=make_family("minigrid"), goals=1).generate("a locked door")
    assert proposal.repaired and [c.template for c in proposal.llm_calls] == ["env_proposal.j2", "repair.j2"]
    assert [s.name for s in proposal.env_configs] == ["a"] and [g.name for g in proposal.goals] == ["g"]
    assert proposal.rejected == [] and proposal.errors == []
    repair_prompt = client.calls[1]
    assert repair_prompt.response == good


def test_prompts_dir_overrides_a_template_by_name(tmp_path):
    (tmp_path / "crafter_proposal.j2").write_text("Custom: {{ request }} ({{ k }} worlds)")
    client = LLMClient(FakeListChatModel(responses=["{}"]), backend="fake", use_cache=False)
    proposer = Proposer(client, k=2, family=make_family("crafter"), goals=1, prompts_dir=tmp_path)
    system, user = proposer.render_prompt(task(proposer.family, "caves"), None, "caves")
    assert user == "Custom: caves (2 worlds)" and "curriculum designer" in system


def test_prompt_examples_live_in_prompts_and_are_valid_specs():
    """The worked examples are prompt text (prompts/examples.json.j2) and must show what the verifier accepts."""
    from gymsmith.envs.prompt_data import examples
    from gymsmith.generator.reward_catalogue import compose_choice_model

    data = examples()
    for name in ("minigrid", "crafter"):
        compose_choice_model(make_family(name)).model_validate(data["reward_compose"][name])
    compose_choice_model(family_for("CartPole-v1")).model_validate(data["reward_compose"]["common"])


@pytest.mark.parametrize("target", [DEFAULT_TARGET, "MiniGrid-LavaCrossingS11N5-v0", "crafter", "CartPole-v1"])
def test_curriculum_prompt_shows_no_filled_in_answer(target):
    """Small models copied the worked example's rationale and levels into every answer (copy rate 1.00 in
    bench_llm): a curriculum prompt describes the answer's shape in words and shows no level of its own making,
    only the target and what the agent trained on."""
    family = family_for(target)
    proposer = Proposer(LLMClient(FakeListChatModel(responses=["{}"]), backend="fake"), family=family, k=3)
    _system, user = proposer.render_prompt(family.task(), None)
    assert "Example of the answer format" not in user
    assert '"rationale"' in user and family.items_key in user
    assert '"rationale": "' not in user


def test_mastered_notes_without_a_size_render():
    """Mastered chains have no "size" field (MultiRoom's archive run stopped on this): the notes still render."""
    family = family_for("MiniGrid-MultiRoom-N4-S5-v0")
    proposer = Proposer(LLMClient(FakeListChatModel(responses=["{}"]), backend="fake"), family=family, k=3)
    chain = family.build({"name": "c", "layout": "chain", "rooms": 2, "room_size": 5, "objective": {"type": "goal"}})
    feedback = Feedback(cycle=1, target_success=0.0, score=0.0)
    _system, user = proposer.render_prompt(family.task(), feedback,
                                           notes={"mastered": [chain.brief()], "threshold": 0.8})
    assert "already masters" in user and "bigger or harder than these" in user


def test_what_the_minigrid_grammar_can_write_the_validator_accepts_but_for_sizes():
    """Random answers drawn from the grammar itself: the only refusals left are the ones that depend on a number
    against another number (strips against the room size, a chain's locks against its rooms), which
    the validator names for the repair round."""
    import random

    family = family_for("MiniGrid-DoorKey-8x8-v0")
    shapes = family.schema(family.task(), 3, 0)["properties"]["levels"]["items"]["anyOf"]
    rng = random.Random(0)

    def draw(node: dict):
        if "anyOf" in node:
            return draw(rng.choice(node["anyOf"]))
        if node.get("type") == "object":
            return {key: draw(sub) for key, sub in node["properties"].items()}
        if node.get("type") == "boolean":
            return rng.random() < 0.5
        return rng.choice(node["enum"]) if "enum" in node else "x"

    refusals = set()
    for _ in range(600):
        try:
            family.build(draw(rng.choice(shapes)))
        except InvalidItem as exc:
            refusals.update(part.split(":")[-1].strip() for part in str(exc).split(";"))
    allowed = ("fits at most", "make it bigger", "locked door")
    assert refusals and all(any(a in r for a in allowed) for r in refusals), refusals
