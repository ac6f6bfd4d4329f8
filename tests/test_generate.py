"""`gymsmith generate` and `gymsmith show`, end to end on recorded real LLM responses (replay backend).

The cassettes are recorded by tests/cassettes/record.py from the same CLI arguments (`scenarios.GENERATE_SCENARIOS`)
against the embedded local models; the replay backend serves them without a model or a network.
"""

from __future__ import annotations

import json
from pathlib import Path

import imageio.v2 as imageio
import pytest
from PIL import Image
from pydantic import TypeAdapter
from scenarios import GENERATE_SCENARIOS
from typer.testing import CliRunner

import gymsmith.envs  # noqa: F401  (registers the families' spec models)
from gymsmith.cli import app
from gymsmith.generator.llm import load_cassette
from gymsmith.schemas import AnySpec, Goal

runner = CliRunner()


def _generate(name: str, out: Path, *extra: str):
    cassette, args = GENERATE_SCENARIOS[name]
    return runner.invoke(app, ["generate", *args, "--out", str(out), "--backend", "replay", "--cassette",
                               str(cassette), *extra])


def _index(out: Path) -> dict:
    return json.loads((out / "index.json").read_text())


def _check_output(out: Path, family: str) -> dict:
    """Everything the index lists exists, every spec file loads as the family's spec and matches the index."""
    index = _index(out)
    assert index["family"] == family and index["accepted"], index
    for entry in index["accepted"]:
        spec = TypeAdapter(AnySpec).validate_python(json.loads((out / entry["file"]).read_text()))
        assert spec.family == family and spec.model_dump(mode="json") == entry["spec"]
        assert entry["renders"], entry
        for render in entry["renders"]:
            with Image.open(out / render) as image:
                assert image.size[0] >= 64 and image.mode == "RGB"
    for goal in index["goals"]:
        Goal.model_validate(goal)
    for rejected in index["rejected"]:
        assert rejected["reason"].startswith("["), rejected  # every rejection names its layer
    return index


def test_generate_minigrid_writes_specs_renders_and_index(tmp_path):
    result = _generate("generate_minigrid", tmp_path)
    assert result.exit_code == 0, result.output
    index = _check_output(tmp_path, "minigrid")
    assert all(len(e["renders"]) == 1 and e["renders"][0].endswith(".png") for e in index["accepted"])
    assert index["llm"]["calls"] >= 1 and index["llm"]["completion_tokens"] > 0
    assert index["llm_calls"][0]["model"] == "qwen2.5-coder-0.5b"
    assert index["goals"], "the recorded answer proposed goals"
    assert "LLM:" in result.output and "completion tokens" in result.output and "wall time" in result.output


def test_identical_rerun_is_answered_from_the_cache_with_zero_llm_calls(tmp_path):
    first = _generate("generate_minigrid", tmp_path / "a")
    assert first.exit_code == 0, first.output
    assert _index(tmp_path / "a")["llm"]["model_calls"] >= 1
    second = _generate("generate_minigrid", tmp_path / "b")
    assert second.exit_code == 0, second.output
    llm = _index(tmp_path / "b")["llm"]
    assert llm["model_calls"] == 0 and llm["cached"] == llm["calls"] >= 1
    assert "to the model" in second.output and "(1 from cache, 0 to the model)" in second.output.replace("\n", " ")
    first_specs = [e["spec"] for e in _index(tmp_path / "a")["accepted"]]
    assert [e["spec"] for e in _index(tmp_path / "b")["accepted"]] == first_specs


def test_generate_crafter_renders_local_view_and_world_map(tmp_path):
    result = _generate("generate_crafter", tmp_path)
    assert result.exit_code == 0, result.output
    index = _check_output(tmp_path, "crafter")
    for entry in index["accepted"]:
        assert sorted(Path(r).stem.rsplit("_", 1)[1] for r in entry["renders"]) == ["local", "map"]
    from gymsmith.envs.crafter import CRAFTER_ACHIEVEMENTS

    assert all(set(g["events"]) <= set(CRAFTER_ACHIEVEMENTS) for g in index["goals"])


def test_generate_gym_kwargs_within_declared_ranges(tmp_path):
    result = _generate("generate_gym", tmp_path)
    assert result.exit_code == 0, result.output
    index = _check_output(tmp_path, "gym")
    assert index["params"] == [{"name": "size", "kind": "int", "low": 5, "high": 12, "choices": []}]
    for entry in index["accepted"]:
        assert entry["spec"]["env_id"] == "MiniGrid-Empty-5x5-v0"
        assert 5 <= entry["spec"]["kwargs"]["size"] <= 12


def test_invalid_answer_is_repaired_once_then_rejected_with_a_clear_message(tmp_path):
    """Recorded from the Gemma 270M base model without a grammar: prose instead of JSON, twice."""
    cassette, _ = GENERATE_SCENARIOS["generate_repair"]
    assert load_cassette(cassette)["model"] == "gemma3-270m"
    result = _generate("generate_repair", tmp_path)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # a message and an exit code, no traceback
    output = " ".join(result.output.split())
    assert "no environment was accepted (the answer stayed invalid after one repair)" in output
    assert "not valid JSON" in output and "Traceback" not in output
    index = _index(tmp_path)
    assert index["repaired"] and index["accepted"] == []
    assert [c["template"] for c in index["llm_calls"]] == ["env_proposal.j2", "repair.j2"]


def test_bad_arguments_fail_with_a_message(tmp_path):
    cassette, args = GENERATE_SCENARIOS["generate_minigrid"]
    cases = [
        (["--family", "gym:NoSuchEnv-v0", "--param", "x=1..2"], "not a registered Gymnasium env id"),
        (["--family", "gym:Pendulum-v1"], "needs at least one --param"),
        (["--family", "crafter", "--param", "biome=desert"], "biome: \"desert\" is not allowed"),
        (["--backend", "replay", "--cassette", str(tmp_path / "none.json")], "does not exist"),
        (["--backend", "gpt"], "unknown backend"),
    ]
    for extra, message in cases:
        result = runner.invoke(app, ["generate", "x", "--out", str(tmp_path), *extra])
        assert result.exit_code == 2 and message in " ".join(result.output.split()), (extra, result.output)
    # a prompt the cassette never saw: the replay miss is reported, not raised
    miss = runner.invoke(app, ["generate", "never recorded", "--out", str(tmp_path), "--backend", "replay",
                               "--cassette", str(cassette)])
    assert miss.exit_code == 2 and "CassetteMiss" in miss.output and isinstance(miss.exception, SystemExit)


@pytest.mark.parametrize(
    "spec, pngs",
    [
        ({"family": "minigrid", "name": "lava", "size": 6, "lava": 2}, ["lava.png"]),
        ({"family": "crafter", "name": "small", "area": 32, "peaceful": True}, ["small_local.png", "small_map.png"]),
        ({"family": "gym", "name": "room", "env_id": "MiniGrid-Empty-5x5-v0", "kwargs": {"size": 7}}, ["room.png"]),
    ],
)
def test_show_renders_a_spec_and_records_a_rollout_gif(tmp_path, spec, pngs):
    path = tmp_path / f"{spec['name']}.json"
    path.write_text(json.dumps(spec))
    result = runner.invoke(app, ["show", str(path), "--gif", "--steps", "12"])
    assert result.exit_code == 0, result.output
    for png in pngs:
        assert (tmp_path / png).exists()
    frames = imageio.mimread(tmp_path / f"{spec['name']}.gif")
    assert len(frames) >= 2 and frames[0].ndim == 3
