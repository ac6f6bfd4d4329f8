"""A run survives being killed, stops cleanly on Ctrl-C, and is fully described by its (validated) config."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from typer.testing import CliRunner

from gymsmith.cli import app
from gymsmith.cli_progress import make_sigint_handler, progress_callback
from gymsmith.config import build_config
from gymsmith.curricula.store import RunStore

REPO = Path(__file__).resolve().parent.parent
SMALL = "MiniGrid-DoorKey-5x5-v0"  # episodes end within 250 steps: tiny budgets still finish episodes


@pytest.fixture(autouse=True)
def one_torch_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inherited by the CLI subprocesses too: one intra-op thread is fastest on a shared 2-core runner."""
    monkeypatch.setenv("GYMSMITH_TORCH_THREADS", "1")


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "gymsmith.cli", "run", *args]


def _committed(db: Path) -> int:
    """Committed cycles as another process sees them (the run writes in WAL mode, readers never block it)."""
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM cycles").fetchone()[0])
    except sqlite3.OperationalError:  # schema not created yet
        return 0


def _wait(predicate, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise AssertionError(f"the run exited early with {proc.returncode}:\n{out}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("timed out waiting for the run")
        time.sleep(0.05)


def _read_until(proc: subprocess.Popen, marker: str, timeout: float = 180) -> str:
    seen = []
    deadline = time.monotonic() + timeout
    for line in proc.stdout:  # type: ignore[union-attr]
        seen.append(line)
        if marker in line:
            return "".join(seen)
        if time.monotonic() > deadline:
            break
    proc.kill()
    raise AssertionError(f"never saw {marker!r}:\n{''.join(seen)}")


# --------------------------------------------------------------------------------------------- resume


def test_sigkill_mid_cycle_then_resume_gives_each_cycle_exactly_once(tmp_path):
    db = tmp_path / "gymsmith.sqlite"
    args = ["--curriculum", "plr", "--target", SMALL, "--cycles", "2", "--steps", "1024", "--n-envs", "2",
            "--eval-episodes", "4", "--device", "cpu", "--seed", "0", "--runs-dir", str(tmp_path)]
    proc = subprocess.Popen(_cli(*args), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    _wait(lambda: _committed(db) >= 1, proc, timeout=180)
    proc.send_signal(signal.SIGKILL)  # cycle 1 is now being chosen or trained: no chance to clean up
    proc.wait(timeout=30)
    assert _committed(db) == 1, "killed in the middle of cycle 1"

    store = RunStore(db)
    [run] = store.runs()
    assert run["status"] == "running"  # nothing marked it stopped: it really died
    result = CliRunner().invoke(app, ["run", "--resume", run["id"], "--runs-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output

    cycles = store.cycles(run["id"])
    assert [c["cycle"] for c in cycles] == [0, 1]  # the configured count, cycle 0 not redone
    for table in ("trainings", "evaluations", "proposals", "verdicts", "llm_calls"):
        rows = store.table(table, run["id"])
        per_cycle = [r["cycle"] for r in rows]
        assert len(per_cycle) == len(set(per_cycle)) or table in ("verdicts", "llm_calls", "proposals")
    assert [r["cycle"] for r in store.table("trainings", run["id"])] == [0, 1]
    assert [r["cycle"] for r in store.table("evaluations", run["id"])] == [0, 1]
    assert store.runs()[0]["status"] == "finished"
    assert all(Path(c["checkpoint"]).exists() for c in cycles)
    # the resumed cycle continued PLR from the stored state: its episode counter spans both cycles (the feedback
    # lists at most MAX_FEEDBACK_SOURCES sources, so its episodes are a lower bound of the counter)
    plr_episodes = sum(t["episodes"] for c in cycles for t in c["feedback"]["trained_on"][1:])
    first = cycles[0]["strategy_state"]["episodes"]
    assert cycles[-1]["strategy_state"]["episodes"] >= plr_episodes > 0 and first > 0
    assert cycles[-1]["strategy_state"]["episodes"] > first
    assert cycles[1]["total_steps"] == 2 * cycles[0]["total_steps"]
    with pytest.raises(ValueError, match="out of order"):  # the store itself refuses a duplicate cycle
        from gymsmith.curricula.store import CycleRecord

        store.commit_cycle(run["id"], CycleRecord(cycle=1))
    assert store.count("trainings", run["id"]) == 2
    store.close()


def test_resume_of_an_unknown_run_fails_cleanly(tmp_path):
    RunStore(tmp_path / "gymsmith.sqlite").close()
    result = CliRunner().invoke(app, ["run", "--resume", "nope", "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2 and "no run 'nope'" in result.output


# --------------------------------------------------------------------------------------------- Ctrl-C


def test_sigint_handler_stops_first_then_aborts():
    hooks = progress_callback(1)
    handler = make_sigint_handler(hooks)
    with pytest.raises(KeyboardInterrupt):  # before the loop exists there is nothing to save
        handler(signal.SIGINT, None)
    hooks.loop = SimpleNamespace(stop_requested=False)
    handler(signal.SIGINT, None)
    assert hooks.loop.stop_requested
    with pytest.raises(KeyboardInterrupt):
        handler(signal.SIGINT, None)


def test_ctrl_c_to_the_process_group_commits_the_cycle_then_stops(tmp_path):
    """As a terminal delivers it: to every process, SubprocVecEnv workers included (they must ignore it)."""
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({
        "curriculum": "dr", "task": {"target_env": SMALL}, "cycles": 3, "steps_per_cycle": 1024, "n_envs": 2,
        "eval_episodes": 8, "device": "cpu", "vec": "subproc", "runs_dir": str(tmp_path), "dr": {"levels_per_cycle": 3},
    }))
    proc = subprocess.Popen(_cli("--config", str(config)), cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    head = _read_until(proc, "evaluating on the target")
    os.killpg(proc.pid, signal.SIGINT)
    tail, _ = proc.communicate(timeout=120)
    output = head + tail
    assert proc.returncode == 0, output
    assert "stopped early" in output and "Traceback" not in output
    store = RunStore(tmp_path / "gymsmith.sqlite")
    [run] = store.runs()
    assert run["status"] == "stopped"
    assert [c["cycle"] for c in store.cycles(run["id"])] == [0]  # the evaluated cycle was saved, then it stopped
    assert store.count("evaluations", run["id"]) == 1
    store.close()


def test_second_ctrl_c_aborts_without_writing_the_cycle(tmp_path):
    args = ["--curriculum", "target", "--target", SMALL, "--cycles", "2", "--steps", "512", "--n-envs", "2",
            "--eval-episodes", "400", "--device", "cpu", "--runs-dir", str(tmp_path)]
    proc = subprocess.Popen(_cli(*args), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    head = _read_until(proc, "evaluating on the target")
    proc.send_signal(signal.SIGINT)
    time.sleep(0.5)
    assert proc.poll() is None, "a first Ctrl-C during evaluation waits for the cycle to be saved"
    proc.send_signal(signal.SIGINT)
    tail, _ = proc.communicate(timeout=60)
    output = " ".join((head + tail).split())
    assert proc.returncode == 130, output
    assert "aborted" in output and "--resume" in output
    store = RunStore(tmp_path / "gymsmith.sqlite")
    [run] = store.runs()
    assert store.cycles(run["id"]) == [] and store.count("evaluations", run["id"]) == 0
    assert run["status"] == "stopped"
    store.close()


# --------------------------------------------------------------------------------------------- config


def test_one_yaml_file_describes_the_run_flags_override_and_the_effective_config_is_stored(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({
        "curriculum": "plr", "task": {"target_env": SMALL}, "cycles": 1, "steps_per_cycle": 512, "n_envs": 2,
        "eval_episodes": 8, "device": "cpu", "seed": 7, "runs_dir": str(tmp_path), "plr": {"beta": 0.3},
    }))
    result = CliRunner().invoke(app, ["run", "--config", str(config), "--seed", "3", "--eval-episodes", "2"])
    assert result.exit_code == 0, result.output
    store = RunStore(tmp_path / "gymsmith.sqlite")
    [run] = store.runs()
    stored = store.run_config(run["id"])
    assert stored == build_config(config, {"seed": 3, "eval_episodes": 2}).model_dump(mode="json")
    assert stored["seed"] == 3 and stored["eval_episodes"] == 2 and stored["plr"]["beta"] == 0.3
    assert store.table("evaluations", run["id"])[0]["body"].count('"episodes":2') == 1
    store.close()


@pytest.mark.parametrize(
    ("flags", "yaml_text", "field"),
    [
        (["--steps", "10"], None, "steps_per_cycle"),
        (["--curriculum", "bogus"], None, "curriculum"),
        (["--curriculum", "dr", "--target", "CartPole-v1"], None, "curriculum"),
        (["--curriculum", "target", "-k", "5"], None, "k_levels: set but not used by curriculum target"),
        (["--target", "Nope-v3"], None, "task.target_env: no family handles the target 'Nope-v3'"),
        (["--target-ratio", "1.5"], None, "target_ratio"),
        (["--device", "tpu"], None, "device"),
        (["--backend", "replay"], None, "cassette"),
        (["--target", "MiniGrid-Nope-v0"], None, "task.target_env"),
        (["--target", "CrafterReward-v9"], None, "crafter: crafter, CrafterReward-v1, CrafterNoReward-v1 or"),
        (["--policy", "resnet"], None, "policy: 'resnet' is unknown; choose one of auto, nature-cnn, impala"),
        (["--curriculum", "dr", "--generated-cycles", "4"], None, "llm: set but not used by curriculum dr"),
        (["--generated-cycles", "-1"], None, "llm.generated_cycles"),
        (["--vec", "threads"], None, "vec"),
        ([], "plr:\n  beta: 0\n", "plr.beta"),
        ([], "lp: {eps: 2}\n", "lp.eps"),
        ([], "cycels: 3\n", "cycels"),
    ],
)
def test_bad_config_values_fail_before_any_training_naming_the_field(tmp_path, flags, yaml_text, field):
    args = ["run", "--runs-dir", str(tmp_path / "runs"), *flags]
    if yaml_text is not None:
        (tmp_path / "run.yaml").write_text(yaml_text)
        args += ["--config", str(tmp_path / "run.yaml")]
    result = CliRunner().invoke(app, args)
    output = " ".join(result.output.split())
    assert result.exit_code == 2, output
    assert field in output, output
    assert not (tmp_path / "runs").exists(), "nothing was created: no run store, no run row"


def test_a_flag_setting_one_field_of_a_section_keeps_the_files_other_fields(tmp_path):
    """No field the caller set is silently replaced: --goals sets llm.goals and keeps the file's llm.mixture."""
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({"curriculum": "llm", "llm": {"mixture": "archive", "archive_size": 4}}))
    merged = build_config(config, {"llm": {"goals": 2}, "seed": None})
    assert (merged.llm.mixture, merged.llm.archive_size, merged.llm.goals) == ("archive", 4, 2)


def test_rejections_print_with_their_layer():
    """Rich reads "[schema]" as markup and would drop it: the cycle display escapes what it prints."""
    from types import SimpleNamespace

    from gymsmith.cli_progress import console, progress_callback
    from gymsmith.schemas import EnvMixture, MixtureEntry, RejectedSpec, TargetEnv

    hooks = progress_callback(1)
    mixture = EnvMixture(entries=[MixtureEntry(source=TargetEnv(), weight=1.0)])
    rejected = RejectedSpec(spec={"name": "x", "layout": "room"}, reason="[schema] level: a room has lava_strips or "
                            "wall_strips, not both")
    with console.capture() as captured:
        artifacts = SimpleNamespace(llm_calls=[], rejected=[rejected])
        hooks.on_decision(0, SimpleNamespace(mixture=mixture, artifacts=artifacts))
    assert "[schema] level: a room has lava_strips" in " ".join(captured.get().split())
