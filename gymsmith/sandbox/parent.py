"""The parent side of the sandbox: a persistent, confined worker process that runs one program over batches.

The verifier, ``gymsmith doctor`` and the vectorised reward wrapper use it. The parent trusts nothing the worker
sends: replies are a bounded JSON header plus raw doubles, validated again here, and every request has a
wall-clock deadline after which the worker's process group is killed.
"""

from __future__ import annotations

import ast
import json
import marshal
import os
import select
import signal
import subprocess
import time
import types
from array import array
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from gymsmith.sandbox import launch
from gymsmith.sandbox.program import CompiledProgram, SandboxError
from gymsmith.sandbox.worker import (
    FAST_REPLY,
    FRAME_LEN,
    MAX_COMPONENTS,
    MAX_ERROR_CHARS,
    RECURSION_LIMIT,
    SAFE_BUILTIN_NAMES,
    FrameIO,
    good_name,
)
from gymsmith.schemas import RewardProgram

#: Address-space cap of the sandbox worker (a bare ``python -S`` needs ~25 MiB of it).
DEFAULT_MEMORY_MB = 256
#: CPU seconds a worker may burn in its life; it is recycled at half of this, so a long training run never
#: trips it by accumulation, while a program that loops in C code is still killed by the kernel.
DEFAULT_CPU_S = 20
#: Wall-clock allowance per batch = CALL_TIMEOUT_S + rows * ROW_TIMEOUT_S.
CALL_TIMEOUT_S = 0.5
ROW_TIMEOUT_S = 0.005
#: How long the parent polls for a reply before it sleeps in select(2). A worker woken on an idle CPU often
#: answers within this, and then the parent's own wakeup (tens of microseconds on virtual machines, and a
#: migration away from its warm caches) is saved. Kept short, and without sched_yield: on a busy machine a
#: yielding or long-polling parent loses whole time slices (measured: 0.71-0.73x against 0.78x for select alone).
SPIN_S = 0.0002

Row = tuple[Mapping[str, float], int, Mapping[str, float], Mapping[str, Any], Mapping[str, Any]]

#: The launcher that worked first in this process, and why the better ones did not.
_LAUNCHER_CHOICE: tuple[str, dict[str, str]] | None = None


def encode_row(row: Any) -> tuple[dict[str, float], int, dict[str, float], dict[str, Any], dict[str, Any]]:
    """Plain, marshal-able copies of one transition (tuple or dict with obs/action/next_obs/info/state)."""
    if isinstance(row, Mapping):
        obs, action, next_obs, info, state = (row["obs"], row["action"], row["next_obs"], row["info"], row["state"])
    else:
        obs, action, next_obs, info, state = row
    return (
        {str(k): float(v) for k, v in obs.items()},
        int(action),
        {str(k): float(v) for k, v in next_obs.items()},
        {
            "events": tuple(str(e) for e in info.get("events", ())),
            "terminated": bool(info.get("terminated", False)),
            "truncated": bool(info.get("truncated", False)),
            "env_reward": float(info.get("env_reward", 0.0)),
        },
        {
            "episode_step": int(state.get("episode_step", 0)),
            "events_so_far": tuple(str(e) for e in state.get("events_so_far", ())),
        },
    )


class Sandbox:
    """A persistent, confined worker process that runs one reward program over batches of transitions.

    Restarted transparently after a timeout, a crash, or when its CPU allowance is half spent; the current
    program is reloaded into the fresh worker, so callers only see the failing call's SandboxError.
    """

    def __init__(
        self,
        *,
        memory_mb: int = DEFAULT_MEMORY_MB,
        cpu_s: int = DEFAULT_CPU_S,
        call_timeout_s: float = CALL_TIMEOUT_S,
        row_timeout_s: float = ROW_TIMEOUT_S,
        launcher: str = "auto",
        start_timeout_s: float = 10.0,
        seccomp: bool = True,
    ) -> None:
        """``seccomp=False`` exists only so tests and doctor can show what the other layers stop on their own."""
        self.memory_mb = memory_mb
        self.cpu_s = cpu_s
        self.call_timeout_s = call_timeout_s
        self.row_timeout_s = row_timeout_s
        self.launcher = launcher
        self.start_timeout_s = start_timeout_s
        self.seccomp = seccomp
        self._proc: subprocess.Popen[bytes] | None = None
        self._pipe: FrameIO | None = None
        self._deadline = self._spin_until = 0.0
        #: The next_obs mappings of the last successful call: a row whose obs is one of them (same row, same
        #: object: the episode went on) is sent as a continuation, the worker keeps them.
        self._last_next: list[Any] = []
        self._code: types.CodeType | None = None
        self._hello: dict[str, Any] = {}
        self._names: list[str] = []
        self._launch_used = ""
        self._launch_failures: dict[str, str] = {}
        self._cpu_used = 0.0
        self.restarts = 0
        self.last_start_ms = 0.0

    # -- lifecycle

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # pragma: no cover - best effort at interpreter exit
        try:
            self.close()
        except Exception:
            pass

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Start the worker; with launcher='auto' probe bwrap -> unshare -> plain once per process."""
        if self.alive:
            return
        self._start_worker()
        if self._code is not None:  # a restart: the fresh worker gets the current program back
            self._load_code(self._code)

    def _start_worker(self) -> None:
        global _LAUNCHER_CHOICE
        if self.launcher != "auto":
            self._spawn(self.launcher)
            return
        if _LAUNCHER_CHOICE is not None:
            name, failures = _LAUNCHER_CHOICE
            self._launch_failures = dict(failures)
            try:
                self._spawn(name)
                return
            except SandboxError:
                _LAUNCHER_CHOICE = None
        failures: dict[str, str] = {}
        for name in launch.LAUNCHERS:
            try:
                self._spawn(name)
            except SandboxError as exc:
                failures[name] = str(exc)
                continue
            self._launch_failures = failures
            _LAUNCHER_CHOICE = (name, failures)
            return
        raise SandboxError("crash", "no launcher could start a sandbox worker: " + "; ".join(failures.values()))

    def _spawn(self, name: str) -> None:
        tool = launch.missing_tool(name)
        if tool:
            raise SandboxError("crash", f"{tool} is not installed")
        started = time.perf_counter()
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        config = {"cpu_s": self.cpu_s, "memory_mb": self.memory_mb, "recursion_limit": RECURSION_LIMIT,
                  "seccomp": self.seccomp}  # fmt: skip
        try:
            proc = subprocess.Popen(
                launch.worker_argv(name, req_r, resp_w, json.dumps(config)),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                pass_fds=(req_r, resp_w),
                env={},
                close_fds=True,
                start_new_session=True,
            )
        except OSError as exc:
            for fd in (req_r, req_w, resp_r, resp_w):
                os.close(fd)
            raise SandboxError("crash", f"{name}: {exc}") from exc
        os.close(req_r)
        os.close(resp_w)
        if proc.stderr is not None:  # read only after death, never waiting on a live (or hostile) writer
            os.set_blocking(proc.stderr.fileno(), False)
        os.set_blocking(req_w, False)
        os.set_blocking(resp_r, False)
        self._proc, self._pipe, self._names, self._last_next = proc, FrameIO(resp_r, req_w, self._wait), [], []
        try:
            self._deadline = time.monotonic() + self.start_timeout_s
            hello = json.loads(self._recv())
            if not isinstance(hello, dict) or hello.get("hello") != 1:
                raise SandboxError("protocol", "worker sent no hello")
        except SandboxError as exc:
            err = self._stderr_tail()
            self._kill()
            raise SandboxError("crash", f"{name}: worker did not start ({exc}) {err}".strip()) from exc
        self._hello = hello
        self._launch_used = name
        self._cpu_used = 0.0
        self.last_start_ms = (time.perf_counter() - started) * 1000

    def _kill(self) -> None:
        proc, pipe = self._proc, self._pipe
        self._proc = self._pipe = None
        if pipe is not None:
            for fd in (pipe.read_fd, pipe.write_fd):
                try:
                    os.close(fd)
                except OSError:
                    pass
        if proc is not None:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except OSError:
                    proc.kill()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:  # pragma: no cover
                pass
            if proc.stderr is not None:
                proc.stderr.close()

    def restart(self) -> None:
        self._kill()
        self.restarts += 1
        self.start()

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None and self._pipe is not None:
            try:
                self._deadline = time.monotonic() + 0.5
                self._pipe.send(marshal.dumps(("exit",)))
                self._proc.wait(timeout=0.5)
            except (SandboxError, subprocess.TimeoutExpired, OSError):
                pass
        self._kill()

    # -- framing with deadlines (a hung or hostile worker can never block the parent)

    def _stderr_tail(self) -> str:
        proc = self._proc
        if proc is None or proc.stderr is None or proc.poll() is None:
            return ""
        try:
            data = os.read(proc.stderr.fileno(), 4096)
        except OSError:  # includes BlockingIOError: nothing written
            return ""
        return data.decode(errors="replace").strip()[-400:]

    def _wait(self, fd: int, writing: bool) -> None:
        now = time.monotonic()
        if now >= self._deadline:
            raise SandboxError("timeout", "timed out")
        if not writing and now < self._spin_until:
            return
        select.select([] if writing else [fd], [fd] if writing else [], [], self._deadline - now)

    def _recv(self) -> bytes:
        try:
            return self._pipe.recv()  # type: ignore[union-attr]
        except EOFError as exc:
            raise SandboxError("crash", "worker exited") from exc
        except ValueError as exc:  # a frame over the limit
            raise SandboxError("protocol", str(exc)) from exc

    def _request(self, payload: bytes, timeout_s: float) -> tuple[dict[str, Any], bytes]:
        """Send one request, return (header, trailing binary); on any failure the worker is killed."""
        if not self.alive:
            self.restart()
        self._deadline = time.monotonic() + timeout_s
        try:
            self._pipe.send(payload)  # type: ignore[union-attr]
            self._spin_until = time.monotonic() + SPIN_S
            frame = self._recv()
        except OSError as exc:
            self._fail(SandboxError("crash", f"worker pipe closed: {exc}"), timeout_s)
        except SandboxError as exc:
            self._fail(exc, timeout_s)
        if len(frame) < 4:
            self._fail(SandboxError("protocol", "short reply"), timeout_s)
        (hn,) = FRAME_LEN.unpack_from(frame)
        if hn == 0 and len(frame) >= FAST_REPLY.size:  # a call's usual reply: no JSON, the names as last time
            _, n, cpu = FAST_REPLY.unpack_from(frame)
            self._cpu_used = cpu
            return {"ok": True, "n": n, "names": self._names, "cpu": cpu}, frame[FAST_REPLY.size :]
        try:
            header = json.loads(frame[4 : 4 + hn])
        except ValueError:
            self._fail(SandboxError("protocol", "unparseable reply"), timeout_s)
        if not isinstance(header, dict):
            self._fail(SandboxError("protocol", "reply header is not an object"), timeout_s)
        cpu = header.get("cpu")
        if isinstance(cpu, (int, float)):
            self._cpu_used = float(cpu)
        return header, frame[4 + hn :]

    def _fail(self, exc: SandboxError, timeout_s: float) -> NoReturn:
        """Kill the worker and translate how it ended into a SandboxError the verifier can name."""
        proc = self._proc
        if exc.kind == "timeout":
            self._kill()
            raise SandboxError("timeout", f"no answer within {timeout_s:.2f} s; worker killed and restarted")
        code = None
        if proc is not None:
            try:
                code = proc.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                code = None
        tail = self._stderr_tail()
        self._kill()
        if exc.kind == "crash" and code is not None:
            sig = -code if code < 0 else code - 128 if code > 128 else 0
            if sig == signal.SIGXCPU or (sig == signal.SIGKILL and self._cpu_used > self.cpu_s * 0.5):
                raise SandboxError("cpu", f"worker exceeded its CPU limit ({self.cpu_s} s) and was killed")
            if sig == signal.SIGKILL:
                raise SandboxError("crash", "worker killed by SIGKILL (the kernel's CPU or memory limit)")
            if sig:
                name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
                raise SandboxError("crash", f"worker killed by {name}")
            if "MemoryError" in tail:
                raise SandboxError("memory", f"worker ran out of memory (limit {self.memory_mb} MiB)")
            raise SandboxError("crash", f"worker exited with status {code}: {tail[-200:]}".strip())
        raise exc

    @staticmethod
    def _check(header: dict[str, Any]) -> None:
        if header.get("ok") is True:
            return
        kind = header.get("kind")
        kind = kind if isinstance(kind, str) and len(kind) < 20 else "protocol"
        error = str(header.get("error", ""))[:MAX_ERROR_CHARS]
        row = header.get("row")
        raise SandboxError(kind, error, row if isinstance(row, int) else None)

    # -- API

    @property
    def worker_info(self) -> dict[str, Any]:
        return dict(self._hello)

    def load(self, program: CompiledProgram | RewardProgram | types.CodeType | str) -> None:
        """Load a program; anything but a code object goes through `CompiledProgram.of` (static layer, once)."""
        code = program if isinstance(program, types.CodeType) else CompiledProgram.of(program).code
        self._code = None
        self._last_next = []
        self.start()
        self._load_code(code)
        self._code = code

    def _load_code(self, code: types.CodeType) -> None:
        header, _ = self._request(marshal.dumps(("load", code)), self.call_timeout_s + 0.5)
        self._check(header)

    @property
    def cpu_seconds(self) -> float:
        """CPU time the current worker reports having used (measures cost without other processes' noise)."""
        return self._cpu_used

    def call_arrays(self, rows: Sequence[Any], *, encoded: bool = False) -> tuple[list[str], array, int]:
        """Fast path: (component names, flat doubles [total, c1..ck] per row, k) — no per-row dicts.

        ``encoded``: the rows are already (obs, action, next_obs, info, state) of plain types (`encode_row`), and
        mappings are not changed after they were passed. Falls back to building arrays from the JSON rows when a
        program's component keys vary by row.
        """
        if self._code is None:
            raise SandboxError("load", "no program loaded")
        if not self.alive or self._cpu_used > self.cpu_s * 0.5:
            self.restart()  # before choosing continuations: a fresh worker holds none
        payload_rows = rows if encoded else [encode_row(r) for r in rows]
        last, self._last_next = self._last_next, []  # until this call succeeds
        wire = [(None, *row[1:]) if i < len(last) and row[0] is last[i] else row for i, row in enumerate(payload_rows)]
        try:
            payload = marshal.dumps(("call", wire))
        except ValueError:  # e.g. numpy scalars in features: coerce to plain floats, nothing continues
            payload_rows = [encode_row(r) for r in rows]
            payload = marshal.dumps(("call", payload_rows))
        timeout = self.call_timeout_s + len(payload_rows) * self.row_timeout_s
        header, tail = self._request(payload, timeout)
        self._check(header)
        n = header.get("n")
        if n != len(payload_rows):
            self._fail(SandboxError("protocol", "reply row count mismatch"), timeout)
        if "rows" in header:
            return self._arrays_from_json(header["rows"], len(payload_rows))
        names = header.get("names")
        if names != self._names:  # validated once per change, not per call
            if (
                not isinstance(names, list)
                or len(names) > MAX_COMPONENTS
                or not all(isinstance(x, str) and good_name(x) for x in names)
            ):
                self._fail(SandboxError("protocol", "bad component names"), timeout)
            self._names = names
        width = 1 + len(names)
        if len(tail) != 8 * width * len(payload_rows):
            self._fail(SandboxError("protocol", "reply payload size mismatch"), timeout)
        flat = array("d")
        flat.frombytes(tail)
        self._last_next = [row[2] for row in payload_rows]
        return self._names, flat, width - 1

    @staticmethod
    def _arrays_from_json(rows: Any, n: int) -> tuple[list[str], array, int]:
        names: list[str] = []
        parsed: list[tuple[float, dict[str, float]]] = []
        if not isinstance(rows, list) or len(rows) != n:
            raise SandboxError("protocol", "bad rows in reply")
        for item in rows:
            if not (isinstance(item, list) and len(item) == 2 and isinstance(item[1], dict)):
                raise SandboxError("protocol", "bad row in reply")
            total, comps = item
            if not isinstance(total, (int, float)) or len(comps) > MAX_COMPONENTS:
                raise SandboxError("protocol", "bad row in reply")
            clean: dict[str, float] = {}
            for key, value in comps.items():
                if not isinstance(value, (int, float)) or not good_name(key):
                    raise SandboxError("protocol", "bad component in reply")
                clean[key] = float(value)
                if key not in names:
                    names.append(key)
            parsed.append((float(total), clean))
        if len(names) > MAX_COMPONENTS:
            raise SandboxError("type", f"more than {MAX_COMPONENTS} distinct component names across rows")
        flat = array("d")
        for total, comps in parsed:
            flat.append(total)
            flat.extend(comps.get(k, 0.0) for k in names)
        return names, flat, len(names)

    def call_batch(self, rows: Sequence[Any]) -> list[tuple[float, dict[str, float]]]:
        """Run the loaded program on each transition; rows are (obs, action, next_obs, info, state) or dicts."""
        names, flat, k = self.call_arrays(rows)
        width = k + 1
        out: list[tuple[float, dict[str, float]]] = []
        for i in range(len(flat) // width if width else 0):
            base = i * width
            out.append((flat[base], dict(zip(names, flat[base + 1 : base + width], strict=True))))
        return out

    def probe(self, source: str, timeout_s: float = 2.0) -> str:
        """Run TRUSTED diagnostic code in the worker without the language layer (tests and doctor only).

        It shows what the OS layers alone stop; it is never given LLM output.
        """
        self.start()
        header, _ = self._request(marshal.dumps(("probe", compile(source, "<probe>", "exec"))), timeout_s)
        self._check(header)
        return str(header.get("result"))

    def layers(self) -> dict[str, bool | str]:
        """Which protections are active in this sandbox, as measured inside the worker."""
        self.start()
        h = {**self._hello, **ast.literal_eval(self.probe(_REPORT_PROBE))}
        launch_used = self._launch_used
        rl = h.get("rlimits", {})
        host_root = h.get("host_uid") == 0 and h.get("uid_dropped") is not True
        if launch_used == "bwrap":
            view = "python + system libraries only"
        else:
            view = "whole root (read-only)" if launch_used.startswith("bwrap") else "host filesystem"
        return {
            "launcher": launch_used,
            "bwrap": True if launch_used.startswith("bwrap") else self._launch_failures.get("bwrap", "not tried"),
            "filesystem_view": view,
            "network_namespace": bool(h.get("network_isolated")),
            "readonly_filesystem": True
            if h.get("readonly_root")
            else "no (seccomp still denies opening files for writing and all file creation)",
            "seccomp": h.get("seccomp", "unknown"),
            "seccomp_selftest": bool(h.get("seccomp_selftest")),
            "sockets_blocked": h.get("socket_blocked", "unknown"),
            "rlimits": " ".join(f"{k}={v}" for k, v in rl.items()) if isinstance(rl, dict) else "unknown",
            "rlimit_nproc_enforced": "no: the kernel exempts host root; seccomp blocks fork/clone instead"
            if host_root
            else True,
            "uid_dropped": h.get("uid_dropped", False),
            "capabilities_dropped": True
            if h.get("capabilities") == "0000000000000000"
            else f"no (CapEff {h.get('capabilities')})",
            "clean_environment": bool(h.get("clean_environment")),
            "stdin_closed": bool(h.get("stdin_closed")),
            "wall_clock_timeout": f"{self.call_timeout_s:.2f} s + {self.row_timeout_s * 1000:.1f} ms/row, kill+restart",
            "restricted_python": True,
            "namespace": "math subset + " + ", ".join(SAFE_BUILTIN_NAMES) + ", range, clip, sign",
            "worker_start_ms": f"{self.last_start_ms:.0f}",
        }


#: What a confined worker can see and be, measured from inside it by `Sandbox.layers` (trusted code, a probe).
_REPORT_PROBE = """
import os
def read(path):
    try:
        with open(path) as fh:
            return fh.read()
    except OSError:
        return ""
uid = os.getuid()
host_uid = uid
for line in read("/proc/self/uid_map").splitlines():  # inside a user namespace uid 0 may be someone else
    inside, outside, count = (int(x) for x in line.split())
    if inside <= uid < inside + count:
        host_uid = outside + uid - inside
interfaces = [line.split(":")[0].strip() for line in read("/proc/self/net/dev").splitlines()[2:]]
try:
    readonly = bool(os.statvfs("/").f_flag & os.ST_RDONLY)
except OSError:
    readonly = False
try:
    stdin_closed = os.fstat(0).st_mode & 0o170000 == 0o020000 and os.read(0, 1) == b""
except OSError:
    stdin_closed = True
caps = [line.split()[1] for line in read("/proc/self/status").splitlines() if line.startswith("CapEff:")]
result = {
    "host_uid": host_uid,
    "network_isolated": bool(read("/proc/self/net/dev")) and interfaces in (["lo"], []),
    "readonly_root": readonly,
    "stdin_closed": stdin_closed,
    "capabilities": caps[0] if caps else "unknown",
    # bwrap sets PWD and CPython itself sets LC_CTYPE when coercing the C locale; nothing else may be there
    "environment": sorted(os.environ),
    "clean_environment": set(os.environ) <= {"PWD", "LC_CTYPE"},
}
"""


_LAYERS_CACHE: dict[str, bool | str] | None = None


def sandbox_layers(refresh: bool = False) -> dict[str, bool | str]:
    """Probe once per process which sandbox layers work here (for ``gymsmith doctor`` and the verifier)."""
    global _LAYERS_CACHE
    if _LAYERS_CACHE is None or refresh:
        with Sandbox() as box:
            _LAYERS_CACHE = box.layers()
    return dict(_LAYERS_CACHE)
