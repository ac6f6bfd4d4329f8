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
    assert store.count("proposals", run_id) == 2  # one per cycle, whether or not it needed a repair
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
