"""The static layer: what a reward program may contain, checked on its syntax tree before anything runs.

It refuses early and explains, in words an LLM can act on in its repair prompt; it is not what keeps the host
safe (RestrictedPython's guards and the worker's OS layers are), so everything here is also enforced at run time:
the allowed attributes are the runtime's own table (``worker.ALLOWED_ATTRIBUTES``), the provided names its
namespace, and the one importable module its ``__import__``.
"""

from __future__ import annotations

import ast

from gymsmith.sandbox.worker import ALLOWED_ATTRIBUTES, IMPORTABLE_MODULE, SAFE_BUILTIN_NAMES, SAFE_MATH_NAMES

MAX_SOURCE_CHARS = 8000
MAX_AST_NODES = 3000
REWARD_PARAMS = 5

_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Module, ast.FunctionDef, ast.arguments, ast.arg, ast.Return, ast.Assign, ast.AugAssign, ast.If,
    ast.For, ast.While, ast.Break, ast.Continue, ast.Pass, ast.Expr, ast.BoolOp, ast.BinOp, ast.UnaryOp,
    ast.Compare, ast.Call, ast.IfExp, ast.Dict, ast.List, ast.Tuple, ast.Constant, ast.Name, ast.Load,
    ast.Store, ast.Attribute, ast.Subscript, ast.Slice, ast.ListComp, ast.DictComp, ast.GeneratorExp,
    ast.comprehension, ast.keyword, ast.Lambda, ast.Starred, ast.JoinedStr, ast.FormattedValue,
    ast.boolop, ast.unaryop, ast.cmpop, ast.operator, ast.Import, ast.ImportFrom, ast.alias,
)  # fmt: skip

#: Why each construct is refused, in the words the LLM will read in the repair prompt.
_NODE_REASONS: dict[type[ast.AST], str] = {
    ast.ClassDef: "class definitions are not allowed; use plain functions",
    ast.Try: "try/except is not allowed; write code that cannot raise",
    ast.Raise: "raise is not allowed",
    ast.With: "with-statements are not allowed",
    ast.Global: "global/nonlocal state is not allowed; reward programs must be pure functions",
    ast.Nonlocal: "global/nonlocal state is not allowed; reward programs must be pure functions",
    ast.Delete: "del is not allowed",
    ast.Yield: "generators (yield) are not allowed",
    ast.YieldFrom: "generators (yield) are not allowed",
    ast.Await: "async code is not allowed",
    ast.AsyncFunctionDef: "async code is not allowed",
    ast.Set: "set literals are not allowed: their iteration order changes between processes",
    ast.SetComp: "set comprehensions are not allowed: their iteration order changes between processes",
    ast.NamedExpr: "the walrus operator is not allowed",
    ast.Assert: "assert is not allowed",
}

FORBIDDEN_NAMES = frozenset(
    {
        "exec", "eval", "compile", "open", "getattr", "setattr", "delattr", "hasattr", "globals", "locals",
        "vars", "breakpoint", "input", "print", "dir", "type", "object", "super", "help", "exit", "quit",
        "memoryview", "bytearray", "bytes", "classmethod", "staticmethod", "property", "iter", "next", "id",
        "hash", "format", "issubclass", "builtins", "os", "sys", "subprocess", "socket", "ctypes", "importlib",
        "np", "numpy", "random", "time", "pickle", "marshal", "signal", "threading", "multiprocessing",
    }
)  # fmt: skip
MUTATING_METHODS = frozenset(
    {"append", "extend", "insert", "pop", "remove", "sort", "reverse", "update", "setdefault", "clear", "popitem",
     "add", "discard"}
)  # fmt: skip
#: Every attribute some receiver type allows at run time (the static layer cannot know receiver types).
ATTRIBUTE_NAMES = frozenset().union(*ALLOWED_ATTRIBUTES.values())
PROVIDED_NAMES = frozenset(SAFE_BUILTIN_NAMES) | {"range", "clip", "sign", "math", "True", "False", "None"}
AVAILABLE = "math, " + ", ".join(sorted(PROVIDED_NAMES - {"math", "True", "False", "None"}))
_IMPORT_HELP = f"only `import math` and `from math import ...` work (math is provided anyway); available: {AVAILABLE}"


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _bound_names(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name)
    return names


def _import_problem(node: ast.Import | ast.ImportFrom) -> str | None:
    """Why an import is refused, or None for the harmless ones code models write out of habit."""
    if isinstance(node, ast.ImportFrom):
        if node.module != IMPORTABLE_MODULE or node.level:
            return f"importing from {'.' * node.level}{node.module or ''} is not allowed: {_IMPORT_HELP}"
        missing = [a.name for a in node.names if a.name not in SAFE_MATH_NAMES]
        if "*" in missing:
            return "`from math import *` is not allowed; name what you use (`from math import sqrt, exp`)"
        if missing:
            verb = "is" if len(missing) == 1 else "are"
            return f"math.{', math.'.join(missing)} {verb} not available; math offers: {', '.join(SAFE_MATH_NAMES)}"
    else:
        others = [a.name for a in node.names if a.name != IMPORTABLE_MODULE]
        if others:
            return f"import of {', '.join(others)} is not allowed: {_IMPORT_HELP}"
    for alias in node.names:
        bound = alias.asname or alias.name
        if bound.startswith("_") or bound in FORBIDDEN_NAMES:
            return f"cannot bind an import to the name {bound!r}"
    return None


def static_check(source: str) -> list[str]:
    """Every reason the source is refused before it runs (empty list: it may go on to RestrictedPython)."""
    if len(source) > MAX_SOURCE_CHARS:
        return [f"the program is {len(source)} characters; the limit is {MAX_SOURCE_CHARS}"]
    try:
        tree = ast.parse(source, filename="<reward_program>")
    except SyntaxError as exc:
        return [f"line {exc.lineno}: syntax error: {exc.msg}"]
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_AST_NODES:
        return [f"the program has {len(nodes)} syntax nodes; the limit is {MAX_AST_NODES}"]
    reasons: list[str] = []

    def refuse(node: ast.AST, why: str) -> None:
        line = getattr(node, "lineno", None)
        text = f"line {line}: {why}" if line else why
        if text not in reasons:
            reasons.append(text)

    # module shape: constants, imports of math and function definitions only
    reward_fn: ast.FunctionDef | None = None
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef):
            if stmt.name == "reward":
                reward_fn = stmt
        elif isinstance(stmt, ast.Assign) and all(isinstance(t, ast.Name) for t in stmt.targets):
            pass
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            pass  # docstring
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)) or type(stmt) in _NODE_REASONS:
            pass  # checked below, with its own reason
        else:
            refuse(stmt, "only constants, imports of math and function definitions may appear at module level")
    if reward_fn is None:
        reasons.append("the program must define `def reward(obs, action, next_obs, info, state)` at module level")
    else:
        args = reward_fn.args
        if (
            len(args.args) != REWARD_PARAMS
            or args.posonlyargs
            or args.vararg
            or args.kwarg
            or args.kwonlyargs
            or args.defaults
        ):
            refuse(reward_fn, "reward must take exactly 5 plain parameters: (obs, action, next_obs, info, state)")
    params = {a.arg for a in reward_fn.args.args} if reward_fn is not None else set()
    known = PROVIDED_NAMES | _bound_names(tree)

    for node in nodes:
        reason = _NODE_REASONS.get(type(node))
        if reason:
            refuse(node, reason)
            continue
        if not isinstance(node, _ALLOWED_NODES):
            refuse(node, f"{type(node).__name__} syntax is not allowed in reward programs")
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            problem = _import_problem(node)
            if problem:
                refuse(node, problem)
        elif isinstance(node, (ast.FunctionDef, ast.Lambda)) and getattr(node, "decorator_list", None):
            refuse(node, "decorators are not allowed")
        elif isinstance(node, ast.Name):
            if node.id.startswith("_"):
                refuse(node, f"name {node.id!r} starts with an underscore; such names are reserved")
            elif node.id in FORBIDDEN_NAMES:
                refuse(node, f"{node.id!r} is not available to reward programs")
            elif isinstance(node.ctx, ast.Load) and node.id not in known:
                refuse(node, f"name {node.id!r} is not defined; available: {AVAILABLE}")
        elif isinstance(node, ast.Attribute):
            if node.attr.startswith("_"):
                refuse(node, f"attribute {node.attr!r}: underscore (dunder) attributes are not allowed")
            elif isinstance(node.ctx, ast.Store):
                refuse(node, f"assigning to attribute {node.attr!r} is not allowed")
            elif node.attr not in ATTRIBUTE_NAMES:
                refuse(node, f"attribute {node.attr!r} is not available (allowed: math functions and "
                             f"get/keys/values/items on mappings, list and str basics)")  # fmt: skip
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
            if _root_name(node.value) in params:
                refuse(node, f"writing into argument {_root_name(node.value)!r}: reward programs must not "
                             "mutate their inputs")  # fmt: skip
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, (ast.Subscript, ast.Attribute)):
            if _root_name(node.target) in params:
                refuse(node, f"writing into argument {_root_name(node.target)!r}: reward programs must not "
                             "mutate their inputs")  # fmt: skip
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in MUTATING_METHODS and _root_name(node.func.value) in params:
                refuse(node, f"calling .{node.func.attr}() on argument {_root_name(node.func.value)!r}: reward "
                             "programs must not mutate their inputs")  # fmt: skip
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if "__" in node.value or "{0." in node.value or "{." in node.value:
                refuse(node, "strings containing '__' or format-field attribute access are not allowed")
        elif isinstance(node, ast.Assign) and reward_fn is not None:
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id == "reward" and node not in tree.body:
                    refuse(node, "rebinding `reward` is not allowed")
    return reasons
