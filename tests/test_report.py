"""`gymsmith report` renders the expected files from what the run store holds (no training needed)."""

from __future__ import annotations

from PIL import Image
from typer.testing import CliRunner

from gymsmith.cli import app
from gymsmith.config import RunConfig
from gymsmith.curricula.report import load_run, normalise_reason, rejection_counts, skill_matrix
from gymsmith.curricula.store import CycleRecord, RunStore
from gymsmith.envs.minigrid import MiniGridLevelSpec
from gymsmith.schemas import (
    EnvMixture,
    EvalResult,
    LLMCall,
    MixtureEntry,
    Proposal,
    RejectedSpec,
    Rejection,
    Stat,
    TargetEnv,
    TaskSpec,
    TrainResult,
    Verdict,
)

TARGET = "MiniGrid-DoorKey-5x5-v0"


def _record(cycle: int, mixture: EnvMixture, success: float, llm: bool) -> CycleRecord:
    skills = {"picked_up_key": Stat(mean=min(1.0, success + 0.5)), "opened_door": Stat(mean=success + 0.2),
              "reached_goal": Stat(mean=success)}
    evaluation = EvalResult(env_id=TARGET, episodes=8, success_rate=success, mean_return=success,
                            mean_length=100.0, skills=skills)
    rec = CycleRecord(cycle=cycle, mixture=mixture.model_dump(mode="json"), total_steps=1024 * (cycle + 1))
    rec.training = TrainResult(steps=1024, wall_time_s=2.0, steps_per_s=512.0, device="cpu")
    rec.evaluation = evaluation
    rec.feedback = {"cycle": cycle, "target_success": success}
    rec.checkpoint = f"cycle_{cycle:03d}.zip"
    if llm:
        rec.llm_calls = [LLMCall(backend="replay", model="qwen", template="env_proposal", prompt_hash="abc",
                                 prompt_tokens=900 + cycle, completion_tokens=200, latency_s=1.5)]
        bad = MiniGridLevelSpec(name="lava-wall", size=5, lava=3)
        rec.verdicts = [
            Verdict(subject="minigrid:tiny", accepted=True),
            Verdict(subject="minigrid:lava-wall", accepted=False, rejections=[Rejection(
                layer="solvability", reason=f"seed {cycle}: no solvable placement in 30 tries: no path")]),
        ]
        rec.proposals = [Proposal(task=TaskSpec(target_env=TARGET), env_configs=[bad], rejected=[
            RejectedSpec(spec={"size": 40}, reason="size: Input should be less than or equal to 16")])]
    return rec


def _store(tmp_path) -> tuple[RunStore, str, str]:
    store = RunStore(tmp_path / "gymsmith.sqlite")
    spec = MiniGridLevelSpec(name="tiny", size=5, goal="near")
    llm_mix = EnvMixture(entries=[
        MixtureEntry(source=TargetEnv(env_id=TARGET), weight=0.25),
        MixtureEntry(source=spec, weight=0.5),
        MixtureEntry(source=MiniGridLevelSpec(name="replayed", size=6), weight=0.25, seeds=[42]),
    ])
    target_mix = EnvMixture(entries=[MixtureEntry(source=TargetEnv(env_id=TARGET), weight=1.0)])
    ids = []
    for curriculum, mixture, llm in (("llm", llm_mix, True), ("target", target_mix, False)):
        config = RunConfig(curriculum=curriculum, task=TaskSpec(target_env=TARGET), cycles=2,
                           runs_dir=str(tmp_path), tensorboard=llm)
        run_id = store.create_run(config.model_dump(mode="json"), run_id=f"run-{curriculum}")
        for cycle, success in enumerate((0.1, 0.4) if llm else (0.0, 0.2)):
            store.commit_cycle(run_id, _record(cycle, mixture, success, llm))
        store.set_status(run_id, "finished")
        ids.append(run_id)
    return store, ids[0], ids[1]


def test_report_command_writes_html_and_pngs(tmp_path):
    store, llm_run, target_run = _store(tmp_path)
    store.close()
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["report", llm_run, "--compare", target_run, "--runs-dir", str(tmp_path),
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    expected = {"report.html", "success.png", "llm.png", "rejections.png", f"skills_{llm_run}.png",
                f"skills_{target_run}.png"}
    assert expected <= {p.name for p in out.iterdir()}
    for name in expected - {"report.html"}:
        with Image.open(out / name) as image:
            assert image.format == "PNG" and image.size[0] > 200
    levels = sorted((out / "levels" / llm_run).glob("*.png"))
    # target, the spec (seed 0) and the replayed level (its pinned seed), each rendered once for both cycles
    assert len(levels) == 3 and any(p.name.endswith("_42.png") for p in levels)
    assert len(list((out / "levels" / target_run).glob("*.png"))) == 1

    page = (out / "report.html").read_text()
    assert llm_run in page and target_run in page
    for name in expected - {"report.html"}:
        assert f'src="{name}"' in page
    for level in levels:
        assert f"levels/{llm_run}/{level.name}" in page
    assert "[solvability] no solvable placement in N tries: no path" in page
    assert "[schema] size: Input should be less than or equal to N" in page
    assert "<td>1801</td>" in page  # prompt tokens of both cycles (900 + 901)
    assert "tensorboard" in page


def test_report_data_helpers(tmp_path):
    store, llm_run, target_run = _store(tmp_path)
    run = load_run(store, llm_run)
    skills, matrix = skill_matrix(run)
    assert skills == ["picked_up_key", "opened_door", "reached_goal"]
    assert matrix[:, 1].tolist() == [0.9, 0.6000000000000001, 0.4]
    counts = rejection_counts(run)
    assert counts == {"[solvability] no solvable placement in N tries: no path": 2,
                      "[schema] size: Input should be less than or equal to N": 2}
    assert normalise_reason("seed 7: lava at 3,4") == "lava at N,N"
    store.close()


def test_report_on_a_missing_run_or_store_fails_cleanly(tmp_path):
    result = CliRunner().invoke(app, ["report", "nope", "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2 and "no run store" in " ".join(result.output.split())
    RunStore(tmp_path / "gymsmith.sqlite").close()
    result = CliRunner().invoke(app, ["report", "nope", "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2 and "no run 'nope'" in result.output
