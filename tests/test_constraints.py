"""A request's constraints: parsed and grounded in its words, narrowing the grammar, measured on built levels.

The answers here are typed-in test inputs for the parser and a test double for the flow's control logic (which
call comes when, what is repaired and rejected); the recorded real-model runs are in test_generate.py.
"""

from __future__ import annotations

import json

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from gymsmith.envs import make_family
from gymsmith.envs.crafter import CrafterWorldSpec
from gymsmith.envs.minigrid import MiniGridLevelSpec
from gymsmith.generator import constraints
from gymsmith.generator.generate import generate
from gymsmith.generator.llm import LLMClient
from gymsmith.schemas import Constraint

MINIGRID = make_family("minigrid")
REQUEST = "a big room full of lava with a narrow safe path to the goal, no doors or keys"


def _answer(*items: tuple[str, str, str]) -> str:
    return json.dumps({"constraints": [{"words": w, "quantity": q, "value": v} for w, q, v in items]})


def test_constraints_must_quote_the_request_and_use_the_family_vocabulary():
    text = _answer(("no doors", "doors", "0"), ("path to the goal", "objective", "goal"),
                   ("several rooms", "rooms", ">=2"),  # copied from an example, not in the request
                   ("lava", "lava_cells", "lots"), ("no doors", "doors", "1"))
    found, errors = constraints.parse(text, MINIGRID, REQUEST)
    assert [c.text() for c in found] == ["doors = 0", "objective = goal"]
    assert any('"several rooms" are not in the request' in e for e in errors)
    assert any("lava_cells cannot be 'lots'" in e for e in errors)
    assert "'dragons' is not a quantity" in constraints.parse(_answer(("lava", "dragons", "1")), MINIGRID,
                                                               REQUEST)[1][0]
    assert any("doors is listed twice" in e for e in errors)
    assert constraints.parse("no json", MINIGRID, REQUEST)[1][0].startswith("the answer is not valid JSON")


def test_a_negated_request_cannot_become_a_lower_bound():
    """What the default model wrote for the issue's request: "no doors or keys" as keys >= 1 and doors >= 1."""
    text = _answer(("full of lava", "lava_cells", ">=10"), ("no doors or keys", "doors", ">=1"), ("keys", "keys", "1"),
                   ("no doors or keys", "keys", ">=1"))
    found, errors = constraints.parse(text, MINIGRID, REQUEST)
    assert [c.text() for c in found] == ["lava_cells >= 10", "keys = 1"]  # "keys" alone negates nothing
    assert any('"no doors or keys" ask for none, but doors >=1 excludes 0; use "0"' in e for e in errors)
    assert constraints.parse(_answer(("no doors", "doors", "0"), ("no keys", "keys", "0")), MINIGRID,
                             REQUEST)[1] == []


def test_none_needs_words_that_ask_for_none():
    """And the other way round (C7 of bench_generate): "trees are very rare" came back as tree = none, which no
    Crafter world meets, so every world was rejected. Words of absence ("empty", "calm") ask for none too."""
    crafter = make_family("crafter")
    request = "a world where trees are very rare and no cows, a calm place"
    found, errors = constraints.parse(_answer(("trees are very rare", "tree", "none"), ("no cows", "cows", "none"),
                                              ("a calm place", "hostiles", "0")), crafter, request)
    assert [c.text() for c in found] == ["cows = none", "hostiles = 0"]
    assert errors == ['constraints[0]: the words "trees are very rare" do not ask for none, but tree none allows '
                      'only none; use the value they ask for']
    assert [c.text() for c in constraints.parse(_answer(("trees are very rare", "tree", "less")), crafter,
                                                request)[0]] == ["tree = less"]
    found, errors = constraints.parse(_answer(("lava", "lava_cells", "0")), MINIGRID, REQUEST)
    assert not found and "allows only none" in errors[0]


def test_a_constraint_must_be_about_what_its_words_say():
    """What the default model wrote in bench_generate (M7, M9, C1): a quantity or an objective the quoted words
    never speak of. Each is dropped with the reason (the repair round sees it); what the words do say is kept."""
    found, errors = constraints.parse(_answer(("pick up the blue ball", "keys_in_boxes", ">=1")), MINIGRID,
                                      "pick up the blue ball")
    assert not found and "do not speak of keys_in_boxes" in errors[0]
    found, errors = constraints.parse(_answer(("go to the green door", "objective", "goal")), MINIGRID,
                                      "go to the green door")
    assert not found and "describe objective goto, not goal" in errors[0]
    request = "a chain of four rooms, walk to the goal square past the blue keys"
    kept = _answer(("a chain of four rooms", "rooms", ">=4"), ("walk to the goal square", "objective", "goal"),
                   ("blue keys", "keys", ">=1"))
    assert [c.text() for c in constraints.parse(kept, MINIGRID, request)[0]] == [
        "rooms >= 4", "objective = goal", "keys >= 1"]
    crafter = make_family("crafter")
    found, errors = constraints.parse(_answer(("rich in iron", "start_iron", ">=1")), crafter, "a world rich in iron")
    assert not found and "the request never speaks of start_iron" in errors[0]
    request = "the agent starts with a wood pickaxe and 5 wood"
    assert len(constraints.parse(_answer(("5 wood", "start_wood", ">=5")), crafter, request)[0]) == 1


def test_a_count_the_request_states_wins_over_the_one_the_model_wrote():
    """bench_generate M4: "two rivers of lava" came back as lava_strips >= 1, and the levels had one river."""
    def read(request: str, *items: tuple[str, str, str]) -> list[str]:
        found, errors = constraints.parse(_answer(*items), MINIGRID, request)
        assert errors == []
        return [c.text() for c in found]

    assert read("two rivers of lava to cross", ("two rivers of lava", "lava_strips", ">=1")) == ["lava_strips >= 2"]
    assert read("cross three walls", ("cross three walls", "wall_strips", "1")) == ["wall_strips = 3"]
    assert read("one room with 3 balls", ("one room with 3 balls", "balls", ">=1"),
                ("one room with 3 balls", "rooms", "2")) == ["balls >= 3", "rooms = 1"]  # each its own number
    assert read("at most two keys", ("at most two keys", "keys", "<=3")) == ["keys <= 3"]  # an upper bound stays
    assert read("a 7x7 room", ("a 7x7 room", "size", "7")) == ["size = 7"]  # no count word: as written
    assert read("two keys or three keys", ("two keys or three keys", "keys", ">=1")) == ["keys >= 1"]  # ambiguous


def test_an_objective_the_model_left_out_is_read_from_the_request_when_its_words_decide_it():
    """bench_generate M2, M7-M10: the default model listed no objective (or one the about-check dropped), and
    every level trained the goal square. The request's words name the objective; a tie names none."""
    def read(request: str, *found: Constraint) -> list[str]:
        return [c.text() for c in constraints.from_words(MINIGRID, request, list(found)) if c.quantity == "objective"
                or c.quantity not in ("target", "target_color")]

    assert read("pick up the blue ball") == ["objective = pickup"]
    assert read("go to the purple box") == ["objective = goto"]
    assert read("put the red ball next to the green key") == ["objective = put_near"]
    assert read("an empty room: the agent just walks to the green goal square") == ["objective = goal"]  # 2 to 1
    assert read("get to the goal") == []  # a tie
    assert read("two small rooms with a locked door") == ["rooms >= 2", "doors >= 1"]  # no objective words
    assert read("pick up the key", Constraint.parse("objective", "goal", "the key")) == []  # the model's stands
    open_doors = Constraint.parse("open_doors", ">=1", "open doors")
    assert read("rooms joined by open doors", open_doors) == []  # its words belong to open_doors
    assert constraints.from_words(make_family("crafter"), "a world crawling with zombies", []) == []


def test_a_count_the_model_left_out_is_read_from_the_request_when_its_words_name_one_quantity():
    """bench_generate M5: "cross three walls, each with a single opening" came back with no wall_strips
    constraint, and the levels had one wall. A number right before the words of one quantity states its count;
    words that speak of two quantities alike ("a wall of lava") or two counts for one quantity state nothing."""
    def read(request: str, *found: Constraint) -> list[str]:
        return [c.text() for c in constraints.from_words(MINIGRID, request, list(found)) if c.quantity != "objective"]

    assert read("cross three walls, each with a single opening") == ["wall_strips >= 3"]
    assert read("two rivers of lava to cross") == ["lava_strips >= 2"]  # rivers and lava: strips 2, cells 1
    assert read("a chain of 4 rooms") == ["rooms >= 4"]
    # walls and lava alike: only a quantity whose every word is there is named (lava cells, not strips of wall)
    assert read("a room split by a single wall of lava") == ["lava_cells >= 1"]
    assert read("a single opening") == []  # strips and open doors alike, none whole
    assert read("no doors or keys") == ["keys = 0", "doors = 0"]  # a negation counts 0, for each noun named
    assert read("at most 3 balls") == ["balls <= 3"] and read("no more than two keys") == []  # "than": the model's
    assert constraints.from_words(make_family("crafter"), "a world with 5 wood", []) == []  # not a starting item
    # a square side is the size (bench_generate M15: "a tiny 5x5 room" came back without it, as 6x6 rooms)
    assert read("a tiny 5x5 room with nothing in it but the goal") == ["size = 5"]
    assert [c.text() for c in constraints.from_words(make_family("crafter"), "a world 32 by 32 cells", [])] == [
        "area = 32"]
    assert read("a 7x9 room") == [] and read("a 30x30 room") == []  # not square; not a size the language has
    crafter = make_family("crafter")
    assert [c.text() for c in constraints.from_words(crafter, "the agent starts with a wood pickaxe and 5 wood",
                                                     [])] == ["start_wood >= 5", "start_wood_pickaxe >= 1"]
    # an article counts one (bench_generate C8: "starts with a stone pickaxe" came back without it), where no
    # number counts the thing, not after a negation, and not for the level itself or what it lacks
    assert read("a chain of four rooms, a key in the first") == ["rooms >= 4", "keys >= 1"]
    assert read("without a door, reach the goal in a room with a box") == ["doors = 0", "boxes >= 1"]
    assert read("a room without lava") == ["lava_cells = 0"] and read("a big room, a 5x5 room") == ["size = 5"]
    assert constraints.from_words(crafter, "a calm world", []) == []
    assert read("two keys or three keys") == []  # two counts
    assert read("three walls", Constraint.parse("wall_strips", "1", "three walls")) == []  # the model's stands
    [walls] = constraints.from_words(MINIGRID, "cross three walls, each with a single opening", [])[:1]
    assert walls.words == "three walls" and set(walls.words.split()) <= {"cross", "three", "walls"}


def test_what_the_objective_is_about_is_read_from_the_words_after_its_verb():
    """An unseen request, "grab the yellow key in a room crossed by two strips of lava", came back as levels where
    the agent picks up a blue ball: the objective's object and colour were nobody's constraint. They are read from
    the first object word after the objective's verb, and narrow the grammar like any constraint."""
    def read(request: str, *found: Constraint) -> list[str]:
        return [c.text() for c in constraints.from_words(MINIGRID, request, list(found))
                if c.quantity in ("target", "target_color")]

    assert read("grab the yellow key in a room crossed by two strips of lava") == ["target = key",
                                                                                  "target_color = yellow"]
    assert read("go to the purple box") == ["target = box", "target_color = purple"]
    assert read("put the yellow ball next to the blue box") == ["target = ball", "target_color = yellow"]
    assert read("fetch a key") == ["target = key"]  # no colour word: the colour stays free
    assert read("take the key, unlock the door and pick up the ball") == []  # two verbs, two objects
    assert read("a ball blocks the locked door; reach the goal") == []  # a goal square is about nothing
    assert read("pick up the red ball", Constraint.parse("target", "box", "ball")) == []  # the model's stands
    family = MINIGRID.narrow(constraints.from_words(MINIGRID, "grab the yellow key", []))
    assert family.allowed()["target"] == ["key"] and family.allowed()["target_color"] == ["yellow"]
    assert family.allowed()["objective"] == ["pickup"]


def test_an_object_the_model_misread_is_replaced_by_the_one_the_verb_names():
    """bench_generate M11: "put the yellow ball next to the blue box" was listed as a box to move, so its levels
    trained moving the box. The verb's object wins; a colour the model gave goes with the object it belongs to."""
    put = Constraint.parse("objective", "put_near", "put")

    def read(request: str, *found: Constraint) -> list[str]:
        return sorted(c.text() for c in constraints.as_read(MINIGRID, request, [put, *found]))

    request = "put the yellow ball next to the blue box"
    assert read(request, Constraint.parse("target", "box", "blue box"), Constraint.parse("target_color", "blue",
                                                                                         "blue box")) == [
        "objective = put_near", "target = ball", "target_color = yellow"]
    assert read("put the ball next to the blue box", Constraint.parse("target", "box", "blue box"),
                Constraint.parse("target_color", "blue", "blue box")) == ["objective = put_near", "target = ball"]
    assert read("put the ball next to the box", Constraint.parse("target", "box", "box"),
                Constraint.parse("target_color", "red", "the ball")) == [
        "objective = put_near", "target = ball", "target_color = red"]
    same = [Constraint.parse("target", "ball", "yellow ball")]
    assert read(request, *same) == ["objective = put_near", "target = ball"]  # agreed: the model's stands
    # as the model wrote it: no objective listed (read from "put" afterwards), the box with the ball's colour
    answer = _answer(("blue box", "target", "box"), ("yellow", "target_color", "yellow"))
    client = LLMClient(FakeListChatModel(responses=[answer]), backend="fake", use_cache=False)
    assert sorted(c.text() for c in constraints.ask(client, MINIGRID, request)[0]) == [
        "objective = put_near", "target = ball", "target_color = yellow"]
    box = Constraint.parse("target", "box", "box")
    assert read("put the ball near the key, then place the box by the door", box) == [
        "objective = put_near", "target = box"]  # two verbs' objects: nothing read, nothing replaced


def test_an_objective_must_be_quoted_with_its_own_words():
    """bench_generate M14: "a ball blocks the locked door: move it, unlock the door and reach the goal" was listed
    as ``objective = pickup`` quoting "move it", and every level trained a pickup. A value with words of its own
    must be quoted with them; the dropped objective is then read from the request (goal: reach, goal)."""
    request = "a ball blocks the locked door: move it, unlock the door and reach the goal"
    found, errors = constraints.parse(_answer(("move it", "objective", "pickup")), MINIGRID, request)
    assert found == [] and "do not speak of objective pickup" in errors[0]
    assert [c.text() for c in constraints.from_words(MINIGRID, request, found)] == ["balls >= 1", "objective = goal"]
    kept, _ = constraints.parse(_answer(("pick up the key", "objective", "pickup")), MINIGRID, "pick up the key")
    assert [c.text() for c in kept] == ["objective = pickup"]


def test_generate_narrows_the_levels_to_the_objective_the_request_names(tmp_path):
    level = {"name": "ball", "layout": "room", "size": 6, "lava_strips": 0, "wall_strips": 0, "wall_doors": 0,
             "scattered_lava": 0, "balls": 0, "boxes": 0, "keys": 0, "place": "far", "start": "corner",
             "objective": {"type": "pickup", "target": "ball", "color": "blue"}}
    answers = [_answer(), json.dumps({"rationale": "r", "levels": [level]})]
    client = LLMClient(FakeListChatModel(responses=answers), backend="fake", use_cache=False)
    result = generate("pick up the blue ball", MINIGRID, client, 1, tmp_path, goals=0)
    index = json.loads((tmp_path / "index.json").read_text())
    assert [c["text"] for c in index["constraints"]] == ["objective = pickup", "target = ball", "target_color = blue"]
    assert index["narrowed"]["objective"] == ["pickup"] and index["narrowed"]["target_color"] == ["blue"]
    measured = {c["quantity"]: set(c["measured"]) for c in index["accepted"][0]["constraints"]}
    assert measured == {"objective": {"pickup"}, "target": {"ball"}, "target_color": {"blue"}}  # on built levels
    assert len(result.accepted) == 1 and index["accepted"][0]["constraints_met"]


def test_comparisons_hold_on_numbers_and_categories():
    at_least = Constraint.parse("lava_strips", ">=2")
    assert at_least.holds(2) and at_least.holds(5) and not at_least.holds(1) and not at_least.holds(None)
    assert Constraint.parse("doors", "0").holds(0) and not Constraint.parse("doors", "0").holds(1)
    assert Constraint.parse("balls", "<=1").holds(1) and not Constraint.parse("balls", "<=1").holds(2)
    assert Constraint.parse("objective", "pickup").holds("pickup") and not Constraint.parse("iron", "more").holds(
        "same")
    assert Constraint.parse("size", "7").text() == "size = 7"
    # Crafter measures its area as a category word: "a small world, 32 by 32 cells" failed on every world before
    assert Constraint.parse("area", "32").holds("32") and not Constraint.parse("area", "32").holds("48")


def _shapes(family) -> dict:
    """Layout -> the properties of its first grammar shape (a layout has one shape per case, `layout_cases`)."""
    levels = family.schema(family.task(), 2, 0)["properties"]["levels"]["items"]["anyOf"]
    shapes: dict = {}
    for s in levels:
        shapes.setdefault(s["properties"]["layout"]["enum"][0], s["properties"])
    return shapes


def test_constraints_narrow_the_grammar_of_the_levels():
    none = MINIGRID.narrow([Constraint.parse("doors", "0"), Constraint.parse("keys", "0")])
    for props in _shapes(none).values():
        for field, only in (("connect", ["gap"]), ("locked_doors", [0]), ("wall_doors", [0]), ("keys", [0])):
            assert field not in props or props[field] == {"enum": only}, (field, props.get(field))
    strips = MINIGRID.narrow([Constraint.parse("lava_strips", ">=2"), Constraint.parse("objective", "pickup")])
    shapes = _shapes(strips)
    assert list(shapes) == ["room"] and shapes["room"]["lava_strips"] == {"enum": list(range(2, 9))}
    assert shapes["room"]["wall_strips"] == {"enum": [0]}
    assert [o["properties"]["type"]["enum"] for o in shapes["room"]["objective"]["anyOf"]] == [["pickup"]]
    rooms = MINIGRID.narrow([Constraint.parse("rooms", ">=3")])
    assert set(_shapes(rooms)) == {"chain", "grid", "corridor"} and _shapes(rooms)["chain"]["rooms"] == {
        "enum": [3, 4, 5, 6]}
    assert MINIGRID.narrow([]).allowed() == {}  # nothing asked, nothing narrowed
    crafter = make_family("crafter").narrow([Constraint.parse("hostiles", "0"), Constraint.parse("iron", "more"),
                                             Constraint.parse("area", "32")])
    assert crafter.allowed()["peaceful"] == [True] and crafter.allowed()["iron"] == ["common", "very_common"]
    assert crafter.allowed()["area"] == [32]


def test_of_two_constraints_no_level_meets_together_the_one_its_words_state_is_kept():
    """The default model read "a room crossed by two strips of lava" as two rooms besides the strips: no level of
    the language holds both, so every level was rejected. The count the words state wins; the other is left out
    with the reason, and the grammar is narrowed by the rest."""
    asked = [Constraint.parse("objective", "pickup", "grab"), Constraint.parse("rooms", ">=2", "a room"),
             Constraint.parse("lava_strips", ">=2", "two strips of lava")]
    kept, errors = constraints.consistent(MINIGRID, asked)
    assert [c.quantity for c in kept] == ["objective", "lava_strips"]
    assert errors == ['"a room" read as rooms >= 2 contradicts lava_strips >= 2 (no layout of a level meets them '
                      'all); left out']
    assert list(_shapes(MINIGRID.narrow(kept))) == ["room"]
    # both stated: the first is kept ("three rooms" and lava strips: the language has strips in one room only)
    kept, errors = constraints.consistent(MINIGRID, [Constraint.parse("rooms", ">=3", "three rooms"),
                                                     Constraint.parse("lava_strips", ">=1", "one strip of lava")])
    assert [c.quantity for c in kept] == ["rooms"] and "lava_strips >= 1 contradicts rooms >= 3" in errors[0]
    # "no doors" and a locked door: the negation states its value, the model's reading of "the door" does not
    kept, _ = constraints.consistent(MINIGRID, [Constraint.parse("locked_doors", ">=1", "the door"),
                                                Constraint.parse("doors", "0", "no doors")])
    assert [c.text() for c in kept] == ["doors = 0"]
    # what no level meets even alone is the user's ask, kept for the measurement to report
    too_big = Constraint.parse("size", "99", "a 99 room")
    assert constraints.consistent(MINIGRID, [too_big]) == ([too_big], [])
    assert constraints.consistent(make_family("crafter"), asked[:1]) == (asked[:1], [])


def test_crafter_grammar_is_narrowed_by_what_worlds_measure_not_by_knob_names():
    """"Coal everywhere" once narrowed only the coal knob: a grassland world with common coal still measured *less*
    coal than the original (bench_generate C8). Every world the narrowed grammar can write now meets it."""
    from gymsmith.envs.crafter.effects import effects, measure_effects

    coal = make_family("crafter").narrow([Constraint.parse("coal", "more")]).allowed()
    assert coal["biome"] == ["natural", "mountain"] and coal["coal"] == ["common", "very_common"]
    crafter = make_family("crafter")
    for biome in coal["biome"]:
        for rarity in coal["coal"]:
            assert crafter.measure(CrafterWorldSpec(biome=biome, coal=rarity), 0)["coal"] == "more", (biome, rarity)
    assert make_family("crafter").narrow([Constraint.parse("water", "more")]).allowed()["biome"] == ["beaches"]
    # the shipped table is what the generator and the measure give today (re-measure: python -m ...effects)
    fresh = measure_effects(seeds=(0,), biomes=("mountain",), rarities=("rare",))["worlds"]
    assert all(row[0] == effects()["mountain"]["rare"][q][0] for q, row in fresh["mountain"]["rare"].items())


def test_a_requested_starting_inventory_is_required_by_the_grammar():
    """"Starts with a wood pickaxe and 5 wood": the inventory's items were optional in the grammar, and the 0.5B
    model left them out of every world, before and after its revision (bench_generate C4)."""
    asked = [Constraint.parse("start_wood_pickaxe", ">=1"), Constraint.parse("start_wood", "5")]
    crafter = make_family("crafter").narrow(asked)
    world = crafter.schema(crafter.task(), 1, 0)["properties"]["worlds"]["items"]
    inventory = world["properties"]["inventory"]
    assert inventory["required"] == ["wood", "wood_pickaxe"]
    assert inventory["properties"]["wood"] == {"enum": [5]} and inventory["properties"]["wood_pickaxe"] == {"enum": [1]}
    written = CrafterWorldSpec(inventory={"wood": 5, "wood_pickaxe": 1})  # the only counts the grammar allows
    assert all(c.met for c in constraints.check(crafter, written, asked))


def test_minigrid_measures_the_built_level_not_the_spec():
    spec = MiniGridLevelSpec(layout="room", size=9, lava_strips=2, scattered_lava=1, balls=1)
    row = MINIGRID.measure(spec, 0)
    assert row["lava_strips"] == 2 and row["lava_cells"] >= 2 * 7 - 2 + 1 and row["doors"] == 0
    assert row["balls"] == 1 and row["objective"] == "goal" and row["size"] == 9 and row["rooms"] == 1
    doorkey = MINIGRID.measure(MiniGridLevelSpec(layout="two_rooms", size=6, locked_doors=1, key_in_box=True), 1)
    assert (doorkey["rooms"], doorkey["locked_doors"], doorkey["keys"], doorkey["keys_in_boxes"]) == (2, 1, 1, 1)


def test_crafter_measures_worlds_against_the_original_at_the_same_seed():
    crafter = make_family("crafter")
    row = crafter.measure(CrafterWorldSpec(biome="mountain", iron="very_common", peaceful=True, area=48,
                                           inventory={"wood": 5}), 0)
    assert row["iron"] == "more" and row["hostiles"] == 0 and row["area"] == "48" and row["start_wood"] == 5
    assert crafter.measure(CrafterWorldSpec(tree="very_rare"), 0)["tree"] == "less"
    assert crafter.measure(CrafterWorldSpec(), 0)["iron"] == "same"


def test_generate_checks_constraints_on_sampled_levels_and_repairs_once(tmp_path):
    answers = [
        _answer(("no doors", "doors", "0"), ("full of lava", "lava_cells", ">=10"),
                ("to the goal", "objective", "goal")),
        json.dumps({"rationale": "r", "levels": [
            {"name": "river", "layout": "room", "size": 11, "lava_strips": 3, "wall_strips": 0, "wall_doors": 0,
             "scattered_lava": 0, "balls": 0, "boxes": 0, "keys": 0, "place": "far", "start": "corner",
             "objective": {"type": "goal"}},
            {"name": "sparse", "layout": "room", "size": 9, "lava_strips": 0, "wall_strips": 0, "wall_doors": 0,
             "scattered_lava": 3, "balls": 0, "boxes": 0, "keys": 0, "place": "far", "start": "corner",
             "objective": {"type": "goal"}}]}),
        json.dumps({"rationale": "r", "levels": [
            {"name": "sparse", "layout": "room", "size": 9, "lava_strips": 2, "wall_strips": 0, "wall_doors": 0,
             "scattered_lava": 0, "balls": 0, "boxes": 0, "keys": 0, "place": "far", "start": "corner",
             "objective": {"type": "goal"}}]}),
    ]
    client = LLMClient(FakeListChatModel(responses=answers), backend="fake", use_cache=False)
    generate(REQUEST, MINIGRID, client, 2, tmp_path, goals=0)
    assert [c.template for c in client.calls] == ["constraints.j2", "env_proposal.j2", "revise.j2"]
    levels_prompt, repair_prompt = client.calls[1], client.calls[2]
    assert levels_prompt.response == answers[1] and repair_prompt.response == answers[2]
    index = json.loads((tmp_path / "index.json").read_text())
    assert [c["text"] for c in index["constraints"]] == ["doors = 0", "lava_cells >= 10", "objective = goal",
                                                        "keys = 0"]  # "no doors or keys": the model missed keys
    assert index["narrowed"]["connect"] == ["gap"] and index["narrowed"]["objective"] == ["goal"]
    assert [(e["name"], e["constraints_met"], e["revised"]) for e in index["accepted"]] == [
        ("river", True, False), ("sparse", True, True)]
    measured = index["accepted"][0]["constraints"][1]
    assert measured["text"] == "lava_cells >= 10" and min(measured["measured"]) >= 10 and measured["met"]
    missed = [r for r in index["rejected"] if r["reason"].startswith("[constraint]")]
    assert len(missed) == 1 and "lava_cells is 3 (asked >= 10) (sent back once)" in missed[0]["reason"]
    assert index["revision"] and [c["template"] for c in index["llm_calls"]] == [
        "constraints.j2", "env_proposal.j2", "revise.j2"]


def test_a_level_still_missing_after_the_repair_is_rejected_with_the_violation(tmp_path):
    level = {"name": "dry", "layout": "room", "size": 7, "lava_strips": 0, "wall_strips": 0, "wall_doors": 0,
             "scattered_lava": 2, "balls": 0, "boxes": 0, "keys": 0, "place": "far", "start": "corner",
             "objective": {"type": "goal"}}
    answers = [_answer(("full of lava", "lava_cells", ">=10")),
               json.dumps({"rationale": "r", "levels": [level]}), json.dumps({"rationale": "r", "levels": [level]})]
    client = LLMClient(FakeListChatModel(responses=answers), backend="fake", use_cache=False)
    result = generate(REQUEST, MINIGRID, client, 1, tmp_path, goals=0)
    reasons = [r.reason for r in result.rejected]
    assert reasons == ["[constraint] lava_cells is 2 (asked >= 10) (sent back once)",
                       "[constraint] lava_cells is 2 (asked >= 10) (after one repair)"]
    # the level placed instead is the nearest that meets it: one knob moved, measured on the built levels
    [placed] = result.accepted
    assert placed["edited_from"] == "dry" and placed["constraints_met"]
    moved = {k for k, v in placed["spec"].items() if k != "name" and v != MINIGRID.build(level).model_dump()[k]}
    assert len(moved) == 1 and min(placed["constraints"][0]["measured"]) >= 10

    # an objective no knob of the level changes: nothing is near enough, and the level stays rejected
    answers = [_answer(("pick up", "objective", "pickup")),
               json.dumps({"rationale": "r", "levels": [level]}), json.dumps({"rationale": "r", "levels": [level]})]
    client = LLMClient(FakeListChatModel(responses=answers), backend="fake", use_cache=False)
    result = generate("pick up a ball", MINIGRID, client, 1, tmp_path / "pickup", goals=0)
    assert result.accepted == [] and all("objective" in r.reason for r in result.rejected)


@pytest.mark.parametrize("flag", [False])
def test_without_constraints_generate_makes_no_constraint_call(tmp_path, flag):
    level = {"name": "a", "layout": "room", "size": 6, "lava_strips": 0, "wall_strips": 0, "wall_doors": 0,
             "scattered_lava": 0, "balls": 0, "boxes": 0, "keys": 0, "place": "far", "start": "corner",
             "objective": {"type": "goal"}}
    client = LLMClient(FakeListChatModel(responses=[json.dumps({"rationale": "r", "levels": [level]})]),
                       backend="fake", use_cache=False)
    result = generate("x", MINIGRID, client, 1, tmp_path, goals=0, check_constraints=flag)
    assert [c.template for c in client.calls] == ["env_proposal.j2"] and len(result.accepted) == 1
    assert json.loads((tmp_path / "index.json").read_text())["constraints"] == []


class _Recording(FakeListChatModel):
    """The test double, keeping the prompts it was sent."""

    prompts: list[str] = []

    def _call(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[no-untyped-def]
        self.prompts.append(str(messages[-1].content))
        return super()._call(messages, stop, run_manager, **kwargs)


def test_duplicates_and_unsolvable_levels_get_the_revision_round_too(tmp_path):
    """The 0.5B model often wrote the same level twice or crowded a small room until no placement was left
    (bench_generate): each such level is sent back once with its problem named, like a missed constraint."""
    room = {"name": "a", "layout": "room", "size": 6, "lava_strips": 0, "wall_strips": 0, "wall_doors": 0,
            "scattered_lava": 0, "balls": 0, "boxes": 0, "keys": 0, "place": "far", "start": "corner",
            "objective": {"type": "goal"}}
    crowded = {**room, "name": "crowded", "size": 5, "balls": 5, "boxes": 5}
    answers = [
        json.dumps({"rationale": "r", "levels": [room, {**room, "name": "b"}, crowded]}),
        json.dumps({"rationale": "r", "levels": [{**room, "name": "b", "size": 9}, {**crowded, "size": 12}]}),
    ]
    model = _Recording(responses=answers)
    client = LLMClient(model, backend="fake", use_cache=False)
    result = generate("rooms to walk to the goal", MINIGRID, client, 3, tmp_path, goals=0, check_constraints=False)
    assert [c.template for c in client.calls] == ["env_proposal.j2", "revise.j2"]
    revision_prompt = model.prompts[1]
    assert "[duplicate] same level as 'a'" in revision_prompt and "[solvability]" in revision_prompt
    reasons = [r.reason for r in result.rejected]
    assert reasons[0] == "[duplicate] same level as 'a' (sent back once)"
    assert reasons[1].startswith("[solvability]") and reasons[1].endswith("(sent back once)")
    index = json.loads((tmp_path / "index.json").read_text())
    assert [(e["name"], e["revised"]) for e in index["accepted"]] == [("a", False), ("b", True), ("crowded", True)]


def test_a_level_repeated_even_after_the_revision_is_replaced_by_a_neighbour_that_passes(tmp_path):
    """bench_generate's 0.5B model answered "an empty room" with one room twice, and again when told so: the
    family's neighbours of the repeated level (an easier version, or a one-knob edit) are judged like any level,
    constraints included, and the first that passes fills the place."""
    room = {"name": "a", "layout": "room", "size": 7, "lava_strips": 0, "wall_strips": 0, "wall_doors": 0,
            "scattered_lava": 0, "balls": 0, "boxes": 0, "keys": 0, "place": "far", "start": "corner",
            "objective": {"type": "goal"}}
    answers = [json.dumps({"rationale": "r", "levels": [room, {**room, "name": "b"}]}),
               json.dumps({"rationale": "r", "levels": [{**room, "name": "c"}]})]
    client = LLMClient(_Recording(responses=answers), backend="fake", use_cache=False)
    result = generate("an empty room to walk to the goal", MINIGRID, client, 2, tmp_path, goals=0,
                      check_constraints=False)
    assert [c.template for c in client.calls] == ["env_proposal.j2", "revise.j2"]  # no more calls
    first, second = result.accepted
    assert first["name"] == "a" and second["edited_from"] in ("c", "b") and second["revised"]
    spec = MiniGridLevelSpec.model_validate(second["spec"])
    assert spec.layout == "room" and spec.objective == "goal" and spec.used() != MiniGridLevelSpec(
        **{k: v for k, v in room.items() if k != "objective"}).used()
    index = json.loads((tmp_path / "index.json").read_text())
    assert index["accepted"][1]["edited_from"] == second["edited_from"]
