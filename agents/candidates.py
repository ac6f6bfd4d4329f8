"""One independent training job: a `CandidateSpec` in, a `TrainResult` out.

Reward search and probe trainings compare many candidates under the same budget; each one is trained from
scratch, so jobs share nothing and can run in any process or on any machine (see `agents/executors.py`). The
job function only takes and returns pydantic models (as JSON across process boundaries), which is what lets a
local process pool and a Ray cluster run the very same code.
"""

from __future__ import annotations

import os
import signal
import time
import traceback
from pathlib import Path
from typing import Any

from gymsmith.schemas import CandidateSpec, TrainResult

#: Test-only fault injection, read from ``spec.ppo`` (and removed before PPO sees it): the tests need a job that
#: really dies (SIGKILL, segfault, non-zero exit, exception) inside whatever worker an executor gave it.
TEST_FAULT_KEY = "_gymsmith_test_fault"
#: Seconds to sleep before the fault fires, so a test can have a job die while another one is mid-training.
TEST_FAULT_DELAY_KEY = "_gymsmith_test_fault_delay_s"


def set_worker_threads(threads: int) -> None:
    """Pin torch (and the BLAS/OpenMP pools under it) to this job's share of the cores.

    N jobs on N cores only scale if each stays on its core: torch's default of one thread per core would have
    every job fight every other one for all of them.
    """
    threads = max(1, int(threads))
    # GYMSMITH_TORCH_THREADS: the Trainer's own thread choice (configure_threads) honours it
    for var in ("GYMSMITH_TORCH_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    import torch

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:  # only settable before the first inter-op work; harmless when already fixed
        pass


def _inject_fault(fault: str, delay_s: float) -> None:
    if delay_s > 0:
        time.sleep(delay_s)
    if fault == "raise":
        raise RuntimeError("injected test fault")
    if fault.startswith("exit"):
        os._exit(int(fault.partition(":")[2] or 3))
    os.kill(os.getpid(), getattr(signal, fault))
    time.sleep(30)  # a signal that does not kill at once (none of the ones tests use) still ends the job here


def train_candidate(
    spec: CandidateSpec,
    *,
    vec: str = "dummy",
    threads: int | None = None,
    checkpoint_dir: str | None = None,
) -> TrainResult:
    """Train a fresh agent on the candidate's mixture (or the target alone), then evaluate it on the target.

    Raises on errors: executors turn exceptions and dead workers into ``TrainResult(failed=...)``, so a caller
    running one candidate in-process still sees the real traceback.
    """
    from gymsmith.agents.train import Trainer

    ppo: dict[str, Any] = dict(spec.ppo)
    fault = ppo.pop(TEST_FAULT_KEY, None)
    fault_delay = float(ppo.pop(TEST_FAULT_DELAY_KEY, 0.0))
    kwargs: dict[str, Any] = {
        "n_envs": spec.n_envs,
        "seed": spec.seed,
        "device": spec.device,
        "vec": vec,
        "ppo_kwargs": ppo,
    }
    mixture = spec.training_mixture()
    kwargs["reward_program"] = mixture.reward
    if fault:
        _inject_fault(str(fault), fault_delay)
    start = time.perf_counter()
    trainer = Trainer(spec.target_env, **kwargs)
    try:
        if threads is not None:
            # after the Trainer: its constructor sizes torch's pool for a process that has the machine to itself
            set_worker_threads(threads)
        result, _log = trainer.train(mixture, spec.steps)
        skills = spec.skills if spec.skills is not None else trainer.family.task().skills
        evaluation = trainer.evaluate(episodes=spec.eval_episodes, skills=skills)
        checkpoint = None
        if checkpoint_dir is not None:
            checkpoint = trainer.save(Path(checkpoint_dir) / f"{spec.name}-{spec.digest()}")
    finally:
        trainer.close()
    total = time.perf_counter() - start
    # wall time covers the whole job (env construction, training, evaluation): what a scheduler pays per job;
    # steps_per_s stays the trainer's own training-only figure
    return result.model_copy(update={"evaluation": evaluation, "checkpoint": checkpoint, "wall_time_s": total})


def run_job(
    spec_json: str, vec: str = "dummy", threads: int | None = 1, checkpoint_dir: str | None = None
) -> dict[str, str]:
    """Executor entry point: never raises, so only a dead worker (not a Python error) is a 'crash'.

    Returns ``{"result": TrainResult JSON}`` or ``{"error": one line, "traceback": text}``.
    """
    try:
        spec = CandidateSpec.model_validate_json(spec_json)
        if threads is not None:
            set_worker_threads(threads)
        result = train_candidate(spec, vec=vec, threads=threads, checkpoint_dir=checkpoint_dir)
        return {"result": result.model_dump_json()}
    except BaseException as exc:  # reported to the parent, which marks the candidate failed
        return {"error": f"{type(exc).__name__}: {exc}"[:2000], "traceback": traceback.format_exc()[-8000:]}


def failed_result(spec: CandidateSpec, reason: str, wall_time_s: float = 0.0) -> TrainResult:
    """The result of a job that produced none: zero steps, the reason in ``failed``."""
    return TrainResult(steps=0, wall_time_s=wall_time_s, steps_per_s=0.0, device=spec.device, failed=reason)


def decode_job_output(spec: CandidateSpec, output: dict[str, str], wall_time_s: float) -> TrainResult:
    if "result" in output:
        return TrainResult.model_validate_json(output["result"])
    return failed_result(spec, f"exception: {output.get('error', 'unknown error')}", wall_time_s)
