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


def test_reward_command_on_crafter_replay(tmp_path):
    # `gymsmith reward` on Crafter: candidates composed from the Crafter catalogue (achievement bonuses, inventory
    # gains, vitals) are verified against Crafter's reference episodes, trained, and ranked by the Crafter score
    from scenarios import CRAFTER_REWARD_ARGS, CRAFTER_REWARD_CASSETTE
    from typer.testing import CliRunner

    from gymsmith.cli import app

    result = CliRunner().invoke(app, ["reward", *CRAFTER_REWARD_ARGS, "--runs-dir", str(tmp_path), "--backend",
                                      "replay", "--cassette", str(CRAFTER_REWARD_CASSETTE), "--no-cache"])
    assert result.exit_code == 0, result.output
    assert "best: it0-c" in " ".join(result.output.split()) and "crafter score" in result.output
    store = RunStore(tmp_path / "gymsmith.sqlite")
    (run,) = store.runs()
    (cycle,) = store.cycles(run["id"])
    accepted = [c for c in cycle["feedback"]["candidates"] if c["accepted"] and c["name"] != "baseline-sparse"]
    assert accepted, cycle["feedback"]
    programs = [json.loads(p["body"])["reward_programs"] for p in store.table("proposals", run["id"])][0]
    terms = {t["term"] for program in programs for t in program["terms"]}
    assert terms & {"achievement", "gain", "vital"}
    assert {t["target"] for program in programs for t in program["terms"] if t["term"] == "achievement"} <= \
        set(CRAFTER_ACHIEVEMENTS)
    assert cycle["metric"] == "crafter_score"
    store.close()


@pytest.mark.parametrize("curriculum", ["target", "dr", "plr", "lp"])
def test_classic_curricula_train_on_crafter(tmp_path, curriculum):
    config = crafter_loop_config(tmp_path, curriculum=curriculum, cycles=1, backend="local", cassette=None,
                                 llm={}, k_levels=3, eval_episodes=2)
    summary = gymsmith.run(config)
    store = RunStore(tmp_path / "gymsmith.sqlite")
    (cycle,) = store.cycles(summary.run_id)
    entries = cycle["mixture"]["entries"]
    families = [e["source"]["family"] for e in entries]
    if curriculum == "target":
        assert families == ["target"]
    else:  # the family's worlds beside the target (PLR: pinned (world, seed) levels)
        assert "crafter" in families and "target" in families
        worlds = {json.dumps(e["source"], sort_keys=True) for e in entries if e["source"]["family"] == "crafter"}
        assert len(worlds) > 1
    if curriculum == "dr":  # uniform over the family's ranges: 8 different worlds
        assert len(entries) == 9
    if curriculum == "plr":
        assert all(e["seeds"] for e in entries if e["source"]["family"] == "crafter")
    assert cycle["metric"] == "crafter_score" and cycle["score"] is not None
    store.close()
