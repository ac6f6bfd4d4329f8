"""Running a program inside an env worker process that confined itself first (the fast path of training).

For throughput the program runs where the env steps, a plain function call per step, instead of a pipe round
trip to a `Sandbox` worker. The price is that the process must carry the sandbox's limits for good:
``confine_current_process`` gives it a network namespace, rlimits and the worker's seccomp filter (thread
clones allowed, so envs keep their threads), and `InProcessProgram` refuses nothing itself: callers check
`process_confined` first (see ``SECURITY.md``, "Env-worker confinement", for what differs from the worker).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import types
from collections.abc import Mapping
from typing import Any

from gymsmith.sandbox.program import CompiledProgram, SandboxError
from gymsmith.sandbox.worker import (
    apply_rlimits,
    classify_exception,
    describe_exception,
    install_seccomp,
    load_program,
    normalise_result,
    seccomp_selftest,
)

_CONFINED: dict[str, bool | str] | None = None


def process_confined() -> bool:
    """Whether this process carries the sandbox limits (then reward programs may run in it directly)."""
    return _CONFINED is not None and _CONFINED.get("seccomp") is True


def _unshare_net() -> bool | str:
    """Enter a fresh network namespace in-process (root directly, else through a user namespace)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        clone_newnet, clone_newuser = 0x40000000, 0x10000000
        if libc.unshare(clone_newnet) == 0:
            return True
        if libc.unshare(clone_newuser | clone_newnet) == 0:
            return True
        return f"unshare failed: {os.strerror(ctypes.get_errno())}"
    except OSError as exc:
        return f"unshare failed: {exc}"


def confine_current_process(*, memory_headroom_mb: int = 1024, nofile_headroom: int = 64) -> dict[str, bool | str]:
    """Confine a dedicated env worker process for good: no network, no exec/fork, no file writes.

    For SubprocVecEnv-style workers that run an env plus a verified reward program in-process: the env keeps
    its threads and already-open pipes, but nothing it (or an escaped program) does can reach outside.
    Irreversible, hence refused in a process that is not a multiprocessing child. Returns what was applied
    (``network_namespace``, ``rlimits``, ``seccomp``, ``seccomp_selftest``); calling it again returns the same.
    """
    global _CONFINED
    if _CONFINED is not None:
        return dict(_CONFINED)
    if multiprocessing.parent_process() is None and os.environ.get("GYMSMITH_CONFINE_MAIN") != "1":
        raise RuntimeError("confine_current_process() would confine the main process; call it in a worker")
    report: dict[str, bool | str] = {}
    report["network_namespace"] = _unshare_net()
    vm = 0
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    vm = int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    try:
        nfd = max(int(x) for x in os.listdir("/proc/self/fd")) + 1
    except (OSError, ValueError):
        nfd = 256
    limits = apply_rlimits(
        cpu_s=None,
        memory_bytes=(vm + (memory_headroom_mb << 20)) if vm else None,
        nproc=None,  # threads count against NPROC; seccomp stops forks instead
        fsize=None,  # an inherited log file on stderr must stay writable; seccomp stops opening new ones
        nofile=nfd + nofile_headroom,
    )
    report["rlimits"] = " ".join(f"{k}={v}" for k, v in limits.items())
    report["seccomp"] = install_seccomp(allow_threads=True)
    report["seccomp_selftest"] = seccomp_selftest() if report["seccomp"] is True else False
    _CONFINED = report
    return dict(report)


class InProcessProgram:
    """A compiled program called directly, for env workers that already confined themselves.

    A per-call wall-clock alarm (SIGALRM, main thread only) turns a runaway loop into a SandboxError; a hang in
    C code is bounded by the verifier (which measured the program first) and the integer-size guards.
    """

    def __init__(self, program: CompiledProgram | types.CodeType | str, *, timeout_s: float = 0.05) -> None:
        code = program if isinstance(program, types.CodeType) else CompiledProgram.of(program).code
        self._fn = load_program(code)
        self.timeout_s = timeout_s
        self._use_alarm = threading.current_thread() is threading.main_thread() and timeout_s > 0
        if self._use_alarm:
            # installed once: per call only the timer is armed and disarmed (two cheap syscalls)
            signal.signal(signal.SIGALRM, self._on_alarm)

    def _on_alarm(self, signum: int, frame: Any) -> None:
        raise SandboxError("timeout", f"reward program ran longer than {self.timeout_s * 1000:.0f} ms")

    def __call__(
        self,
        obs: Mapping[str, float],
        action: int,
        next_obs: Mapping[str, float],
        info: Mapping[str, Any],
        state: Mapping[str, Any],
    ) -> tuple[float, dict[str, float]]:
        """One call with read-only views of the inputs (``info["events"]`` and ``state["events_so_far"]`` must
        already be tuples): a program can look at its arguments, never change them."""
        mp = types.MappingProxyType
        if self._use_alarm:
            signal.setitimer(signal.ITIMER_REAL, self.timeout_s)
        try:
            return normalise_result(self._fn(mp(obs), action, mp(next_obs), mp(info), mp(state)))
        except SandboxError:
            raise
        except Exception as exc:
            raise SandboxError(classify_exception(exc), describe_exception(exc)) from exc
        finally:
            if self._use_alarm:
                signal.setitimer(signal.ITIMER_REAL, 0)
