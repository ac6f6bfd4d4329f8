"""Declared ranges and the JSON-schema pieces families build their LLM answer formats from.

Grammars enforce enums, not numeric bounds, so small integer ranges are enums in the schema; everything is
re-checked by pydantic (for Gymnasium envs, by a model created from the ranges the user declared).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, StrictInt, TypeAdapter, ValidationError

#: Integer ranges up to this many values become enums in the schema (grammars cannot enforce min/max).
MAX_ENUM = 32
#: Names of things (levels, worlds, goals) stay short: small models otherwise write essays there.
NAME_LEN = 24


class FamilyError(ValueError):
    """A family cannot be set up as asked (unknown env id, bad --param); the message says what to change."""


class InvalidItem(ValueError):
    """One item of an answer failed validation; ``reason`` is what the LLM (and the user) is shown."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def validation_reasons(exc: ValidationError, noun: str) -> str:
    """One line per pydantic error, with the field path first, phrased for an LLM to fix."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or noun}: {e['msg'].removeprefix('Value error, ')}"
        for e in exc.errors()
    )


# -------------------------------------------------------------------------------------- declared ranges


def _coerce(text: str) -> bool | int | float | str:
    """Choice values typed on a command line: booleans and numbers become JSON booleans and numbers."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if re.fullmatch(r"[+-]?\d+", text.strip()):
        return int(text)
    try:
        return float(text)
    except ValueError:
        return text.strip()


@dataclass(frozen=True)
class ParamRange:
    """A constructor kwarg the LLM may choose, within what the user declared (``--param name=...``)."""

    name: str
    kind: Literal["int", "float", "choice"]
    low: float = 0
    high: float = 0
    choices: tuple[bool | int | float | str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> ParamRange:
        """``size=5..16`` (ints), ``p=0.1..0.9`` (floats), ``mode=a|b`` (choices), ``x=3`` (fixed)."""
        name, sep, spec = text.partition("=")
        name, spec = name.strip(), spec.strip()
        if not sep or not name.isidentifier() or not spec:
            raise FamilyError(f"--param {text!r}: write name=LO..HI, name=a|b or name=VALUE")
        if ".." in spec:
            lo_text, _, hi_text = spec.partition("..")
            ints = all(re.fullmatch(r"\s*[+-]?\d+\s*", t) for t in (lo_text, hi_text))
            try:
                low, high = (int(lo_text), int(hi_text)) if ints else (float(lo_text), float(hi_text))
            except ValueError:
                raise FamilyError(f"--param {text!r}: LO..HI must be two numbers") from None
            if low > high:
                raise FamilyError(f"--param {text!r}: LO is greater than HI")
            return cls(name=name, kind="int" if ints else "float", low=low, high=high)
        choices = tuple(_coerce(v) for v in spec.split("|"))
        if any(v == "" for v in choices):
            raise FamilyError(f"--param {text!r}: an empty choice")
        return cls(name=name, kind="choice", choices=tuple(dict.fromkeys(choices)))

    def values(self) -> list[Any] | None:
        """The allowed values when they can be listed (choices, small int ranges); None for a continuum."""
        if self.kind == "choice":
            return list(self.choices)
        if self.kind == "int" and self.high - self.low < MAX_ENUM:
            return list(range(int(self.low), int(self.high) + 1))
        return None

    def schema(self) -> dict[str, Any]:
        values = self.values()
        if values is not None:
            return {"enum": values}
        kind = "integer" if self.kind == "int" else "number"
        return {"type": kind, "minimum": self.low, "maximum": self.high}

    def annotation(self) -> Any:
        """The pydantic type that re-checks the LLM's value (strict: ``true`` is not the integer 1)."""
        if self.kind == "int":
            return Annotated[StrictInt, Field(ge=int(self.low), le=int(self.high))]
        if self.kind == "float":
            return Annotated[float, Field(ge=self.low, le=self.high, allow_inf_nan=False)]
        choices = self.choices

        def one_of(value: Any) -> Any:
            # ``==`` alone would let true stand for 1 and 1.0: booleans only match booleans
            for choice in choices:
                if value == choice and isinstance(value, bool) == isinstance(choice, bool):
                    return choice
            raise ValueError(f"{json_word(value)} is not one of {', '.join(json_word(c) for c in choices)}")

        return Annotated[Any, BeforeValidator(one_of)]

    def describe(self) -> str:
        """How the template states the range in words."""
        values = self.values()
        if self.kind == "choice":
            return "one of " + ", ".join(json_word(v) for v in values or [])
        if values is not None:
            return f"an integer from {int(self.low)} to {int(self.high)}"
        kind = "an integer" if self.kind == "int" else "a number"
        return f"{kind} from {self.low} to {self.high}"


def json_word(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def parse_params(texts: list[str] | tuple[str, ...]) -> list[ParamRange]:
    params = [ParamRange.parse(t) for t in texts]
    names = [p.name for p in params]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise FamilyError(f"--param declared twice: {', '.join(dupes)}")
    return params


def restrict(model: type[BaseModel], param: ParamRange, tunable: tuple[str, ...]) -> list[Any]:
    """Values of ``param`` for a field of a dedicated family, each checked against the field's own constraints."""
    if param.name not in tunable:
        raise FamilyError(f"--param {param.name}: this family's tunable fields are {', '.join(sorted(tunable))}")
    values = param.values()
    if values is None:
        raise FamilyError(f"--param {param.name}: give a list (a|b) or a range of at most {MAX_ENUM} integers")
    info = model.model_fields[param.name]
    annotation = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
    adapter: TypeAdapter[Any] = TypeAdapter(annotation)
    for value in values:
        try:
            adapter.validate_python(value, strict=True)
        except ValidationError as exc:
            reason = exc.errors()[0]["msg"]
            raise FamilyError(f"--param {param.name}: {json_word(value)} is not allowed ({reason})") from None
    return values


def check_members(spec: BaseModel, allowed: dict[str, list[Any]], noun: str) -> None:
    """Enum'ed fields must take listed values even when the backend ignored the grammar."""
    problems = []
    for name, values in allowed.items():
        value = getattr(spec, name)
        if value not in values or type(value) is not type(values[0]):
            listed = ", ".join(json_word(v) for v in values)
            problems.append(f"{name}: {json_word(value)} is not one of {listed}")
    if problems:
        raise InvalidItem("; ".join(problems))


# -------------------------------------------------------------------------------------------- goals


def goal_schema(events: tuple[str, ...], n: int) -> dict[str, Any]:
    goal = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": NAME_LEN},
            "description": {"type": "string", "maxLength": 100},
            "events": {"type": "array", "items": {"enum": list(events)}, "minItems": 1, "maxItems": 3},
        },
        "required": ["name", "description", "events"],
        "additionalProperties": False,
    }
    return {"type": "array", "items": goal, "minItems": 1, "maxItems": n}


def answer_schema(items_key: str, item: dict[str, Any], k: int, events: tuple[str, ...], goals: int) -> dict:
    properties: dict[str, Any] = {
        "rationale": {"type": "string", "maxLength": 160},
        items_key: {"type": "array", "items": item, "minItems": k, "maxItems": k},
    }
    required = ["rationale", items_key]
    if goals and events:
        properties["goals"] = goal_schema(events, goals)
        required.append("goals")
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def goals_context(events: tuple[str, ...], goals: int, noun: str) -> dict[str, Any] | None:
    """What ``prompts/goals.j2`` renders when the answer should carry goals (None: no goals asked)."""
    if not goals or not events:
        return None
    return {"n": goals, "events": list(events), "noun": noun}
