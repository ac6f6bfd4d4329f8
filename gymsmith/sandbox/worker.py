"""The sandbox worker: the restricted runtime reward programs see, and the confinement of the process they run in.

Why a separate process at all: the language layer (AST allow-list, RestrictedPython, a hand-picked namespace)
stops the known escapes, but Python was never designed to be sandboxed from the inside, so a miss there must land
in a process that can do nothing useful: no network, a read-only filesystem, no new processes, no signals to
others, bounded CPU and memory, and a parent that kills it on a wall-clock deadline.
This file is the worker's whole program (``parent.py`` runs ``python -I -S -B -c <its text>`` inside bubblewrap,
where the project is not mounted: standard library only); the parent and the confined env workers
(``inprocess.py``) import it, so the runtime, the seccomp filter, the rlimits and the framing exist once.
"""

from __future__ import annotations

import errno
import json
import marshal
import math
import operator
import os
import struct
import sys
import time
import types
from array import array
from collections.abc import Callable, Sequence
from typing import Any

# ----------------------------------------------------------------------------------------------- limits

#: Recursion depth inside the worker (well below the C stack, well above any honest reward function).
RECURSION_LIMIT = 200
#: Largest frame either side accepts (a compromised worker must not make the parent allocate without bound).
MAX_FRAME = 64 << 20
MAX_COMPONENTS = 32
MAX_COMPONENT_NAME = 64
MAX_ERROR_CHARS = 400
#: Integer powers/shifts beyond this many result bits are refused: ``10 ** 10 ** 9`` would spin in C code where
#: no signal can interrupt it.
MAX_INT_BITS = 4096
#: ``range`` longer than this is refused for the same reason (``sum(range(10**12))`` is one C call).
MAX_RANGE = 100_000

# ------------------------------------------------------------------------------------------------ errors


class SandboxViolation(Exception):
    """Raised by runtime guards: the program reached for something outside its namespace."""


class ResultTypeError(TypeError):
    """The program returned something other than ``(float, dict[str, float])``."""


def classify_exception(exc: BaseException) -> str:
    """Map a program's exception to a ``SandboxError`` kind (``program.py``): which verifier layer owns it."""
    if isinstance(exc, MemoryError):
        return "memory"
    if isinstance(exc, RecursionError):
        return "recursion"
    if isinstance(exc, (SandboxViolation, OSError, ImportError)):
        return "violation"
    return "type" if isinstance(exc, ResultTypeError) else "error"


def describe_exception(exc: BaseException) -> str:
    try:
        text = f"{type(exc).__name__}: {exc}"
    except Exception:  # a hostile __str__ is not our problem to render
        text = type(exc).__name__
    return text[:MAX_ERROR_CHARS]


# ------------------------------------------------------------------------------------- restricted runtime

SAFE_MATH_NAMES: tuple[str, ...] = (
    "pi", "e", "tau", "inf", "nan",
    "sqrt", "exp", "expm1", "log", "log1p", "log2", "log10", "pow",
    "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "tanh",
    "hypot", "floor", "ceil", "trunc", "fabs", "copysign", "fmod",
    "isfinite", "isnan", "isinf", "isclose", "radians", "degrees", "erf",
)  # fmt: skip
SAFE_BUILTIN_NAMES: tuple[str, ...] = (
    "abs", "min", "max", "sum", "len", "float", "int", "bool", "round", "sorted", "dict", "list", "tuple",
    "enumerate", "zip", "any", "all", "isinstance", "str",
)  # fmt: skip
#: The one module a program may import: ``import math`` (also ``as m``) and ``from math import sqrt`` bind the
#: provided subset, because code models write them out of habit; any other import is refused by name.
IMPORTABLE_MODULE = "math"

_READ_METHODS = frozenset({"get", "keys", "values", "items", "copy"})
#: The only attributes a program may touch, by receiver type: everything else (``__class__``, ``gi_frame``,
#: ``format``, ``mro``, function and module internals) is refused at run time even if the static layer missed it.
#: The static layer allows the union of these, so the two layers cannot drift apart.
ALLOWED_ATTRIBUTES: dict[type, frozenset[str]] = {
    dict: _READ_METHODS | {"update", "setdefault", "pop"},
    types.MappingProxyType: _READ_METHODS,
    list: frozenset({"count", "index", "copy", "append", "extend", "insert", "pop", "remove", "sort", "reverse"}),
    tuple: frozenset({"count", "index"}),
    str: frozenset({"startswith", "endswith", "lower", "upper", "strip", "split", "join", "replace", "count"}),
    float: frozenset({"is_integer"}),
    int: frozenset({"bit_length"}),
    types.SimpleNamespace: frozenset(SAFE_MATH_NAMES),
}


def _guarded_getattr(obj: Any, name: str, default: Any = None) -> Any:
    allowed = ALLOWED_ATTRIBUTES.get(type(obj))
    if type(name) is not str or allowed is None or name not in allowed:
        raise SandboxViolation(f"attribute {name!r} of a {type(obj).__name__} is not available to reward programs")
    return getattr(obj, name)


def _guarded_write(obj: Any) -> Any:
    # Only the program's own dicts and lists can be written; arguments are read-only mappings and tuples.
    if type(obj) in (dict, list):
        return obj
    raise SandboxViolation(f"cannot write into a {type(obj).__name__} (reward programs must not mutate inputs)")


def _guarded_pow(a: Any, b: Any) -> Any:
    ints = type(a) in (int, bool) and type(b) in (int, bool)
    if ints and b > 0 and abs(a) > 1 and b * abs(a).bit_length() > MAX_INT_BITS:
        raise SandboxViolation(f"integer power with more than {MAX_INT_BITS} bits is not allowed")
    return a**b


def _guarded_lshift(a: Any, b: Any) -> Any:
    if type(a) in (int, bool) and type(b) in (int, bool) and b > MAX_INT_BITS:
        raise SandboxViolation(f"shift by more than {MAX_INT_BITS} bits is not allowed")
    return a << b


_INPLACE_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.add, "-=": operator.sub, "*=": operator.mul, "/=": operator.truediv,
    "//=": operator.floordiv, "%=": operator.mod, "**=": _guarded_pow, "<<=": _guarded_lshift,
    ">>=": operator.rshift, "|=": operator.or_, "&=": operator.and_, "^=": operator.xor,
}  # fmt: skip


def _inplacevar(op: str, x: Any, y: Any) -> Any:
    fn = _INPLACE_OPS.get(op)
    if fn is None:
        raise SandboxViolation(f"operator {op} is not available to reward programs")
    return fn(x, y)


def _safe_range(*args: int) -> range:
    r = range(*args)
    try:
        n = len(r)
    except OverflowError:
        n = MAX_RANGE + 1
    if n > MAX_RANGE:
        raise SandboxViolation(f"range of {n} items is longer than the {MAX_RANGE} reward programs may use")
    return r


def clip(x: float, lo: float, hi: float) -> float:
    """Clamp ``x`` to [lo, hi]; offered to programs because bounded terms are the honest way to shape."""
    return lo if x < lo else hi if x > hi else x


def sign(x: float) -> float:
    """-1, 0 or 1: offered to programs for direction-of-change terms."""
    return 1.0 if x > 0 else -1.0 if x < 0 else 0.0


def _import_guard(math_ns: types.SimpleNamespace) -> Callable[..., Any]:
    """The program's ``__import__``: its own ``math`` object, or an ImportError that says what is available."""

    def guarded_import(name: Any, globals: Any = None, locals: Any = None, fromlist: Any = (), level: Any = 0) -> Any:
        if name != IMPORTABLE_MODULE or level != 0:
            raise ImportError(f"import of {str(name)[:40]!r} refused: only math can be imported (it is provided)")
        for item in fromlist or ():
            if item not in SAFE_MATH_NAMES:
                raise ImportError(f"math.{str(item)[:40]} is not available; math offers " + ", ".join(SAFE_MATH_NAMES))
        return math_ns

    return guarded_import


def build_namespace() -> dict[str, Any]:
    """A fresh global namespace per program: nothing a program does to it can leak into the next one."""
    import builtins as _b

    math_ns = types.SimpleNamespace(**{n: getattr(math, n) for n in SAFE_MATH_NAMES})
    safe = {name: getattr(_b, name) for name in SAFE_BUILTIN_NAMES}
    safe.update(range=_safe_range, clip=clip, sign=sign, __import__=_import_guard(math_ns))
    safe.update({"None": None, "True": True, "False": False})
    return {
        "__builtins__": safe, "__name__": "reward_program", "math": math_ns,
        "_getattr_": _guarded_getattr, "_getitem_": operator.getitem, "_getiter_": iter, "_write_": _guarded_write,
        "_inplacevar_": _inplacevar, "_pow_": _guarded_pow, "_lshift_": _guarded_lshift,
        "_apply_": lambda fn, *args, **kwargs: fn(*args, **kwargs),
        "_unpack_sequence_": lambda it, spec, _getiter: list(it),
        "_iter_unpack_sequence_": lambda it, spec, _getiter: it,
    }  # fmt: skip


def load_program(code: types.CodeType) -> Callable[..., Any]:
    """Execute a compiled program's module body in a fresh namespace and return its ``reward``."""
    namespace = build_namespace()
    exec(code, namespace)
    fn = namespace.get("reward")
    if not isinstance(fn, types.FunctionType):
        raise ResultTypeError("the program does not define a function named reward")
    return fn


def good_name(key: str) -> bool:
    # identifiers only: names reach logs, the run store and the LLM's feedback prompt, so they must not be a
    # free-text channel out of the sandbox
    return len(key) <= MAX_COMPONENT_NAME and key.isidentifier() and key.isascii()


#: Component names ``good_name`` already passed (bounded, so a program cannot grow it without limit).
_CHECKED_NAMES: set[str] = set()


def normalise_result(res: Any) -> tuple[float, dict[str, float]]:
    """Coerce the program's return into ``(float, {str: float})`` or say exactly what was wrong."""
    # fast path (every well-formed call): exact types, names seen before, nothing to convert
    if type(res) is tuple and len(res) == 2 and type(res[0]) is float and type(res[1]) is dict:
        comps = res[1]
        if len(comps) <= MAX_COMPONENTS and comps.keys() <= _CHECKED_NAMES:
            for key, value in comps.items():
                if type(value) is not float or type(key) is not str:
                    break
            else:
                return res
    if type(res) is not tuple or len(res) != 2:
        raise ResultTypeError(f"reward must return a (float, dict) tuple, got {type(res).__name__}")
    total, comps = res
    if type(total) not in (float, int, bool):
        raise ResultTypeError(f"the total reward must be a float, got {type(total).__name__}")
    if type(comps) is not dict:
        raise ResultTypeError(f"the components must be a dict of str to float, got {type(comps).__name__}")
    if len(comps) > MAX_COMPONENTS:
        raise ResultTypeError(f"{len(comps)} components; at most {MAX_COMPONENTS} are allowed")
    out: dict[str, float] = {}
    for key, value in comps.items():
        if type(key) is not str or not good_name(key):
            raise ResultTypeError(
                f"component names must be ASCII identifiers of at most {MAX_COMPONENT_NAME} characters, got {key!r:.80}"
            )
        if type(value) not in (float, int, bool):
            raise ResultTypeError(f"component {key!r} must be a float, got {type(value).__name__}")
        try:
            out[key] = float(value)
        except OverflowError as exc:
            raise ResultTypeError(f"component {key!r} is an integer too large for a float") from exc
    if len(_CHECKED_NAMES) < 4 * MAX_COMPONENTS:
        _CHECKED_NAMES.update(out)
    try:
        return float(total), out
    except OverflowError as exc:
        raise ResultTypeError("the total reward is an integer too large for a float") from exc


# ------------------------------------------------------------------------------------------ OS confinement

_SCMP_ACT_ALLOW, _SCMP_CMP_NE, _SCMP_CMP_MASKED_EQ, _CLONE_THREAD = 0x7FFF0000, 1, 7, 0x00010000
_EPERM, _ENOSYS = 0x00050000 | errno.EPERM, 0x00050000 | errno.ENOSYS  # SCMP_ACT_ERRNO(err)
_O_WRITE_BITS = (os.O_WRONLY, os.O_RDWR, os.O_CREAT, os.O_TRUNC)

#: Denied with EPERM (a catchable error, never a silent kill, so the verifier can name what was tried).
DENIED_SYSCALLS: tuple[str, ...] = (
    # network
    "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4",
    # new programs and processes, other processes
    "execve", "execveat", "fork", "vfork", "ptrace", "process_vm_readv", "process_vm_writev",
    "kill", "tkill", "tgkill", "pidfd_open", "pidfd_send_signal", "pidfd_getfd",
    # namespaces and mounts
    "mount", "umount2", "unshare", "setns", "pivot_root", "chroot", "open_tree", "move_mount",
    "fsopen", "fsmount", "fsconfig", "fspick", "mount_setattr",
    # kernel surfaces
    "bpf", "perf_event_open", "kexec_load", "kexec_file_load", "init_module", "finit_module",
    "delete_module", "reboot", "swapon", "swapoff", "acct", "iopl", "ioperm", "syslog", "userfaultfd",
    "keyctl", "add_key", "request_key", "personality", "quotactl", "open_by_handle_at", "name_to_handle_at",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "settimeofday", "clock_settime",
    "clock_adjtime", "adjtimex", "sethostname", "setdomainname",
    # identity and limits
    "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setgroups", "setfsuid",
    "setfsgid", "capset", "setrlimit",
    # filesystem changes
    "unlink", "unlinkat", "rmdir", "rename", "renameat", "renameat2", "mkdir", "mkdirat", "link",
    "linkat", "symlink", "symlinkat", "chmod", "fchmod", "fchmodat", "chown", "fchown", "lchown",
    "fchownat", "truncate", "ftruncate", "mknod", "mknodat", "creat", "utime", "utimes", "utimensat",
    "futimesat", "setxattr", "lsetxattr", "fsetxattr", "removexattr", "lremovexattr", "fremovexattr",
)  # fmt: skip


def load_libseccomp() -> Any:
    """dlopen libseccomp (or return the reason it failed); done early, while files can still be opened."""
    try:
        import ctypes

        return ctypes.CDLL("libseccomp.so.2", use_errno=True)
    except ImportError as exc:  # pragma: no cover - stdlib without ctypes
        return f"ctypes unavailable: {exc}"
    except OSError as exc:
        return f"libseccomp not found ({exc}); install the libseccomp2 package"


def install_seccomp(*, allow_threads: bool, lib: Any = None) -> bool | str:
    """Load a deny-list seccomp filter through libseccomp via ctypes (no extra Python dependency); True or why not.

    A deny list (default allow) rather than an allow list because CPython's own syscall needs vary by build and
    version; the denied set covers every way out we know of: network, exec, fork, signals to others, namespaces,
    mounts, kernel modules, identity changes and any file creation or write-open.
    """
    lib = lib if lib is not None else load_libseccomp()
    if isinstance(lib, str):
        return lib
    import ctypes

    class _Cmp(ctypes.Structure):
        _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("a", ctypes.c_uint64), ("b", ctypes.c_uint64)]

    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.restype = ctypes.c_int
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.restype = ctypes.c_int
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint,
                                           ctypes.POINTER(_Cmp)]  # fmt: skip
    lib.seccomp_load.argtypes = lib.seccomp_release.argtypes = [ctypes.c_void_p]
    lib.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
    ctx = lib.seccomp_init(_SCMP_ACT_ALLOW)
    if not ctx:
        return "seccomp_init failed"

    def rule(name: str, action: int, *cmps: tuple[int, int, int, int]) -> None:
        nr = lib.seccomp_syscall_resolve_name(name.encode())
        if nr < 0:  # not a syscall on this architecture (e.g. legacy open on arm64)
            return
        arr = (_Cmp * len(cmps))(*[_Cmp(*c) for c in cmps]) if cmps else None
        rc = lib.seccomp_rule_add_array(ctx, action, nr, len(cmps), arr)
        if rc != 0:
            raise OSError(-rc, f"seccomp rule for {name} failed")

    try:
        lib.seccomp_attr_set(ctx, 4, 1)  # SCMP_FLTATR_CTL_TSYNC: every thread of the process
        for name in DENIED_SYSCALLS:
            rule(name, _EPERM)
        # env workers keep their threads (thread clones allowed); the sandbox worker needs none
        rule("clone", _EPERM, *([(0, _SCMP_CMP_MASKED_EQ, _CLONE_THREAD, 0)] if allow_threads else []))
        # clone3 passes flags in memory seccomp cannot read; ENOSYS makes glibc fall back to clone (checked above)
        rule("clone3", _ENOSYS)
        rule("openat2", _ENOSYS)
        rule("prlimit64", _EPERM, (2, _SCMP_CMP_NE, 0, 0))  # reading limits is fine, raising them is not
        for bit in _O_WRITE_BITS:
            rule("open", _EPERM, (1, _SCMP_CMP_MASKED_EQ, bit, bit))
            rule("openat", _EPERM, (2, _SCMP_CMP_MASKED_EQ, bit, bit))
        rc = lib.seccomp_load(ctx)
        return True if rc == 0 else f"seccomp_load failed: {os.strerror(-rc)}"
    except OSError as exc:
        return f"seccomp filter not installed: {exc}"
    finally:
        lib.seccomp_release(ctx)


def seccomp_selftest() -> bool:
    """kill(self, 0) is harmless either way; EPERM proves the filter is live."""
    try:
        os.kill(os.getpid(), 0)
    except PermissionError:
        return True
    return False


def _socket_selftest(socket_module: Any) -> bool | str:
    """Whether the socket syscall fails here, whatever stops it: every launcher must end up with no network."""
    try:
        sock = socket_module.socket(socket_module.AF_INET, socket_module.SOCK_STREAM)
    except OSError:
        return True
    try:
        sock.connect(("127.0.0.1", 9))
    except OSError:
        return "socket() allowed; connections fail (network namespace only)"
    finally:
        sock.close()
    return "a socket opened and connected"


def apply_rlimits(
    *, cpu_s: int | None, memory_bytes: int | None, nproc: int | None, fsize: int | None, nofile: int | None
) -> dict[str, str]:
    """Set the given limits (soft = hard, so the program cannot raise them back); None leaves one alone."""
    import resource

    done: dict[str, str] = {}
    plan = [
        ("cpu", resource.RLIMIT_CPU, cpu_s), ("as", resource.RLIMIT_AS, memory_bytes),
        ("nproc", resource.RLIMIT_NPROC, nproc), ("fsize", resource.RLIMIT_FSIZE, fsize),
        ("nofile", resource.RLIMIT_NOFILE, nofile), ("core", resource.RLIMIT_CORE, 0),
        ("memlock", resource.RLIMIT_MEMLOCK, 0), ("msgqueue", resource.RLIMIT_MSGQUEUE, 0),
    ]  # fmt: skip
    for label, which, value in plan:
        if value is None:
            continue
        try:
            _, hard = resource.getrlimit(which)
            if hard != resource.RLIM_INFINITY and value > hard:
                value = hard
            # CPU: soft < hard, so the kernel's SIGXCPU (recognisable) comes a second before its SIGKILL
            cpu_grace = which == resource.RLIMIT_CPU and (hard == resource.RLIM_INFINITY or value < hard)
            resource.setrlimit(which, (value, value + 1 if cpu_grace else value))
            done[label] = str(value)
        except (ValueError, OSError) as exc:
            done[label] = f"failed: {exc}"
    return done


def _drop_capabilities(libseccomp: Any) -> None:
    """Clear all capabilities with capset(2): where we stay uid 0 inside a user namespace (``unshare --user``),
    root there holds a full set over its own namespaces until we drop it. (The report reads CapEff back.)"""
    import ctypes

    nr = -1 if isinstance(libseccomp, str) else libseccomp.seccomp_syscall_resolve_name(b"capset")
    if nr >= 0:
        header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
        data = (ctypes.c_uint32 * 6)()  # two zeroed __user_cap_data_struct
        ctypes.CDLL(None, use_errno=True).syscall(nr, header, data)


# ------------------------------------------------------------------------------------------- pipe framing

FRAME_LEN = struct.Struct("<I")
#: The usual reply, without JSON: a zero header length, then (rows, worker CPU seconds), then the doubles; the
#: component names are those of the last reply that carried a header with names (the parent keeps them).
FAST_REPLY = struct.Struct("<IId")


class FrameIO:
    """Length-prefixed frames over a pair of pipe descriptors, for the worker's side and the parent's alike.
    Buffered: a frame that arrives whole costs one read(2). ``wait(fd, writing)`` is called when a non-blocking
    descriptor is not ready (the parent's enforces its deadline; the worker's descriptors block)."""

    def __init__(self, read_fd: int, write_fd: int, wait: Callable[[int, bool], None] | None = None) -> None:
        self.read_fd, self.write_fd, self.wait = read_fd, write_fd, wait
        self._buf = bytearray()

    def send(self, payload: bytes) -> None:
        view = memoryview(FRAME_LEN.pack(len(payload)) + payload)
        while view:
            try:
                view = view[os.write(self.write_fd, view) :]
            except BlockingIOError:
                self.wait(self.write_fd, True)  # type: ignore[misc]

    def _fill(self, n: int) -> None:
        buf = self._buf
        while len(buf) < n:
            try:
                chunk = os.read(self.read_fd, max(n - len(buf), 1 << 16))
            except BlockingIOError:
                self.wait(self.read_fd, False)  # type: ignore[misc]
                continue
            if not chunk:
                raise EOFError("pipe closed")
            buf += chunk

    def recv(self, limit: int = MAX_FRAME) -> bytes:
        """One frame; EOFError when the other side has gone, ValueError for a frame over ``limit`` bytes."""
        self._fill(4)
        (n,) = FRAME_LEN.unpack_from(self._buf)
        if n > limit:
            raise ValueError(f"frame of {n} bytes exceeds the {limit} byte limit")
        self._fill(4 + n)
        out = bytes(self._buf[4 : 4 + n])
        del self._buf[: 4 + n]
        return out


def encode_reply(header: dict[str, Any], doubles: array | None = None) -> bytes:
    """A reply: a bounded JSON header, then raw doubles (the parent never unpickles anything from a worker)."""
    head = json.dumps(header).encode()
    return FRAME_LEN.pack(len(head)) + head + (doubles.tobytes() if doubles is not None else b"")


# ------------------------------------------------------------------------------------------------- worker

_SENT_NAMES: list[Any] = [None]  # the component names the parent holds (see FAST_REPLY)


def _call_rows(fn: Callable[..., Any], rows: Sequence[Any], last_next: list[Any]) -> bytes:
    """Run the program on (obs, action, next_obs, info, state) rows, each input behind a read-only view.

    An obs of None continues row i of the previous call (its obs is that row's next_obs, not sent twice);
    ``last_next`` holds those, emptied when a call fails."""
    mp = types.MappingProxyType
    names: list[str] | None = None
    flat = array("d")
    results: list[tuple[float, dict[str, float]]] | None = None  # only once component names vary by row
    for i, (obs, action, next_obs, info, state) in enumerate(rows):
        try:
            obs = last_next[i] if obs is None else obs
            total, comps = normalise_result(fn(mp(obs), action, mp(next_obs), mp(info), mp(state)))
        except BaseException as exc:  # noqa: B036 - everything a program raises is reported, nothing escapes
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            last_next.clear()
            return encode_reply({"ok": False, "kind": classify_exception(exc), "error": describe_exception(exc),
                                 "row": i, "cpu": time.process_time()})  # fmt: skip
        if names is None:
            names = list(comps)
        if results is None and list(comps) == names:
            flat.append(total)
            flat.extend(comps.values())
            continue
        if results is None:  # the rows so far, back from the flat layout
            w = len(names) + 1
            results = [(flat[j * w], dict(zip(names, flat[j * w + 1 : j * w + w], strict=True))) for j in range(i)]
        results.append((total, comps))
    cpu = time.process_time()
    last_next[:] = [row[2] for row in rows]
    if results is None and (names or []) == _SENT_NAMES[0]:
        return FAST_REPLY.pack(0, len(rows), cpu) + flat.tobytes()
    if results is None:
        _SENT_NAMES[0] = names or []
        return encode_reply({"ok": True, "n": len(rows), "names": names or [], "cpu": cpu}, flat)
    return encode_reply({"ok": True, "n": len(rows), "rows": results, "cpu": cpu})


def _confine(cfg: dict[str, Any]) -> dict[str, Any]:
    """Confine this process before any program is loaded and say what worked (``parent.py`` reports the rest);
    the self-tests check the result from inside, whichever launcher started us."""
    hello: dict[str, Any] = {"hello": 1, "pid": os.getpid()}
    # Everything the worker will ever import or dlopen is loaded now: after the uid drop the interpreter's own
    # files may be unreadable, and after NOFILE shrinks dlopen has no descriptor to spare.
    import _socket  # the socket self-test below needs it loaded before the interpreter's files go away
    import resource  # noqa: F401

    libseccomp = load_libseccomp()
    # Drop root where nothing maps it away (unshare/plain fallbacks): kills capabilities, makes NPROC count.
    hello["uid_dropped"] = False
    if os.getuid() == 0 and cfg.get("drop_uid", True):
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            hello["uid_dropped"] = True
        except OSError as exc:
            hello["uid_dropped"] = f"kept uid 0 inside the sandbox ({exc.strerror})"
    _drop_capabilities(libseccomp)
    max_fd = max(int(x) for x in os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 16
    hello["rlimits"] = apply_rlimits(cpu_s=int(cfg["cpu_s"]), memory_bytes=int(cfg["memory_mb"]) << 20, nproc=0,
                                     fsize=0, nofile=max(max_fd + 4, 8))  # fmt: skip
    on = cfg.get("seccomp", True)
    hello["seccomp"] = install_seccomp(allow_threads=False, lib=libseccomp) if on else "disabled by configuration"
    hello["seccomp_selftest"] = seccomp_selftest() if hello["seccomp"] is True else False
    hello["socket_blocked"] = _socket_selftest(_socket)
    sys.setrecursionlimit(int(cfg.get("recursion_limit", RECURSION_LIMIT)))
    return hello


def worker_main(argv: Sequence[str]) -> None:
    """Confine ourselves, say hello with what worked, then serve load/call/probe requests until EOF."""
    pipe = FrameIO(int(argv[0]), int(argv[1]))
    pipe.send(json.dumps(_confine(json.loads(argv[2]))).encode())
    fn: Callable[..., Any] | None = None
    last_next: list[Any] = []
    while True:
        try:
            msg = marshal.loads(pipe.recv())
        except EOFError:
            return
        op = msg[0]
        if op == "exit":
            return
        if op == "call":
            if fn is None:
                reply = encode_reply({"ok": False, "kind": "load", "error": "no program loaded"})
            else:
                reply = _call_rows(fn, msg[1], last_next)
        elif op == "load":
            fn = None
            try:
                fn = load_program(msg[1])
                reply = encode_reply({"ok": True})
            except BaseException as exc:  # noqa: B036 - module bodies can raise anything
                kind = "load" if isinstance(exc, ResultTypeError) else classify_exception(exc)
                reply = encode_reply({"ok": False, "kind": kind, "error": describe_exception(exc)})
        elif op == "probe":
            # Trusted diagnostics from the parent (tests, doctor): plain Python, to show what the OS layers stop.
            scope: dict[str, Any] = {}
            try:
                exec(msg[1], scope)
                reply = encode_reply({"ok": True, "result": repr(scope.get("result"))[:2000]})
            except BaseException as exc:  # noqa: B036
                reply = encode_reply({"ok": False, "kind": classify_exception(exc), "error": describe_exception(exc)})
        else:
            reply = encode_reply({"ok": False, "kind": "protocol", "error": f"unknown op {op!r}"})
        pipe.send(reply)


if __name__ == "__main__" and len(sys.argv) >= 4 and sys.argv[1] == "--worker":
    worker_main(sys.argv[2:])
