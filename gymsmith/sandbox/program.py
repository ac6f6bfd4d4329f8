"""A reward program as training receives it: checked and compiled once, in the trusted parent.

Compiling happens here and only here (RestrictedPython is a parent-side dependency; workers receive marshalled
code objects). The result, `CompiledProgram`, is a plain value: picklable, so ``SubprocVecEnv`` ships it to its
workers, and hashable by the source digest, so every wrapper, worker and sandbox that gets one runs exactly the
program the static layer passed, without checking or compiling it again.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import marshal
import types
from collections.abc import Sequence
from dataclasses import dataclass, field

from gymsmith.sandbox.static import static_check
from gymsmith.schemas import RewardProgram


class SandboxError(RuntimeError):
    """A reward program failed in a way the verifier can name.

    ``kind`` is one of: timeout, crash, memory, recursion, violation, cpu, protocol (the isolation layer's
    business: the OS or the runtime stopped something), type, error (ordinary bugs: the smoke layer's), load.
    The worker names the kind of what a program raised (``worker.classify_exception``).
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


class ProgramRefused(ValueError):
    """The static layer (or RestrictedPython) refused the source; ``reasons`` are written for the LLM."""

    def __init__(self, reasons: Sequence[str]) -> None:
        super().__init__("reward program refused by the static layer: " + "; ".join(reasons))
        self.reasons = list(reasons)


def compile_program(source: str, filename: str = "<reward_program>") -> types.CodeType:
    """RestrictedPython compile plus guards on ``**`` and ``<<`` (no static checks: see `CompiledProgram`).

    RestrictedPython rewrites attribute, item, iteration and in-place access into guard calls and refuses
    underscore names; our policy additionally routes integer powers and shifts through size checks.
    """
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


def source_digest(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class CompiledProgram:
    """A reward program that passed the static layer, compiled once; what wrappers, sandboxes and workers run.

    Build one with `CompiledProgram.of` (a `RewardProgram`, a source text, or an existing one, returned as is).
    """

    name: str
    #: sha256 of the source (16 hex digits): two programs with the same digest are the same program.
    digest: str
    #: Component names the program declares (compose mode knows them; code-mode programs may declare none).
    components: tuple[str, ...]
    marshalled: bytes = field(repr=False)

    @functools.cached_property
    def code(self) -> types.CodeType:
        return marshal.loads(self.marshalled)

    def __getstate__(self) -> dict[str, object]:  # the cached code object stays behind: bytes travel
        return {k: v for k, v in self.__dict__.items() if k != "code"}

    @classmethod
    def of(cls, program: CompiledProgram | RewardProgram | str) -> CompiledProgram:
        """Check and compile (cached per source within a process); raises `ProgramRefused` with the reasons."""
        if isinstance(program, CompiledProgram):
            return program
        if isinstance(program, str):
            program = RewardProgram(mode="code", source=program)
        return _compile_cached(program.source, program.name, tuple(program.components))


@functools.lru_cache(maxsize=64)
def _compile_cached(source: str, name: str, components: tuple[str, ...]) -> CompiledProgram:
    reasons = static_check(source)
    if not reasons:
        try:
            code = compile_program(source)
        except ProgramCompileError as exc:
            reasons = [f"RestrictedPython: {e}" for e in exc.errors]
        except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
            reasons = [f"the program could not be compiled: {type(exc).__name__}: {exc}"]
    if reasons:
        raise ProgramRefused(reasons)
    return CompiledProgram(name, source_digest(source), components, marshal.dumps(code))
