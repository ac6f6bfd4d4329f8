"""EnvGen's protocol on Crafter end to end, on recorded real LLM responses: the LLM reads per-achievement success
and writes worlds for two cycles, then the agent trains on Crafter alone; the store, the next prompt and the
report carry the Crafter score."""

from __future__ import annotations

import json

import pytest
from scenarios import crafter_loop_config

import gymsmith
from gymsmith.curricula.report import write_report
from gymsmith.curricula.store import RunStore
from gymsmith.envs import family_for
from gymsmith.envs.crafter import CRAFTER_ACHIEVEMENTS, crafter_score
from gymsmith.schemas import Feedback
from gymsmith.templates import render


@pytest.fixture(autouse=True)
def one_torch_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cassette was recorded with one torch thread: the same training gives the same second prompt."""
    monkeypatch.setenv("GYMSMITH_TORCH_THREADS", "1")


def test_envgen_cycles_on_crafter_replay(tmp_path):
    summary = gymsmith.run(crafter_loop_config(tmp_path))
    store = RunStore(tmp_path / "gymsmith.sqlite")
    run_id = summary.run_id
    cycles = store.cycles(run_id)
    assert [c["cycle"] for c in cycles] == [0, 1, 2]

    # the schedule: one proposal in each of the two generating cycles, none after; worlds mixed with the target
    calls = store.table("llm_calls", run_id)
    assert sorted({c["cycle"] for c in calls}) == [0, 1] and all(c["template"] == "crafter_proposal.j2"
                                                                  for c in calls)
    for cycle in cycles[:2]:
        entries = cycle["mixture"]["entries"]
        assert entries[0]["source"] == {"family": "target", "name": "target", "env_id": "crafter"}
        assert entries[0]["weight"] == pytest.approx(0.25)
        assert {e["source"]["family"] for e in entries[1:]} == {"crafter"}
    assert [e["source"]["family"] for e in cycles[2]["mixture"]["entries"]] == ["target"]

    # the headline is the Crafter score of the evaluation's per-achievement rates, stored each cycle
    for cycle in cycles:
        feedback = cycle["feedback"]
        assert cycle["metric"] == feedback["metric"] == "crafter_score"
        assert list(feedback["skills"]) == list(CRAFTER_ACHIEVEMENTS)
        rates = {name: 100 * stat["mean"] for name, stat in feedback["skills"].items()}
        assert cycle["score"] == pytest.approx(crafter_score(rates))

    # cycle 1's prompt (replayed: it matched the recorded one byte for byte) shows all 22 achievements with
    # mean ± std, the score, and every world trained on with its measured success
    family = family_for("crafter")
    first = Feedback.model_validate(cycles[0]["feedback"])
    prompt = render(family.template, **family.context(family.task(), 2, first, None, 0))
    for name, stat in first.skills.items():
        assert f"- {name}: {stat.mean:.2f} ± {stat.std:.2f}" in prompt
    assert "Crafter score (0 to 100" in prompt and f"environment: {first.score:.2f}." in prompt
    trained = [json.loads(line[2:]) for line in prompt.splitlines() if line.startswith('- {"')]
    assert len(trained) == len(cycles[0]["mixture"]["entries"])
    assert all({"train_success", "episodes"} <= set(world) for world in trained)
    assert any(world.get("biome") for world in trained)

    # the report: Crafter score as the headline, a per-achievement heatmap over the cycles
    page = write_report(store, [run_id], tmp_path / "report").read_text()
    assert "final crafter score" in page and "Per-achievement success over cycles" in page
    assert (tmp_path / "report" / f"skills_{run_id}.png").stat().st_size > 0
    store.close()
