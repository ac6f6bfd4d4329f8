"""The whole cycle, end to end, on recorded real LLM responses."""

from __future__ import annotations

import json

from scenarios import loop_config

import gymsmith
from gymsmith.curricula.store import RunStore


def test_two_cycle_llm_loop_on_replay(tmp_path):
    summary = gymsmith.run(loop_config(tmp_path))
    assert [c["cycle"] for c in summary.cycles] == [0, 1]
    calls = summary.llm_totals["model_calls"]
    assert calls >= 2  # one proposal per cycle, plus a repair round where an answer failed validation
    store = RunStore(tmp_path / "gymsmith.sqlite")
    run_id = summary.run_id
    assert store.count("llm_calls", run_id) == calls
    assert store.count("trainings", run_id) == 2
    assert store.count("evaluations", run_id) == 2
    # one per cycle, whether or not it needed a repair, and one per revision of levels sent back (curricula/pace.py)
    revisions = sum(c["template"] == "revise.j2" for c in store.table("llm_calls", run_id))
    assert store.count("proposals", run_id) == 2 + revisions
    assert store.count("verdicts", run_id) >= 1
    cycles = store.cycles(run_id)
    # cycle 1's prompt was built from cycle 0's feedback
    assert cycles[0]["feedback"]["skills"].keys() == {"picked_up_key", "opened_door", "reached_goal"}
    calls = store.table("llm_calls", run_id)
    assert all(c["model"] == "qwen2.5-coder-0.5b" for c in calls)
    mixture = cycles[0]["mixture"]["entries"]
    assert mixture[0]["source"]["family"] == "target"
    assert any(e["source"]["family"] == "minigrid" for e in mixture)
    for c in cycles:
        assert c["checkpoint"].endswith(".zip")
    proposal = json.loads(store.table("proposals", run_id)[0]["body"])
    assert proposal["env_configs"], "the recorded proposal contained levels"


def test_goals_a_strategy_hands_over_are_probed_in_that_cycles_evaluation(tmp_path):
    """LLM-written goals are per-skill probes: scored on the evaluation's own episodes, stored, fed back."""
    from gymsmith.curricula.base import Artifacts, Decision, TargetOnly
    from gymsmith.schemas import Goal

    goals = [Goal(name="unlock", events=["picked_up_key", "opened_door"]), Goal(name="key", events=["picked_up_key"])]

    class WithGoals(TargetOnly):
        def decide(self, history):  # type: ignore[no-untyped-def]
            return Decision(super().decide(history).mixture, Artifacts(goals=goals))

    from gymsmith import api

    config = loop_config(tmp_path, curriculum="target", cycles=1, backend="local", cassette=None, eval_episodes=6,
                         task={"target_env": "MiniGrid-DoorKey-5x5-v0"})
    prepared = api.prepare(config)
    prepared.strategy = WithGoals(prepared.family, prepared.task)
    store = api.open_store(tmp_path)
    run_id = store.create_run(config.model_dump(mode="json"))
    store.close()
    summary = api._execute(prepared, run_id, None)
    feedback = summary.cycles[0]["feedback"]
    assert set(feedback["goals"]) == {"unlock", "key"} and feedback["goals"]["key"]["n"] == 6
    # a goal's success is never above that of any one of its events
    assert feedback["goals"]["unlock"]["mean"] <= feedback["skills"]["opened_door"]["mean"]
    assert feedback["goals"]["key"]["mean"] == feedback["skills"]["picked_up_key"]["mean"]
