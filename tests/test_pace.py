"""Pacing an LLM curriculum: levels measured by the family's solver, too-hard ones sent back once, then rejected.

The answers are typed-in test inputs for the control logic (which call comes when, what is revised and
rejected); the recorded real-model runs that go through it are in test_loop.py.
"""

from __future__ import annotations

import json

from langchain_core.language_models.fake_chat_models import FakeListChatModel

from gymsmith.config import LLMCurriculumSettings, PaceSettings
from gymsmith.curricula.llm import LLMCurriculum
from gymsmith.curricula.pace import missing_skills, step_limit
from gymsmith.envs import family_for
from gymsmith.envs.minigrid import MiniGridLevelSpec
from gymsmith.generator.llm import LLMClient
from gymsmith.generator.proposer import Proposer
from gymsmith.schemas import Feedback

DOORKEY = family_for("MiniGrid-DoorKey-8x8-v0")
LEVEL = {"layout": "two_rooms", "connect": "gap", "locked_doors": 1, "door_color": "yellow", "key_in_box": False,
         "blocked": False, "scattered_lava": 0, "balls": 0, "boxes": 0, "keys": 0, "place": "far",
         "start": "first_room", "objective": {"type": "goal"}}


class _Recording(FakeListChatModel):
    prompts: list[str] = []

    def _call(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[no-untyped-def]
        self.prompts.append(str(messages[-1].content))
        return super()._call(messages, stop, run_manager, **kwargs)


def _level(name: str, size: int) -> dict:
    return {**LEVEL, "name": name, "size": size}


def test_the_solver_measures_what_a_level_asks_of_the_agent():
    """A spec knob changes the measured steps: bigger locked-door rooms take the expert longer, and the target
    (DoorKey-8x8, 19 steps on seeds 0-3) sits between its 5x5 and 16x16 versions."""
    steps = [DOORKEY.solution_steps(MiniGridLevelSpec(name="x", layout="two_rooms", size=n, locked_doors=1), range(4))
             for n in (5, 8, 12, 16)]
    assert steps == sorted(steps) and steps[0] < steps[-1] / 3
    target = DOORKEY.solution_steps(None, range(4))
    assert steps[0] < target < steps[-1]
    assert family_for("crafter").solution_steps(None, range(2)) is None  # no solver: Crafter is not paced
    crowded = MiniGridLevelSpec(name="crowded", layout="room", size=5, balls=5, boxes=5, keys=4)
    assert DOORKEY.solution_steps(crowded, range(2)) == float("inf")  # cannot be built: never easy enough


def test_the_allowance_grows_with_target_success_and_ends_at_until():
    pace = PaceSettings(until=0.5, start=0.5)
    limit, target, success = step_limit(DOORKEY, None, pace)
    assert success == 0.0 and limit == target * 0.5
    limit, _, _ = step_limit(DOORKEY, Feedback(cycle=0, target_success=0.3), pace)
    assert abs(limit - target * 0.8) < 1e-9
    assert step_limit(DOORKEY, Feedback(cycle=0, target_success=0.5), pace) is None
    assert step_limit(family_for("crafter"), None, pace) is None


def _curriculum(answers: list[str], k: int = 2) -> tuple[LLMCurriculum, _Recording, LLMClient]:
    model = _Recording(responses=answers)
    client = LLMClient(model, backend="fake", use_cache=False)
    proposer = Proposer(client, family=DOORKEY, k=k)
    return LLMCurriculum(DOORKEY, DOORKEY.task(), proposer, settings=LLMCurriculumSettings()), model, client


def test_a_level_too_hard_for_the_agent_trains_as_its_own_easier_version():
    """The LLM's choice of level (layout, locked door, objective) is kept, its size fitted to the agent: no call.
    The ladder's small rungs drop the lock; the hardest version that fits and still has it trains."""
    first = json.dumps({"rationale": "r", "levels": [{**_level("small", 5), "locked_doors": 0}, _level("huge", 16)]})
    strategy, _, client = _curriculum([first])
    strategy.pace = PaceSettings(cover_skills=True)
    decision = strategy.decide([Feedback(cycle=0, target_success=0.05)])
    assert [c.template for c in client.calls] == ["env_proposal.j2"]
    small, fitted = [e.source for e in decision.mixture.entries[1:]]
    assert small.name == "small" and fitted.name.startswith("huge-")
    assert (fitted.layout, fitted.objective, fitted.locked_doors) == ("two_rooms", "goal", 1) and fitted.size < 16
    limit = step_limit(DOORKEY, Feedback(cycle=0, target_success=0.05), PaceSettings())[0]
    assert DOORKEY.solution_steps(fitted, range(4)) <= limit
    (rejected,) = decision.artifacts.rejected
    assert rejected.spec["name"] == "huge" and rejected.reason.startswith("[too hard] an expert needs")
    assert rejected.reason.endswith(f"(trained as its easier version {fitted.name!r})")


def test_two_levels_fitted_to_the_same_easier_version_train_it_once_without_a_call():
    """What Qwen2.5-Coder-1.5B wrote in the demo: three rooms of one shape, each a little too big."""
    first = json.dumps({"rationale": "r", "levels": [_level("a", 16), _level("b", 15), _level("c", 14)]})
    strategy, _, client = _curriculum([first], k=3)
    decision = strategy.decide([Feedback(cycle=0, target_success=0.0)])
    assert [c.template for c in client.calls] == ["env_proposal.j2"]
    trained = [e.source for e in decision.mixture.entries[1:]]
    assert len({DOORKEY.structure(s) for s in trained}) == len(trained) >= 1
    notes = [r.reason.rsplit("(", 1)[1] for r in decision.artifacts.rejected]
    assert len(notes) == 3 and notes.count("its easier version that fits is already trained)") == 3 - len(trained)


def test_without_an_easier_version_the_level_is_sent_back_once_then_rejected(monkeypatch):
    monkeypatch.setattr(type(DOORKEY), "easier", lambda self, spec: [])
    first = json.dumps({"rationale": "r", "levels": [_level("small", 5), _level("huge", 16)]})
    revised = json.dumps({"rationale": "r", "levels": [{**_level("smaller", 5), "locked_doors": 0}]})
    strategy, model, client = _curriculum([first, revised])
    decision = strategy.decide([Feedback(cycle=0, target_success=0.05)])
    assert [c.template for c in client.calls] == ["env_proposal.j2", "revise.j2"]
    assert "[too hard] an expert needs" in model.prompts[1] and "at most" in model.prompts[1]
    assert "RESULTS OF THE LAST TRAINING CYCLE" in model.prompts[1]  # revised under the step's own prompt
    assert [e.source.name for e in decision.mixture.entries[1:]] == ["small", "smaller"]
    reasons = [r.reason for r in decision.artifacts.rejected]
    assert len(reasons) == 1 and reasons[0].startswith("[too hard]") and reasons[0].endswith("(sent back once)")

    still = json.dumps({"rationale": "r", "levels": [_level("huge-again", 15)]})
    strategy, _, client = _curriculum([first, still])
    decision = strategy.decide([Feedback(cycle=0, target_success=0.05)])
    assert [e.source.name for e in decision.mixture.entries[1:]] == ["small"]
    assert decision.artifacts.rejected[-1].reason.endswith("(after one repair)")


def test_an_agent_that_does_well_on_the_target_gets_levels_as_hard_as_it_likes():
    first = json.dumps({"rationale": "r", "levels": [_level("small", 5), _level("huge", 16)]})
    strategy, _, client = _curriculum([first])
    decision = strategy.decide([Feedback(cycle=0, target_success=0.6)])
    assert [c.template for c in client.calls] == ["env_proposal.j2"]
    assert [e.source.name for e in decision.mixture.entries[1:]] == ["small", "huge"]


KEYCORRIDOR = family_for("MiniGrid-KeyCorridorS3R3-v0")
CORRIDOR = {"name": "corridor", "layout": "corridor", "rows": 1, "room_size": 4, "connect": "closed",
            "locked_doors": 0, "key_in_box": False, "blocked": False, "scattered_lava": 0, "balls": 0, "boxes": 0,
            "keys": 0, "place": "far", "start": "first_room", "objective": {"type": "pickup", "target": "ball",
                                                                             "color": "random"}}


def test_a_skill_the_target_needs_and_no_level_teaches_is_named():
    """What the solver does on the target and on none of the levels: KeyCorridor's levels from the default model
    had no locked door, and its first skill is picking up a key. Numbered steps of one skill are one skill."""
    task = KEYCORRIDOR.task()
    no_lock = KEYCORRIDOR.build(CORRIDOR)
    locked = KEYCORRIDOR.build({**CORRIDOR, "name": "locked", "locked_doors": 1})
    assert missing_skills(KEYCORRIDOR, task, [no_lock], 4) == ["picked_up_key"]
    assert missing_skills(KEYCORRIDOR, task, [no_lock, locked], 4) == []
    lava = family_for("MiniGrid-LavaCrossingS11N5-v0")  # five strips on the target, two in the level: covered
    assert missing_skills(lava, lava.task(), [MiniGridLevelSpec(name="two", size=7, lava_strips=2)], 4) == []
    crafter = family_for("crafter")
    assert missing_skills(crafter, crafter.task(), [crafter.target_spec()], 2) == []  # no solver, no check


def test_an_answer_whose_levels_never_teach_a_target_skill_is_sent_back_once():
    """One level goes back, in the revision call every problem shares; the answer's levels still train."""
    first = json.dumps({"rationale": "r", "levels": [CORRIDOR]})
    small = {k: v for k, v in CORRIDOR.items() if k not in ("rows", "room_size")}
    revised = json.dumps({"rationale": "r", "levels": [{**small, "name": "with a key", "layout": "two_rooms",
                                                        "size": 5, "locked_doors": 1}]})
    model = _Recording(responses=[first, revised])
    client = LLMClient(model, backend="fake", use_cache=False)
    proposer = Proposer(client, family=KEYCORRIDOR, k=1)
    strategy = LLMCurriculum(KEYCORRIDOR, KEYCORRIDOR.task(), proposer, settings=LLMCurriculumSettings(),
                             pace=PaceSettings(cover_skills=True))
    decision = strategy.decide([Feedback(cycle=0, target_success=0.0)])
    assert [c.template for c in client.calls] == ["env_proposal.j2", "revise.j2"]
    assert "[skills] the target needs picked_up_key" in model.prompts[-1]
    trained = [e.source for e in decision.mixture.entries[1:]]
    assert [s.name for s in trained][0] == "corridor" and len(trained) == 2  # the first level still trains
    assert trained[1].name == "with a key" and "picked_up_key" in KEYCORRIDOR.solution_events(trained[1], range(4))
    assert decision.artifacts.rejected[0].reason.endswith("(trained, and sent back once)")
    # pacing keeps the skill where a smaller version still has it: the 8x8 locked room trains as a smaller
    # locked room (the ladder's smallest rungs drop the lock), not as the lock-free 5x5 rung
    first = json.dumps({"rationale": "r", "levels": [{**small, "name": "big", "layout": "two_rooms", "size": 9,
                                                      "locked_doors": 1}]})
    strategy = LLMCurriculum(KEYCORRIDOR, KEYCORRIDOR.task(),
                             Proposer(LLMClient(_Recording(responses=[first]), backend="fake", use_cache=False),
                                      family=KEYCORRIDOR, k=1), settings=LLMCurriculumSettings(),
                             pace=PaceSettings(cover_skills=True))
    [fitted] = [e.source for e in strategy.decide([Feedback(cycle=0, target_success=0.0)]).mixture.entries[1:]]
    assert fitted.size < 9 and "picked_up_key" in KEYCORRIDOR.solution_events(fitted, range(4))
    # off: no call
    model = _Recording(responses=[first])
    client = LLMClient(model, backend="fake", use_cache=False)
    strategy = LLMCurriculum(KEYCORRIDOR, KEYCORRIDOR.task(), Proposer(client, family=KEYCORRIDOR, k=1),
                             settings=LLMCurriculumSettings())  # off by default
    strategy.decide([Feedback(cycle=0, target_success=0.0)])
    assert [c.template for c in client.calls] == ["env_proposal.j2"]


def test_where_no_version_that_keeps_a_target_skill_fits_the_smallest_that_keeps_it_trains():
    """The target's own corridor, written by the LLM at target success 0: every version with the locked door takes
    the expert more steps than the pace allows (the smallest about 19, the allowance 13), so it trained lock-free
    and the key was never in the LLM's levels. With ``cover_skills`` the skill's floor trains instead; off, the
    hardest fitting version without the lock, as before."""
    corridor = {**KEYCORRIDOR.target_spec().model_dump(mode="json"), "name": "corridor"}
    limit = step_limit(KEYCORRIDOR, None, PaceSettings())[0]

    def trained(cover: bool) -> MiniGridLevelSpec:
        client = LLMClient(_Recording(responses=[json.dumps({"rationale": "r", "levels": [corridor]})]),
                           backend="fake", use_cache=False)
        strategy = LLMCurriculum(KEYCORRIDOR, KEYCORRIDOR.task(), Proposer(client, family=KEYCORRIDOR, k=1),
                                 settings=LLMCurriculumSettings(), pace=PaceSettings(cover_skills=cover))
        [level] = [e.source for e in strategy.decide([Feedback(cycle=0, target_success=0.0)]).mixture.entries[1:]]
        return level

    floor, fitted = trained(True), trained(False)
    assert "picked_up_key" in KEYCORRIDOR.solution_events(floor, range(4))
    assert limit < KEYCORRIDOR.solution_steps(floor, range(4)) < KEYCORRIDOR.solution_steps(None, range(4))
    assert "picked_up_key" not in KEYCORRIDOR.solution_events(fitted, range(4))
    assert KEYCORRIDOR.solution_steps(fitted, range(4)) <= limit
