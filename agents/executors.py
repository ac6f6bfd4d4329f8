"""Run many independent candidate trainings at once: on this machine's cores, or on a Ray cluster.

One interface, ``Executor.map(candidates) -> results``, results in input order, one `TrainResult` per
candidate. A candidate whose job dies — an exception, a segfault, SIGKILL from the OOM killer — comes back
with ``failed`` set and the others still finish: a reward search must not lose a whole cycle to one bad
program or one unlucky worker.

How a dead job is detected: every job runs in its own process (``run_isolated``), started from a forkserver,
with a one-way pipe for its result. The parent waits on both the pipe and the process sentinel
(``multiprocessing.connection.wait``): a result on the pipe is success (or a reported Python exception); a
sentinel that fires with nothing on the pipe is a death, and the process's exit code names the cause
(``-9`` = SIGKILL, ``-11`` = SIGSEGV, ...). No process is shared between jobs, so unlike a
``ProcessPoolExecutor`` (which breaks for good when one worker dies) a death costs exactly one candidate. Ray
tasks run the same isolated runner inside the task, so a job's death is reported the same way there and the
Ray worker survives; Ray's own errors (worker or node lost, Ray's OOM monitor) are mapped to ``failed`` too.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING, Any

from gymsmith.agents.candidates import decode_job_output, failed_result, run_job
from gymsmith.schemas import CandidateSpec, TrainResult

if TYPE_CHECKING:
    from gymsmith.config import RunConfig

#: Fraction of a GPU a candidate asks Ray for when it trains on CUDA: gymsmith's agents are small, so four
#: share one GPU comfortably; the CPU cores each job holds are the real limit.
DEFAULT_GPU_FRACTION = 0.25
#: Seconds a job that already sent its result may take to exit before it is killed.
EXIT_GRACE_S = 10.0


def available_cores() -> int:
    """Cores this process may run on (affinity and cgroup cpusets count, not the host's total)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def describe_exit(exitcode: int | None) -> str:
    """A reason a person can act on: SIGKILL usually means the OOM killer, SIGSEGV a native crash."""
    if exitcode is None:
        return "worker did not exit"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = {
            "SIGKILL": ": killed, e.g. by the kernel's OOM killer",
            "SIGSEGV": ": native crash",
            "SIGTERM": ": terminated",
        }.get(name, "")
        return f"worker died: exit code {exitcode} ({name}{hint})"
    if exitcode == 0:
        return "worker exited without sending a result"
    return f"worker died: exit code {exitcode}"


#: Variables a job takes from the process that submitted it rather than from the (older) forkserver it is forked
#: from: Ray sets the GPU a task may use per task, in a worker whose forkserver may serve several tasks.
PASSED_ENV = ("CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES")


def _die_with_parent() -> None:
    """Linux: have the kernel SIGKILL this job when its parent goes, so a killed executor leaves no orphans."""
    if not os.path.exists("/proc/self"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _job_process(
    conn: Connection,
    spec_json: str,
    vec: str,
    threads: int | None,
    checkpoint_dir: str | None,
    env: dict[str, str],
) -> None:
    # The parent owns Ctrl-C (it kills its jobs); a job dying of SIGINT first would be misreported as a crash.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    os.environ.update(env)
    output = run_job(spec_json, vec=vec, threads=threads, checkpoint_dir=checkpoint_dir)
    conn.send_bytes(json.dumps(output).encode())
    conn.close()


@dataclass
class _Job:
    index: int
    spec: CandidateSpec
    process: Any
    conn: Connection
    started: float
    deadline: float | None


def _receive(conn: Connection) -> dict[str, str] | None:
    try:
        return json.loads(conn.recv_bytes())
    except (EOFError, OSError, ValueError):  # closed without a message, or cut off mid-message by a death
        return None


def _kill(process: Any) -> None:
    if process.is_alive():
        process.kill()
    process.join(timeout=EXIT_GRACE_S)


def _finish(job: _Job, output: dict[str, str] | None, reason: str | None = None) -> TrainResult:
    wall = time.monotonic() - job.started
    if output is None and reason is None:
        try:
            if job.conn.poll(0):  # the process may have exited right after writing its result
                output = _receive(job.conn)
        except OSError:
            output = None
    job.process.join(timeout=EXIT_GRACE_S)  # a closed pipe or a sent result: the process is on its way out
    _kill(job.process)
    job.conn.close()
    if reason is not None:
        return failed_result(job.spec, reason, wall)
    if output is not None:
        return decode_job_output(job.spec, output, wall)
    return failed_result(job.spec, describe_exit(job.process.exitcode), wall)


#: Modules the forkserver imports once, so each job forks with torch, SB3 and the envs already loaded instead
#: of spending seconds importing them (a large share of a short candidate's wall time on a busy machine).
#: ``torch._dynamo`` is what torch's optimisers import lazily on first construction: about 1 s (4 s on a busy
#: machine) per job otherwise.
FORKSERVER_PRELOAD = (
    "gymsmith.agents.candidates",
    "gymsmith.agents.train",
    "gymsmith.envs",
    "torch._dynamo",
)


def _preload_forkserver() -> None:
    """Set the preload list only while the forkserver has not started and nobody else chose one."""
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    if getattr(server, "_forkserver_pid", 0) is None and getattr(server, "_preload_modules", None) == ["__main__"]:
        multiprocessing.set_forkserver_preload(["__main__", *FORKSERVER_PRELOAD])


def default_start_method() -> str:
    """forkserver: a clean, single-threaded parent to fork from (fork from a threaded trainer or Ray worker is
    unsafe) without paying spawn's full interpreter start per job."""
    methods = multiprocessing.get_all_start_methods()
    return "forkserver" if "forkserver" in methods else "spawn"


def run_isolated(
    candidates: Sequence[CandidateSpec],
    *,
    max_workers: int = 1,
    vec: str = "dummy",
    threads: int | None = 1,
    checkpoint_dir: str | None = None,
    timeout_s: float | None = None,
    start_method: str | None = None,
) -> list[TrainResult]:
    """Run each candidate in its own process, at most ``max_workers`` at a time; results in input order."""
    method = start_method or default_start_method()
    ctx = multiprocessing.get_context(method)
    if method == "forkserver":
        _preload_forkserver()
    results: list[TrainResult | None] = [None] * len(candidates)
    pending = deque(enumerate(candidates))
    running: list[_Job] = []
    env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
    try:
        while pending or running:
            while pending and len(running) < max(1, max_workers):
                index, spec = pending.popleft()
                receiver, sender = ctx.Pipe(duplex=False)
                process = ctx.Process(
                    target=_job_process,
                    args=(sender, spec.model_dump_json(), vec, threads, checkpoint_dir, env),
                    name=f"gymsmith-candidate-{index}",
                    daemon=False,  # jobs may start env worker processes of their own (SubprocVecEnv)
                )
                now = time.monotonic()
                process.start()
                sender.close()  # only the child holds the write end now: its death reads as EOF here
                running.append(_Job(index, spec, process, receiver, now, now + timeout_s if timeout_s else None))
            deadlines = [j.deadline for j in running if j.deadline is not None]
            wait_s = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
            by_handle: dict[Any, _Job] = {}
            for job in running:
                by_handle[job.conn] = job
                by_handle[job.process.sentinel] = job
            ready = wait(list(by_handle), timeout=wait_s)
            done: dict[int, TrainResult] = {}
            for handle in ready:
                job = by_handle[handle]
                if job.index in done:
                    continue
                output = _receive(job.conn) if handle is job.conn else None
                done[job.index] = _finish(job, output)
            now = time.monotonic()
            for job in running:
                if job.index not in done and job.deadline is not None and now >= job.deadline:
                    _kill(job.process)
                    done[job.index] = _finish(job, None, f"timed out after {timeout_s:g} s")
            for index, result in done.items():
                results[index] = result
            running = [j for j in running if j.index not in done]
    finally:
        for job in running:  # interrupted (Ctrl-C, an error here): leave no orphans behind
            _kill(job.process)
            job.conn.close()
    return [r for r in results if r is not None]


class Executor(ABC):
    """Runs independent candidate trainings; never raises for a candidate's failure."""

    @abstractmethod
    def map(self, candidates: list[CandidateSpec]) -> list[TrainResult]:
        """One result per candidate, in input order; failures have ``failed`` set."""

    def close(self) -> None:
        """Release what the executor started (a local Ray instance); a no-op where nothing was."""
        return None

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LocalExecutor(Executor):
    """Candidates in parallel processes on this machine, each pinned to ``cpus_per_job`` cores.

    With ``vec="dummy"`` a job steps its envs in its own process and trains with ``cpus_per_job`` torch
    threads, so the default (one core per job, as many jobs as cores) scales to the core count; with
    ``vec="subproc"`` give each job as many cores as it has envs.
    """

    def __init__(
        self,
        max_workers: int | None = None,
        *,
        cpus_per_job: int = 1,
        vec: str = "dummy",
        checkpoint_dir: str | None = None,
        timeout_s: float | None = None,
        start_method: str | None = None,
    ) -> None:
        if vec not in ("dummy", "subproc"):
            raise ValueError(f"vec must be dummy or subproc, not {vec!r}")
        self.cpus_per_job = max(1, cpus_per_job)
        self.max_workers = max_workers or max(1, available_cores() // self.cpus_per_job)
        self.vec = vec
        self.checkpoint_dir = checkpoint_dir
        self.timeout_s = timeout_s
        self.start_method = start_method

    def map(self, candidates: list[CandidateSpec]) -> list[TrainResult]:
        return run_isolated(
            candidates,
            max_workers=min(self.max_workers, max(1, len(candidates))),
            vec=self.vec,
            threads=self.cpus_per_job,
            checkpoint_dir=self.checkpoint_dir,
            timeout_s=self.timeout_s,
            start_method=self.start_method,
        )


def _ray_task(
    spec_json: str, vec: str, threads: int, checkpoint_dir: str | None, timeout_s: float | None, isolate: bool
) -> str:
    """Body of a Ray task: the isolated runner inside it reports exit codes and keeps the Ray worker alive."""
    spec = CandidateSpec.model_validate_json(spec_json)
    if not isolate:
        start = time.monotonic()
        output = run_job(spec_json, vec=vec, threads=threads, checkpoint_dir=checkpoint_dir)
        return decode_job_output(spec, output, time.monotonic() - start).model_dump_json()
    result = run_isolated([spec], vec=vec, threads=threads, checkpoint_dir=checkpoint_dir, timeout_s=timeout_s)
    return result[0].model_dump_json()


def _ray_reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"worker died: {type(exc).__name__}: {first}"[:500]


class RayExecutor(Executor):
    """Candidates as Ray tasks: on a local Ray instance (``address=None``) or an existing cluster.

    ``address="auto"`` joins the cluster started on this node with ``ray start``; ``"HOST:PORT"`` joins a
    remote head. Every task asks for ``cpus_per_job`` CPUs and, when its device is CUDA, ``gpu_fraction`` of a
    GPU (Ray then picks the GPU, so ``cuda:N`` becomes ``cuda`` inside the task). Tasks are never retried:
    a candidate that killed its worker would most likely kill the next one too.

    ``isolate=True`` (default) runs each job in a child process of the Ray worker: a death is then reported
    with its exit code and the (reused) Ray worker survives it; ``False`` saves that process start and reports
    deaths as Ray's own ``WorkerCrashedError``.
    """

    def __init__(
        self,
        address: str | None = "auto",
        *,
        cpus_per_job: int = 1,
        gpu_fraction: float = DEFAULT_GPU_FRACTION,
        vec: str = "dummy",
        max_in_flight: int | None = None,
        checkpoint_dir: str | None = None,
        timeout_s: float | None = None,
        init_kwargs: dict[str, Any] | None = None,
        isolate: bool = True,
    ) -> None:
        if vec not in ("dummy", "subproc"):
            raise ValueError(f"vec must be dummy or subproc, not {vec!r}")
        self.isolate = isolate
        self.address = address
        self.cpus_per_job = max(1, cpus_per_job)
        self.gpu_fraction = gpu_fraction
        self.vec = vec
        self.max_in_flight = max_in_flight
        self.checkpoint_dir = checkpoint_dir
        self.timeout_s = timeout_s
        self.init_kwargs = dict(init_kwargs or {})
        self._started_ray = False

    @staticmethod
    def _ray() -> Any:
        try:
            import ray
        except ImportError as exc:  # pragma: no cover - ray is an optional extra
            raise RuntimeError("the ray executor needs Ray: pip install 'gymsmith[ray]'") from exc
        return ray

    def _ensure_ray(self) -> Any:
        ray = self._ray()
        if not ray.is_initialized():
            kwargs = {"include_dashboard": False, "log_to_driver": False, **self.init_kwargs}
            try:
                ray.init(address=self.address, **kwargs)
            except ConnectionError as exc:
                raise RuntimeError(
                    f"cannot reach a Ray cluster at {self.address!r}: start one with `ray start --head` "
                    f"(and `ray start --address=HEAD:6379` on the workers), or leave ray_address unset for a "
                    f"local Ray instance ({exc})"
                ) from exc
            self._started_ray = True
        return ray

    def _placement(self, ray: Any, spec: CandidateSpec) -> tuple[str, float]:
        """The device the task trains on and the GPU share it asks Ray for."""
        device = spec.device
        if device == "auto":
            device = "cuda" if ray.cluster_resources().get("GPU", 0) > 0 else "cpu"
        if device.startswith("cuda"):
            return "cuda", self.gpu_fraction
        return device, 0.0

    def map(self, candidates: list[CandidateSpec]) -> list[TrainResult]:
        ray = self._ensure_ray()
        from ray.exceptions import GetTimeoutError, RayError, RayTaskError

        task = ray.remote(_ray_task)
        results: list[TrainResult | None] = [None] * len(candidates)
        pending = deque(enumerate(candidates))
        in_flight: dict[Any, tuple[int, CandidateSpec, float]] = {}
        limit = self.max_in_flight or len(candidates) or 1
        grace = None if self.timeout_s is None else self.timeout_s + 60.0  # the inner runner times out first
        try:
            while pending or in_flight:
                while pending and len(in_flight) < limit:
                    index, spec = pending.popleft()
                    device, gpus = self._placement(ray, spec)
                    spec_json = spec.model_copy(update={"device": device}).model_dump_json()
                    ref = task.options(
                        num_cpus=self.cpus_per_job, num_gpus=gpus, max_retries=0, name=f"candidate-{spec.name}"
                    ).remote(spec_json, self.vec, self.cpus_per_job, self.checkpoint_dir, self.timeout_s, self.isolate)
                    in_flight[ref] = (index, spec, time.monotonic())
                ready, _ = ray.wait(list(in_flight), num_returns=1, timeout=30.0)
                now = time.monotonic()
                for ref in list(in_flight):
                    index, spec, started = in_flight[ref]
                    if ref not in ready:
                        if grace is not None and now - started > grace:
                            ray.cancel(ref, force=True)
                            results[index] = failed_result(spec, f"timed out after {self.timeout_s:g} s", now - started)
                            del in_flight[ref]
                        continue
                    del in_flight[ref]
                    try:
                        results[index] = TrainResult.model_validate_json(ray.get(ref))
                    except RayTaskError as exc:  # an error in gymsmith's own task code, not in the job
                        results[index] = failed_result(spec, f"exception: {_ray_reason(exc)}", now - started)
                    except (RayError, GetTimeoutError) as exc:
                        results[index] = failed_result(spec, _ray_reason(exc), now - started)
        finally:
            for ref in in_flight:
                ray.cancel(ref, force=True)
        return [r for r in results if r is not None]

    def close(self) -> None:
        if self._started_ray:
            self._ray().shutdown()
            self._started_ray = False


def make_executor(config: RunConfig) -> Executor:
    """The executor a run config asks for; each job gets one core per env process it will run.

    ``vec: auto`` means one process per job here: independent jobs already fill the cores in parallel.
    """
    vec = "dummy" if config.vec == "auto" else config.vec
    cpus_per_job = 1 if vec == "dummy" else max(1, config.n_envs)
    if config.executor == "ray":
        return RayExecutor(
            address=config.ray_address, cpus_per_job=cpus_per_job, vec=vec, max_in_flight=config.parallel
        )
    if config.executor != "local":
        raise ValueError(f"executor must be local or ray, not {config.executor!r}")
    return LocalExecutor(max_workers=config.parallel, cpus_per_job=cpus_per_job, vec=vec)


__all__ = [
    "Executor",
    "LocalExecutor",
    "RayExecutor",
    "available_cores",
    "describe_exit",
    "make_executor",
    "run_isolated",
]
