"""How a sandbox worker process is started: the launchers, best first, and the command line each one needs."""

from __future__ import annotations

import functools
import os
import shutil
import sys

from gymsmith.sandbox import worker

_BWRAP_COMMON = [
    "--unshare-all", "--die-with-parent", "--new-session", "--clearenv", "--cap-drop", "ALL",
]  # fmt: skip
_BWRAP_TAIL = ["--tmpfs", "/tmp", "--proc", "/proc", "--dev", "/dev"]

#: Launchers in order of preference; the first that yields a working worker is kept for the process.
LAUNCHERS: dict[str, list[str]] = {
    "bwrap": [],  # built by launcher_prefix: depends on where Python lives
    "bwrap (whole root)": [],
    "unshare --net": ["unshare", "--net", "--"],
    "unshare --user --net": ["unshare", "--user", "--map-root-user", "--net", "--"],
    "none": [],
}


def python_binary() -> str:
    return os.path.realpath(sys.executable)


def _minimal_binds() -> list[str]:
    """Read-only binds of just what the worker needs: system libraries and the Python installation.

    Everything else (home directories, the project, /etc, /var) is simply absent, so even a full escape from
    the language layer has nothing to read: no API keys, no source, no other users' files.
    """
    args: list[str] = []
    for path in ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/etc/ld.so.cache"):
        args += ["--ro-bind-try", path, path]
    dirs = {os.path.realpath(sys.base_prefix), os.path.dirname(os.path.dirname(python_binary()))}
    for path in sorted(dirs):
        if not any(path == p or path.startswith(p + "/") for p in ("/usr", "/lib", "/lib64", "/bin")):
            args += ["--ro-bind", path, path]
    return args


def launcher_prefix(name: str) -> list[str]:
    if name == "bwrap":
        return ["bwrap", *_BWRAP_COMMON, *_minimal_binds(), *_BWRAP_TAIL, "--remount-ro", "/", "--"]
    if name == "bwrap (whole root)":
        return ["bwrap", *_BWRAP_COMMON, "--ro-bind", "/", "/", *_BWRAP_TAIL, "--"]
    return LAUNCHERS[name]


def missing_tool(name: str) -> str | None:
    """The launcher's program when it is not installed (then the launcher is skipped), else None."""
    prefix = launcher_prefix(name)
    return prefix[0] if prefix and shutil.which(prefix[0]) is None else None


@functools.lru_cache(maxsize=1)
def worker_source() -> str:
    """The worker's program text: ``worker.py`` itself, run with ``-c`` where the project is not mounted."""
    with open(os.path.abspath(worker.__file__), encoding="utf-8") as fh:
        return fh.read()


def worker_argv(name: str, request_fd: int, reply_fd: int, config: str) -> list[str]:
    """``python -I -S -B``: isolated mode, no site-packages, no bytecode written; only the standard library."""
    return [*launcher_prefix(name), python_binary(), "-I", "-S", "-B", "-c", worker_source(), "--worker",
            str(request_fd), str(reply_fd), config]  # fmt: skip
