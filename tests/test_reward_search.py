"""LLM-designed rewards end to end, on recorded real responses of the embedded model."""

from __future__ import annotations

import json

from scenarios import REWARD_ARGS, REWARD_CASSETTE, llm_reward_config
from typer.testing import CliRunner

import gymsmith
from gymsmith.cli import app
from gymsmith.curricula.store import RunStore


def test_reward_command_verifies_trains_and_keeps_the_best(tmp_path):
    result = CliRunner().invoke(
        app,
        ["reward", *REWARD_ARGS, "--runs-dir", str(tmp_path), "--backend", "replay", "--cassette",
         str(REWARD_CASSETTE), "--no-cache", "--out", str(tmp_path / "best")],
    )
    assert result.exit_code == 0, result.output
    assert "reward candidates" in result.output and "best: it" in result.output
    assert "LLM: 4 calls" in result.output
    store = RunStore(tmp_path / "gymsmith.sqlite")
    (run,) = store.runs()
    cycles = store.cycles(run["id"])
    assert [c["cycle"] for c in cycles] == [0, 1]
    candidates = cycles[0]["feedback"]["candidates"]
    assert {c["name"] for c in candidates} >= {"it0-c0", "it0-c1", "baseline-sparse"}
    assert all(c["success"] is not None for c in candidates if c["accepted"])
    assert store.count("llm_calls", run["id"]) == 4
    proposals = [json.loads(p["body"]) for p in store.table("proposals", run["id"])]
    assert all(p["reward_programs"] for p in proposals)
    assert all(rp["mode"] == "compose" for p in proposals for rp in p["reward_programs"])
    best = json.loads((tmp_path / "best" / "reward.json").read_text())
    assert best["source"].startswith('"""Composed reward') and "def reward(" in best["source"]


def test_llm_reward_curriculum_evolves_the_training_reward(tmp_path):
    summary = gymsmith.run(llm_reward_config(tmp_path))
    store = RunStore(tmp_path / "gymsmith.sqlite")
    cycles = store.cycles(summary.run_id)
    assert len(cycles) == 2 and summary.llm_totals["model_calls"] == 4
    for c in cycles:
        assert c["mixture"]["reward"]["mode"] == "compose"
        # the components of the program it trained with come back in the feedback the next prompt shows
        assert set(c["feedback"]["reward_components"]) == set(c["mixture"]["reward"]["components"])
    assert cycles[1]["strategy_state"]["program"] is not None
