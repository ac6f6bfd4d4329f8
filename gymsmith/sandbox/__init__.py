"""The sandbox LLM-written reward programs run in (ground floor: everything above may use it; see SECURITY.md).

* ``static``: the static layer (AST allow-list, names, attributes, argument writes, size limits);
* ``program``: `CompiledProgram`, a checked program compiled once by RestrictedPython, what training receives;
* ``worker``: the worker process's whole program (stdlib only): restricted runtime, self-confinement, framing;
* ``launch`` and ``parent``: starting workers (bubblewrap, unshare, plain) and `Sandbox`, the parent side;
* ``inprocess``: `confine_current_process` and `InProcessProgram`, for env workers that run programs directly.
"""

from gymsmith.sandbox.inprocess import InProcessProgram, confine_current_process, process_confined
from gymsmith.sandbox.parent import Sandbox, encode_row, sandbox_layers
from gymsmith.sandbox.program import (
    CompiledProgram,
    ProgramCompileError,
    ProgramRefused,
    SandboxError,
    compile_program,
)
from gymsmith.sandbox.static import static_check
from gymsmith.sandbox.worker import SAFE_BUILTIN_NAMES, SAFE_MATH_NAMES

__all__ = [
    "SAFE_BUILTIN_NAMES",
    "SAFE_MATH_NAMES",
    "CompiledProgram",
    "InProcessProgram",
    "ProgramCompileError",
    "ProgramRefused",
    "Sandbox",
    "SandboxError",
    "compile_program",
    "confine_current_process",
    "encode_row",
    "process_confined",
    "sandbox_layers",
    "static_check",
]
