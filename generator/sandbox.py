"""The OS-level sandbox that LLM-written reward programs run in, plus the restricted runtime they see.

Why a separate process at all: the language layer (AST allow-list + RestrictedPython + a hand-picked namespace)
stops the known escapes, but Python was never designed to be sandboxed from the inside, so a miss there must
land in a process that can do nothing useful: no network, a read-only filesystem, no new processes, no signals
to others, bounded CPU and memory, and a parent that kills it on a wall-clock deadline.

The same runtime (``compile_program`` + ``load_program`` + ``call_program``) runs in two places:

* ``Sandbox``: a persistent worker (bubblewrap -> ``unshare --net`` -> plain process, whichever works first)
  fed batches over a pipe; the verifier and ``gymsmith doctor`` use it;
* in-process inside an env worker that confined itself with ``confine_current_process`` (rlimits, seccomp,
  network namespace), which is how rewards run during training without a round trip per step.

This file is also the worker's program: the parent starts ``python -I -S -B -c <this file's text>``, so the
module imports only the standard library at import time (RestrictedPython is imported lazily, parent side).
"""

from __future__ import annotations

import errno
import json
import marshal
import math
import operator
import os
import select
import signal
import struct
import subprocess
import sys
import time
import types
from array import array
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn

# ----------------------------------------------------------------------------------------------- limits

#: Address-space cap of the sandbox worker (a bare ``python -S`` needs ~25 MiB of it).
DEFAULT_MEMORY_MB = 256
#: CPU seconds a worker may burn in its life; it is recycled at half of this, so a long training run never
#: trips it by accumulation, while a program that loops in C code is still killed by the kernel.
DEFAULT_CPU_S = 20
#: Wall-clock allowance per batch = CALL_TIMEOUT_S + rows * ROW_TIMEOUT_S.
CALL_TIMEOUT_S = 0.5
ROW_TIMEOUT_S = 0.005
#: Recursion depth inside the worker (well below the C stack, well above any honest reward function).
RECURSION_LIMIT = 200
#: Largest reply a worker may send (a compromised worker must not make the parent allocate without bound).
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


class SandboxError(RuntimeError):
    """A reward program failed in a way the verifier can name.

    ``kind`` is one of: timeout, crash, memory, recursion, violation, cpu, type, error, load, protocol.
    The first six are the isolation layer's business (the OS or the runtime stopped something); ``type`` and
    ``error`` are ordinary bugs (smoke layer).
    """

    ISOLATION_KINDS = frozenset({"timeout", "crash", "memory", "recursion", "violation", "cpu", "protocol"})

    def __init__(self, kind: str, message: str, row: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.row = row

    @property
    def isolation(self) -> bool:
        return self.kind in self.ISOLATION_KINDS


class ProgramCompileError(ValueError):
    """RestrictedPython refused the source; ``errors`` are its messages, one per offending construct."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = list(errors)


class SandboxViolation(Exception):
    """Raised by runtime guards: the program reached for something outside its namespace."""


class ResultTypeError(TypeError):
    """The program returned something other than ``(float, dict[str, float])``."""


# ------------------------------------------------------------------------------------- restricted runtime

SAFE_MATH_NAMES: tuple[str, ...] = (
    "pi", "e", "tau", "inf", "nan",
    "sqrt", "exp", "expm1", "log", "log1p", "log2", "log10", "pow",
    "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "tanh",
    "hypot", "floor", "ceil", "trunc", "fabs", "copysign", "fmod",
    "isfinite", "isnan", "isinf", "isclose", "radians", "degrees", "erf",
)  # fmt: skip

_READ_METHODS = frozenset({"get", "keys", "values", "items", "copy"})
#: The only attributes a program may touch, by receiver type: everything else (``__class__``, ``gi_frame``,
#: ``format``, ``mro``, function and module internals) is refused at run time even if the static layer missed it.
_ALLOWED_ATTRS: dict[type, frozenset[str]] = {
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
    allowed = _ALLOWED_ATTRS.get(type(obj))
    if type(name) is not str or allowed is None or name not in allowed:
        raise SandboxViolation(f"attribute {name!r} of a {type(obj).__name__} is not available to reward programs")
    return getattr(obj, name)


def _guarded_write(obj: Any) -> Any:
    # Only the program's own dicts and lists can be written; arguments are read-only mappings and tuples.
    if type(obj) in (dict, list):
        return obj
    raise SandboxViolation(f"cannot write into a {type(obj).__name__} (reward programs must not mutate inputs)")


def _int_like(x: Any) -> bool:
    return type(x) in (int, bool)


def _guarded_pow(a: Any, b: Any) -> Any:
    if _int_like(a) and _int_like(b) and b > 0 and abs(a) > 1 and b * abs(a).bit_length() > MAX_INT_BITS:
        raise SandboxViolation(f"integer power with more than {MAX_INT_BITS} bits is not allowed")
    return a**b


def _guarded_lshift(a: Any, b: Any) -> Any:
    if _int_like(a) and _int_like(b) and b > MAX_INT_BITS:
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


def _apply(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return fn(*args, **kwargs)


def _unpack_sequence(it: Any, spec: Any, _getiter: Any) -> list[Any]:
    return list(it)


def _iter_unpack_sequence(it: Any, spec: Any, _getiter: Any) -> Any:
    return it


def clip(x: float, lo: float, hi: float) -> float:
    """Clamp ``x`` to [lo, hi]; offered to programs because bounded terms are the honest way to shape."""
    return lo if x < lo else hi if x > hi else x


def sign(x: float) -> float:
    """-1, 0 or 1: offered to programs for direction-of-change terms."""
    return 1.0 if x > 0 else -1.0 if x < 0 else 0.0


SAFE_BUILTIN_NAMES: tuple[str, ...] = (
    "abs", "min", "max", "sum", "len", "float", "int", "bool", "round", "sorted", "dict", "list", "tuple",
    "enumerate", "zip", "any", "all", "isinstance", "str",
)  # fmt: skip


def build_namespace() -> dict[str, Any]:
    """A fresh global namespace per program: nothing a program does to it can leak into the next one."""
    import builtins as _b

    safe = {name: getattr(_b, name) for name in SAFE_BUILTIN_NAMES}
    safe.update(range=_safe_range, clip=clip, sign=sign)
    safe.update({"None": None, "True": True, "False": False})
    return {
        "__builtins__": safe,
        "__name__": "reward_program",
        "math": types.SimpleNamespace(**{n: getattr(math, n) for n in SAFE_MATH_NAMES}),
        "_getattr_": _guarded_getattr,
        "_getitem_": operator.getitem,
        "_getiter_": iter,
        "_write_": _guarded_write,
        "_inplacevar_": _inplacevar,
        "_apply_": _apply,
        "_unpack_sequence_": _unpack_sequence,
        "_iter_unpack_sequence_": _iter_unpack_sequence,
        "_pow_": _guarded_pow,
        "_lshift_": _guarded_lshift,
    }


def compile_program(source: str, filename: str = "<reward_program>") -> types.CodeType:
    """RestrictedPython compile plus guards on ``**`` and ``<<`` (parent side; the worker never compiles).

    RestrictedPython rewrites attribute, item, iteration and in-place access into guard calls and refuses
    underscore names; our policy additionally routes integer powers and shifts through size checks.
    """
    import ast

    from RestrictedPython import compile_restricted_exec
    from RestrictedPython.transformer import RestrictingNodeTransformer, copy_locations

    class _Policy(RestrictingNodeTransformer):
        def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
            node = self.node_contents_visit(node)
            guard = {ast.Pow: "_pow_", ast.LShift: "_lshift_"}.get(type(node.op))
            if guard is None:
                return node
            call = ast.Call(func=ast.Name(guard, ast.Load()), args=[node.left, node.right], keywords=[])
            copy_locations(call, node)
            return call

    result = compile_restricted_exec(source, filename=filename, policy=_Policy)
    if result.errors or result.code is None:
        raise ProgramCompileError(list(result.errors) or ["RestrictedPython produced no code"])
    return result.code


def load_program(code: types.CodeType) -> Callable[..., Any]:
    """Execute a compiled program's module body in a fresh namespace and return its ``reward``."""
    namespace = build_namespace()
    exec(code, namespace)
    fn = namespace.get("reward")
    if not isinstance(fn, types.FunctionType):
        raise ResultTypeError("the program does not define a function named reward")
    return fn


def _good_name(key: str) -> bool:
    # identifiers only: names reach logs, the run store and the LLM's feedback prompt, so they must not be a
    # free-text channel out of the sandbox
    return len(key) <= MAX_COMPONENT_NAME and key.isidentifier() and key.isascii()


def normalise_result(res: Any) -> tuple[float, dict[str, float]]:
    """Coerce the program's return into ``(float, {str: float})`` or say exactly what was wrong."""
    # fast path (every well-formed call): exact types, nothing to convert
    if type(res) is tuple and len(res) == 2 and type(res[0]) is float and type(res[1]) is dict:
        comps = res[1]
        if len(comps) <= MAX_COMPONENTS:
            for key, value in comps.items():
                if type(value) is not float or type(key) is not str or not _good_name(key):
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
        if type(key) is not str or not _good_name(key):
            raise ResultTypeError(
                f"component names must be ASCII identifiers of at most {MAX_COMPONENT_NAME} characters, got {key!r:.80}"
            )
        if type(value) not in (float, int, bool):
            raise ResultTypeError(f"component {key!r} must be a float, got {type(value).__name__}")
        try:
            out[key] = float(value)
        except OverflowError as exc:
            raise ResultTypeError(f"component {key!r} is an integer too large for a float") from exc
    try:
        return float(total), out
    except OverflowError as exc:
        raise ResultTypeError("the total reward is an integer too large for a float") from exc


_MP = types.MappingProxyType


def call_program(
    fn: Callable[..., Any],
    obs: Mapping[str, float],
    action: int,
    next_obs: Mapping[str, float],
    info: Mapping[str, Any],
    state: Mapping[str, Any],
) -> tuple[float, dict[str, float]]:
    """One call with read-only views of the inputs: a program can look at its arguments, never change them.

    ``info["events"]`` and ``state["events_so_far"]`` must already be tuples (the callers build them so).
    """
    return normalise_result(fn(_MP(obs), action, _MP(next_obs), _MP(info), _MP(state)))


def classify_exception(exc: BaseException) -> str:
    """Map a program's exception to a SandboxError kind (which verifier layer owns it)."""
    if isinstance(exc, MemoryError):
        return "memory"
    if isinstance(exc, RecursionError):
        return "recursion"
    if isinstance(exc, (SandboxViolation, OSError, ImportError)):
        return "violation"
    if isinstance(exc, ResultTypeError):
        return "type"
    return "error"


def describe_exception(exc: BaseException) -> str:
    try:
        text = f"{type(exc).__name__}: {exc}"
    except Exception:  # a hostile __str__ is not our problem to render
        text = type(exc).__name__
    return text[:MAX_ERROR_CHARS]


# ------------------------------------------------------------------------------------------ OS confinement

_SCMP_ACT_ALLOW = 0x7FFF0000
_SCMP_CMP_NE = 1
_SCMP_CMP_MASKED_EQ = 7
_CLONE_THREAD = 0x00010000
_O_WRITE_BITS = (os.O_WRONLY, os.O_RDWR, os.O_CREAT, os.O_TRUNC)


def _errno_action(err: int) -> int:
    return 0x00050000 | (err & 0xFFFF)


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


def _load_libseccomp() -> Any:
    """dlopen libseccomp (or return the reason it failed); done early, while files can still be opened."""
    try:
        import ctypes
    except ImportError as exc:  # pragma: no cover - stdlib without ctypes
        return f"ctypes unavailable: {exc}"
    try:
        return ctypes.CDLL("libseccomp.so.2", use_errno=True)
    except OSError as exc:
        return f"libseccomp not found ({exc}); install the libseccomp2 package"


def install_seccomp(*, allow_threads: bool, lib: Any = None) -> bool | str:
    """Load a deny-list seccomp filter through libseccomp via ctypes (no extra Python dependency).

    A deny list (default allow) rather than an allow list because CPython's own syscall needs vary by build
    and version; the denied set covers every way out we know of: network, exec, fork, signals to others,
    namespaces, mounts, kernel modules, identity changes and any file creation or write-open.
    Returns True when loaded, else the reason as text.
    """
    lib = lib if lib is not None else _load_libseccomp()
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
    lib.seccomp_rule_add_array.argtypes = [
        ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint, ctypes.POINTER(_Cmp)
    ]  # fmt: skip
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    lib.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]

    ctx = lib.seccomp_init(_SCMP_ACT_ALLOW)
    if not ctx:
        return "seccomp_init failed"
    eperm = _errno_action(errno.EPERM)

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
            rule(name, eperm)
        if allow_threads:
            rule("clone", eperm, (0, _SCMP_CMP_MASKED_EQ, _CLONE_THREAD, 0))
        else:
            rule("clone", eperm)
        # clone3 passes flags in memory seccomp cannot read; ENOSYS makes glibc fall back to clone (checked above)
        rule("clone3", _errno_action(errno.ENOSYS))
        rule("openat2", _errno_action(errno.ENOSYS))
        rule("prlimit64", eperm, (2, _SCMP_CMP_NE, 0, 0))  # reading limits is fine, raising them is not
        for bit in _O_WRITE_BITS:
            rule("open", eperm, (1, _SCMP_CMP_MASKED_EQ, bit, bit))
            rule("openat", eperm, (2, _SCMP_CMP_MASKED_EQ, bit, bit))
        rc = lib.seccomp_load(ctx)
        if rc != 0:
            return f"seccomp_load failed: {os.strerror(-rc)}"
        return True
    except OSError as exc:
        return f"seccomp filter not installed: {exc}"
    finally:
        lib.seccomp_release(ctx)


def _seccomp_selftest() -> bool:
    """kill(self, 0) is harmless either way; EPERM proves the filter is live."""
    try:
        os.kill(os.getpid(), 0)
    except PermissionError:
        return True
    return False


def _socket_selftest(socket_module: Any) -> bool | str:
    """Whether opening a socket fails in this process, whatever layer stops it.

    Every launcher must end up here with no network; checking the syscall itself (not the module import, which
    fails anyway once the uid drop hides the standard library) shows the fallbacks keep that promise too.
    """
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


def _set_limit(which: int, value: int) -> None:
    import resource

    soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY and value > hard:
        value = hard
    # CPU: soft < hard, so the kernel's SIGXCPU (recognisable) comes a second before its SIGKILL
    new_hard = value + 1 if which == resource.RLIMIT_CPU and (hard == resource.RLIM_INFINITY or value < hard) else value
    resource.setrlimit(which, (value, new_hard))


def apply_rlimits(
    *, cpu_s: int | None, memory_bytes: int | None, nproc: int | None, fsize: int | None, nofile: int | None
) -> dict[str, str]:
    """Set the given limits (soft = hard, so the program cannot raise them back); None leaves one alone."""
    import resource

    done: dict[str, str] = {}
    plan = [
        ("cpu", resource.RLIMIT_CPU, cpu_s),
        ("as", resource.RLIMIT_AS, memory_bytes),
        ("nproc", resource.RLIMIT_NPROC, nproc),
        ("fsize", resource.RLIMIT_FSIZE, fsize),
        ("nofile", resource.RLIMIT_NOFILE, nofile),
        ("core", resource.RLIMIT_CORE, 0),
        ("memlock", resource.RLIMIT_MEMLOCK, 0),
        ("msgqueue", resource.RLIMIT_MSGQUEUE, 0),
    ]
    for label, which, value in plan:
        if value is None:
            continue
        try:
            _set_limit(which, value)
            done[label] = str(value)
        except (ValueError, OSError) as exc:
            done[label] = f"failed: {exc}"
    return done


def _drop_capabilities(libseccomp: Any) -> str:
    """Clear effective/permitted/inheritable capabilities with capset(2); returns CapEff afterwards.

    Matters where we stay uid 0 inside a user namespace (the ``unshare --user`` fallback): root there holds a
    full capability set over its own namespaces until we drop it.
    """
    try:
        import ctypes

        if not isinstance(libseccomp, str):
            nr = libseccomp.seccomp_syscall_resolve_name(b"capset")
            if nr >= 0:
                header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
                data = (ctypes.c_uint32 * 6)()  # two zeroed __user_cap_data_struct
                ctypes.CDLL(None, use_errno=True).syscall(nr, header, data)
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("CapEff:"):
                    return line.split()[1]
    except (OSError, AttributeError):
        pass
    return "unknown"


def _host_uid() -> int:
    """Our uid as the host kernel sees it (inside a user namespace getuid() may say 0 for someone else)."""
    uid = os.getuid()
    try:
        with open("/proc/self/uid_map") as fh:
            for line in fh:
                inside, outside, count = (int(x) for x in line.split())
                if inside <= uid < inside + count:
                    return outside + uid - inside
    except (OSError, ValueError):
        pass
    return uid


def _network_isolated() -> bool:
    """Only a loopback interface visible: we are in our own network namespace."""
    try:
        with open("/proc/self/net/dev") as fh:
            names = [line.split(":")[0].strip() for line in fh.readlines()[2:]]
    except OSError:
        return False
    return names == ["lo"] or names == []


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


_CONFINED: dict[str, bool | str] | None = None


def process_confined() -> bool:
    """Whether this process carries the sandbox limits (then reward programs may run in it directly)."""
    return _CONFINED is not None and _CONFINED.get("seccomp") is True


def confine_current_process(*, memory_headroom_mb: int = 1024, nofile_headroom: int = 64) -> dict[str, bool | str]:
    """Confine a dedicated env worker process for good: no network, no exec/fork, no file writes.

    For SubprocVecEnv-style workers that run an env plus a verified reward program in-process: the env keeps
    its threads and already-open pipes, but nothing it (or an escaped program) does can reach outside.
    Irreversible, hence refused in a process that is not a multiprocessing child.
    """
    global _CONFINED
    if _CONFINED is not None:
        return dict(_CONFINED)
    import multiprocessing

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
    report["seccomp_selftest"] = _seccomp_selftest() if report["seccomp"] is True else False
    _CONFINED = report
    return dict(report)


def confinement_report() -> dict[str, bool | str] | None:
    return None if _CONFINED is None else dict(_CONFINED)


# ------------------------------------------------------------------------------------------ wire protocol

_LEN = struct.Struct("<I")


def _read_exact(fd: int, n: int) -> bytes:
    chunks: list[bytes] = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            raise EOFError("pipe closed")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _send(fd: int, payload: bytes) -> None:
    _write_all(fd, _LEN.pack(len(payload)) + payload)


def _recv(fd: int) -> bytes:
    (n,) = _LEN.unpack(_read_exact(fd, 4))
    return _read_exact(fd, n)


def _encode_reply(header: dict[str, Any], doubles: array | None = None) -> bytes:
    head = json.dumps(header).encode()
    return _LEN.pack(len(head)) + head + (doubles.tobytes() if doubles is not None else b"")


# ------------------------------------------------------------------------------------------------- worker


def _worker_call(fn: Callable[..., Any], rows: Sequence[Any]) -> bytes:
    MP = _MP
    names: list[str] | None = None
    flat = array("d")
    uniform = True
    results: list[tuple[float, dict[str, float]]] = []
    for i, (obs, action, next_obs, info, state) in enumerate(rows):
        try:
            total, comps = normalise_result(fn(MP(obs), action, MP(next_obs), MP(info), MP(state)))
        except BaseException as exc:  # noqa: B036 - everything a program raises is reported, nothing escapes
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            return _encode_reply({"ok": False, "kind": classify_exception(exc), "error": describe_exception(exc),
                                  "row": i, "cpu": time.process_time()})  # fmt: skip
        if names is None:
            names = list(comps)
        if uniform and list(comps) == names:
            flat.append(total)
            flat.extend(comps.values())
        else:
            uniform = False
        results.append((total, comps))
    cpu = time.process_time()
    if uniform:
        return _encode_reply({"ok": True, "n": len(rows), "names": names or [], "cpu": cpu}, flat)
    return _encode_reply({"ok": True, "n": len(rows), "rows": results, "cpu": cpu})


def _worker_main(argv: Sequence[str]) -> None:
    """Confine ourselves, say hello with what worked, then serve load/call/probe requests until EOF."""
    req_fd, resp_fd = int(argv[0]), int(argv[1])
    cfg = json.loads(argv[2])
    hello: dict[str, Any] = {"hello": 1, "pid": os.getpid()}
    # bwrap sets PWD and CPython itself sets LC_CTYPE when coercing the C locale; nothing else may be there
    hello["environment"] = sorted(os.environ)
    hello["clean_environment"] = set(os.environ) <= {"PWD", "LC_CTYPE"}
    try:
        import stat as _stat

        st = os.fstat(0)
        hello["stdin_closed"] = _stat.S_ISCHR(st.st_mode) and os.read(0, 1) == b""
    except OSError:
        hello["stdin_closed"] = True
    hello["network_isolated"] = _network_isolated()
    try:
        hello["readonly_root"] = bool(os.statvfs("/").f_flag & os.ST_RDONLY)
    except OSError:
        hello["readonly_root"] = False
    # Everything the worker will ever import or dlopen is loaded now: after the uid drop the interpreter's own
    # files may be unreadable, and after NOFILE shrinks dlopen has no descriptor to spare.
    import _socket  # the socket self-test below needs it loaded before the interpreter's files go away
    import resource  # noqa: F401
    import stat  # noqa: F401

    libseccomp = _load_libseccomp()
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
    hello["capabilities"] = _drop_capabilities(libseccomp)
    hello["host_uid"] = _host_uid()
    max_fd = max(int(x) for x in os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 16
    hello["rlimits"] = apply_rlimits(
        cpu_s=int(cfg["cpu_s"]),
        memory_bytes=int(cfg["memory_mb"]) << 20,
        nproc=0,
        fsize=0,
        nofile=max(max_fd + 4, 8),
    )
    if cfg.get("seccomp", True):
        hello["seccomp"] = install_seccomp(allow_threads=False, lib=libseccomp)
    else:
        hello["seccomp"] = "disabled by configuration"
    hello["seccomp_selftest"] = _seccomp_selftest() if hello["seccomp"] is True else False
    hello["socket_blocked"] = _socket_selftest(_socket)
    sys.setrecursionlimit(int(cfg.get("recursion_limit", RECURSION_LIMIT)))
    _send(resp_fd, json.dumps(hello).encode())

    fn: Callable[..., Any] | None = None
    while True:
        try:
            msg = marshal.loads(_recv(req_fd))
        except EOFError:
            return
        op = msg[0]
        if op == "exit":
            return
        if op == "load":
            fn = None
            try:
                fn = load_program(msg[1])
                reply = _encode_reply({"ok": True})
            except BaseException as exc:  # noqa: B036 - module bodies can raise anything
                reply = _encode_reply({"ok": False, "kind": classify_exception(exc) if not isinstance(
                    exc, ResultTypeError) else "load", "error": describe_exception(exc)})  # fmt: skip
        elif op == "call":
            if fn is None:
                reply = _encode_reply({"ok": False, "kind": "load", "error": "no program loaded"})
            else:
                reply = _worker_call(fn, msg[1])
        elif op == "probe":
            # Trusted diagnostics from the parent (tests, doctor): plain Python, to show what the OS layers stop.
            scope: dict[str, Any] = {}
            try:
                exec(msg[1], scope)
                reply = _encode_reply({"ok": True, "result": repr(scope.get("result"))[:2000]})
            except BaseException as exc:  # noqa: B036
                reply = _encode_reply({"ok": False, "kind": classify_exception(exc),
                                       "error": describe_exception(exc)})  # fmt: skip
        else:
            reply = _encode_reply({"ok": False, "kind": "protocol", "error": f"unknown op {op!r}"})
        _send(resp_fd, reply)


# ------------------------------------------------------------------------------------------------- parent

Row = tuple[Mapping[str, float], int, Mapping[str, float], Mapping[str, Any], Mapping[str, Any]]

_BWRAP_COMMON = [
    "--unshare-all", "--die-with-parent", "--new-session", "--clearenv", "--cap-drop", "ALL",
]  # fmt: skip
_BWRAP_TAIL = ["--tmpfs", "/tmp", "--proc", "/proc", "--dev", "/dev"]


def _python_binary() -> str:
    return os.path.realpath(sys.executable)


def _minimal_binds() -> list[str]:
    """Read-only binds of just what the worker needs: system libraries and the Python installation.

    Everything else (home directories, the project, /etc, /var) is simply absent, so even a full escape from
    the language layer has nothing to read: no API keys, no source, no other users' files.
    """
    args: list[str] = []
    for path in ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/etc/ld.so.cache"):
        args += ["--ro-bind-try", path, path]
    dirs = {os.path.realpath(sys.base_prefix), os.path.dirname(os.path.dirname(_python_binary()))}
    for path in sorted(dirs):
        if not any(path == p or path.startswith(p + "/") for p in ("/usr", "/lib", "/lib64", "/bin")):
            args += ["--ro-bind", path, path]
    return args


def _launcher_prefix(name: str) -> list[str]:
    if name == "bwrap":
        return ["bwrap", *_BWRAP_COMMON, *_minimal_binds(), *_BWRAP_TAIL, "--remount-ro", "/", "--"]
    if name == "bwrap (whole root)":
        return ["bwrap", *_BWRAP_COMMON, "--ro-bind", "/", "/", *_BWRAP_TAIL, "--"]
    return LAUNCHERS[name]


#: Launchers in order of preference; the first that yields a working worker is kept for the process.
LAUNCHERS: dict[str, list[str]] = {
    "bwrap": [],  # built by _launcher_prefix: depends on where Python lives
    "bwrap (whole root)": [],
    "unshare --net": ["unshare", "--net", "--"],
    "unshare --user --net": ["unshare", "--user", "--map-root-user", "--net", "--"],
    "none": [],
}

_LAUNCHER_CHOICE: tuple[str, dict[str, str]] | None = None


def _worker_source() -> str:
    with open(os.path.abspath(__file__), encoding="utf-8") as fh:
        return fh.read()


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
        self._req_w = -1
        self._resp_r = -1
        self._code: types.CodeType | None = None
        self._rbuf = bytearray()
        self._hello: dict[str, Any] = {}
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
        for name in LAUNCHERS:
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
        prefix = _launcher_prefix(name)
        if prefix and not _which(prefix[0]):
            raise SandboxError("crash", f"{prefix[0]} is not installed")
        started = time.perf_counter()
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        cfg = json.dumps(
            {
                "cpu_s": self.cpu_s,
                "memory_mb": self.memory_mb,
                "recursion_limit": RECURSION_LIMIT,
                "seccomp": self.seccomp,
            }
        )
        argv = [
            *prefix,
            _python_binary(),
            "-I",
            "-S",
            "-B",
            "-c",
            _worker_source(),
            "--worker",
            str(req_r),
            str(resp_w),
            cfg,
        ]
        try:
            proc = subprocess.Popen(
                argv,
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
        self._rbuf = bytearray()
        self._proc, self._req_w, self._resp_r = proc, req_w, resp_r
        try:
            hello = json.loads(self._recv_frame(time.monotonic() + self.start_timeout_s))
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
        proc = self._proc
        self._proc = None
        for fd in (self._req_w, self._resp_r):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._req_w = self._resp_r = -1
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
        if self._proc is not None and self._proc.poll() is None and self._req_w >= 0:
            try:
                self._send_frame(marshal.dumps(("exit",)), time.monotonic() + 0.5)
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

    def _send_frame(self, payload: bytes, deadline: float) -> None:
        view = memoryview(_LEN.pack(len(payload)) + payload)
        while view:
            try:
                view = view[os.write(self._req_w, view) :]
                continue
            except BlockingIOError:
                pass
            except OSError as exc:
                raise SandboxError("crash", f"worker pipe closed: {exc}") from exc
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SandboxError("timeout", "timed out sending to the worker")
            select.select([], [self._req_w], [], remaining)

    def _read_until(self, n: int, deadline: float) -> bytes:
        # Buffered: a reply usually arrives in one read, so the common path is one select and one read.
        buf = self._rbuf
        while len(buf) < n:
            try:
                chunk = os.read(self._resp_r, max(n - len(buf), 1 << 16))
            except BlockingIOError:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise SandboxError("timeout", "timed out") from None
                select.select([self._resp_r], [], [], remaining)
                continue
            if not chunk:
                raise SandboxError("crash", "worker exited")
            buf += chunk
        out = bytes(buf[:n])
        del buf[:n]
        return out

    def _recv_frame(self, deadline: float) -> bytes:
        (n,) = _LEN.unpack(self._read_until(4, deadline))
        if n > MAX_FRAME:
            raise SandboxError("protocol", f"worker reply of {n} bytes exceeds the {MAX_FRAME} byte limit")
        return self._read_until(n, deadline)

    def _request(self, payload: bytes, timeout_s: float) -> tuple[dict[str, Any], bytes]:
        """Send one request, return (header, trailing binary); on any failure the worker is killed."""
        if not self.alive:
            self.restart()
        deadline = time.monotonic() + timeout_s
        try:
            self._send_frame(payload, deadline)
            frame = self._recv_frame(deadline)
        except SandboxError as exc:
            self._fail(exc, timeout_s)
        if len(frame) < 4:
            self._fail(SandboxError("protocol", "short reply"), timeout_s)
        (hn,) = _LEN.unpack(frame[:4])
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

    def _check(self, header: dict[str, Any]) -> None:
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

    def load(self, program: types.CodeType | str) -> None:
        """Load a program (source is compiled with the restricted compiler here, in the trusted parent)."""
        code = compile_program(program) if isinstance(program, str) else program
        self._code = None
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

    def _maybe_recycle(self) -> None:
        if self._cpu_used > self.cpu_s * 0.5 and self.alive:
            self.restart()

    def call_arrays(self, rows: Sequence[Any], *, encoded: bool = False) -> tuple[list[str], array, int]:
        """Fast path: (component names, flat doubles [total, c1..ck] per row, k) — no per-row dicts.

        Falls back to building arrays from the JSON rows when a program's component keys vary by row.
        """
        if self._code is None:
            raise SandboxError("load", "no program loaded")
        self._maybe_recycle()
        payload_rows = list(rows) if encoded else [encode_row(r) for r in rows]
        try:
            payload = marshal.dumps(("call", payload_rows))
        except ValueError:  # e.g. numpy scalars in features: coerce to plain floats
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
        if (
            not isinstance(names, list)
            or len(names) > MAX_COMPONENTS
            or not all(isinstance(x, str) and _good_name(x) for x in names)
        ):
            self._fail(SandboxError("protocol", "bad component names"), timeout)
        width = 1 + len(names)
        flat = array("d")
        if len(tail) != 8 * width * len(payload_rows):
            self._fail(SandboxError("protocol", "reply payload size mismatch"), timeout)
        flat.frombytes(tail)
        return names, flat, width - 1

    def _arrays_from_json(self, rows: Any, n: int) -> tuple[list[str], array, int]:
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
                if not isinstance(value, (int, float)) or not _good_name(key):
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
        h = self._hello
        launch = self._launch_used
        rl = h.get("rlimits", {})
        host_root = h.get("host_uid") == 0 and h.get("uid_dropped") is not True
        report: dict[str, bool | str] = {
            "launcher": launch,
            "bwrap": True if launch.startswith("bwrap") else self._launch_failures.get("bwrap", "not tried"),
            "filesystem_view": "python + system libraries only"
            if launch == "bwrap"
            else "whole root (read-only)"
            if launch.startswith("bwrap")
            else "host filesystem",
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
        return report


def _which(cmd: str) -> bool:
    import shutil

    return shutil.which(cmd) is not None


_LAYERS_CACHE: dict[str, bool | str] | None = None


def sandbox_layers(refresh: bool = False) -> dict[str, bool | str]:
    """Probe once per process which sandbox layers work here (for ``gymsmith doctor`` and the verifier)."""
    global _LAYERS_CACHE
    if _LAYERS_CACHE is None or refresh:
        with Sandbox() as box:
            _LAYERS_CACHE = box.layers()
    return dict(_LAYERS_CACHE)


# --------------------------------------------------------------------------------------- in-process runner


class InProcessProgram:
    """A compiled program called directly, for env workers that already confined themselves.

    A per-call wall-clock alarm (SIGALRM, main thread only) turns a runaway loop into a SandboxError; a hang in
    C code is bounded by the verifier (which measured the program first) and the integer-size guards.
    """

    def __init__(self, program: types.CodeType | str, *, timeout_s: float = 0.05) -> None:
        code = compile_program(program) if isinstance(program, str) else program
        self._fn = load_program(code)
        self.timeout_s = timeout_s
        import threading

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
        if not self._use_alarm:
            try:
                return call_program(self._fn, obs, action, next_obs, info, state)
            except SandboxError:
                raise
            except Exception as exc:
                raise SandboxError(classify_exception(exc), describe_exception(exc)) from exc
        signal.setitimer(signal.ITIMER_REAL, self.timeout_s)
        try:
            return call_program(self._fn, obs, action, next_obs, info, state)
        except SandboxError:
            raise
        except Exception as exc:
            raise SandboxError(classify_exception(exc), describe_exception(exc)) from exc
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)


if __name__ == "__main__" and len(sys.argv) >= 4 and sys.argv[1] == "--worker":
    _worker_main(sys.argv[2:])
