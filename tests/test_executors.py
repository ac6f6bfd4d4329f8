"""Executors: parallel candidate trainings in input order, and a dead worker costs only its own candidate."""

from __future__ import annotations

import signal
import time

import pytest

from gymsmith.agents.candidates import TEST_FAULT_DELAY_KEY, TEST_FAULT_KEY
from gymsmith.agents.executors import (
    LocalExecutor,
    RayExecutor,
    describe_exit,
    make_executor,
    run_isolated,
)
from gymsmith.config import RunConfig
from gymsmith.schemas import CandidateSpec

TINY_PPO = {"n_steps": 128, "batch_size": 128, "n_epochs": 1}
KILL = {TEST_FAULT_KEY: "SIGKILL"}


def tiny(name: str, steps: int = 256, episodes: int = 2, **ppo: object) -> CandidateSpec:
    return CandidateSpec(
        name=name, steps=steps, n_envs=2, eval_episodes=episodes, device="cpu", ppo={**TINY_PPO, **ppo}
    )


def test_describe_exit_names_the_signal() -> None:
    assert describe_exit(-9) == "worker died: exit code -9 (SIGKILL: killed, e.g. by the kernel's OOM killer)"
    assert describe_exit(-int(signal.SIGSEGV)).startswith("worker died: exit code -11 (SIGSEGV")
    assert describe_exit(3) == "worker died: exit code 3"
    assert describe_exit(0) == "worker exited without sending a result"


def test_make_executor_follows_the_config() -> None:
    local = make_executor(RunConfig(parallel=3))
    assert isinstance(local, LocalExecutor) and local.max_workers == 3 and local.cpus_per_job == 1
    sub = make_executor(RunConfig(vec="subproc", n_envs=4))
    assert isinstance(sub, LocalExecutor) and sub.cpus_per_job == 4
    ray_ex = make_executor(RunConfig(executor="ray", ray_address="auto", parallel=2))
    assert isinstance(ray_ex, RayExecutor) and ray_ex.address == "auto" and ray_ex.max_in_flight == 2
    assert RunConfig(ray_address="none").ray_address is None


def test_local_executor_keeps_order_and_a_killed_worker_fails_only_its_candidate() -> None:
    candidates = [tiny("small", steps=256, episodes=2), tiny("killed", **KILL), tiny("big", steps=512, episodes=3)]
    results = LocalExecutor(max_workers=2).map(candidates)
    assert [r.failed is None for r in results] == [True, False, True]
    assert [r.steps for r in results] == [256, 0, 512]
    assert results[0].evaluation.episodes == 2 and results[2].evaluation.episodes == 3  # type: ignore[union-attr]
    assert all(r.device == "cpu" and r.steps_per_s > 0 for r in (results[0], results[2]))
    assert results[1].failed.startswith("worker died: exit code -9 (SIGKILL")  # type: ignore[union-attr]


def test_local_jobs_overlap_and_exceptions_are_reported() -> None:
    # each job sleeps 3 s (no CPU, so a busy machine does not blur it) and then raises
    jobs = [tiny(f"sleeper{i}", **{TEST_FAULT_KEY: "raise", TEST_FAULT_DELAY_KEY: 3.0}) for i in range(2)]
    start = time.monotonic()
    results = run_isolated(jobs, max_workers=2)
    elapsed = time.monotonic() - start
    assert [r.failed for r in results] == ["exception: RuntimeError: injected test fault"] * 2
    assert elapsed < 0.8 * sum(r.wall_time_s for r in results), "the two jobs did not run at the same time"


def test_job_timeout_kills_the_job() -> None:
    hung = tiny("hung", **{TEST_FAULT_KEY: "raise", TEST_FAULT_DELAY_KEY: 120.0})
    start = time.monotonic()
    (result,) = run_isolated([hung], timeout_s=2.0)
    assert result.failed == "timed out after 2 s"
    assert time.monotonic() - start < 60


@pytest.fixture(scope="module")
def local_ray():  # type: ignore[no-untyped-def]
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'gymsmith[ray]')")
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"a local Ray instance could not start here: {type(exc).__name__}: {exc}")
    yield ray
    ray.shutdown()


def test_ray_executor_trains_two_candidates_and_reports_deaths(local_ray) -> None:  # type: ignore[no-untyped-def]
    executor = RayExecutor(address=None)
    results = executor.map([tiny("ray-a", episodes=2), tiny("ray-killed", **KILL), tiny("ray-b", episodes=3)])
    assert [r.failed is None for r in results] == [True, False, True]
    assert [r.steps for r in results] == [256, 0, 256]
    assert results[0].evaluation.episodes == 2 and results[2].evaluation.episodes == 3  # type: ignore[union-attr]
    assert results[1].failed.startswith("worker died: exit code -9 (SIGKILL")  # type: ignore[union-attr]
    executor.close()  # the fixture's instance: close() must leave a Ray it did not start running
    assert local_ray.is_initialized()


def test_ray_worker_crash_without_isolation(local_ray) -> None:  # type: ignore[no-untyped-def]
    (result,) = RayExecutor(address=None, isolate=False).map([tiny("ray-crash", **KILL)])
    assert result.failed is not None and result.failed.startswith("worker died: WorkerCrashedError")
