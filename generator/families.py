"""Environment families the proposer can write for: MiniGrid levels, Crafter worlds, any Gymnasium env's kwargs.

A family is everything the proposer needs to know about one kind of spec — the JSON schema that constrains the
LLM's decoding, the template (and its context) that explains fields, allowed values and rules, the event
vocabulary its goals may use, and how to validate one item of the answer into a spec. The proposer itself stays
family-agnostic, so adding a family never touches the prompt/repair/caching machinery.

Grammars enforce enums, not numeric bounds, so small integer ranges are enums in the schema; everything is
re-checked by pydantic (for Gymnasium envs, by a model created from the ranges the user declared).
"""

from __future__ import annotations

import difflib
import functools
import inspect
import json
import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Protocol, runtime_checkable

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    TypeAdapter,
    ValidationError,
    create_model,
)

from gymsmith.generator.templates import render
from gymsmith.schemas import (
    CRAFTER_MATERIALS,
    CRAFTER_TOOLS,
    DEFAULT_TARGET,
    MINIGRID_EVENTS,
    CrafterWorldSpec,
    Feedback,
    GymKwargsSpec,
    MiniGridLevelSpec,
    TaskSpec,
)

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
            raise ValueError(f"{_json_word(value)} is not one of {', '.join(_json_word(c) for c in choices)}")

        return Annotated[Any, BeforeValidator(one_of)]

    def describe(self) -> str:
        """How the template states the range in words."""
        values = self.values()
        if self.kind == "choice":
            return "one of " + ", ".join(_json_word(v) for v in values or [])
        if values is not None:
            return f"an integer from {int(self.low)} to {int(self.high)}"
        kind = "an integer" if self.kind == "int" else "a number"
        return f"{kind} from {self.low} to {self.high}"


def _json_word(value: Any) -> str:
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


def _restrict(model: type[BaseModel], param: ParamRange, tunable: tuple[str, ...]) -> list[Any]:
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
            raise FamilyError(f"--param {param.name}: {_json_word(value)} is not allowed ({reason})") from None
    return values


def _check_members(spec: BaseModel, allowed: dict[str, list[Any]], noun: str) -> None:
    """Enum'ed fields must take listed values even when the backend ignored the grammar."""
    problems = []
    for name, values in allowed.items():
        value = getattr(spec, name)
        if value not in values or type(value) is not type(values[0]):
            listed = ", ".join(_json_word(v) for v in values)
            problems.append(f"{name}: {_json_word(value)} is not one of {listed}")
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


def _answer_schema(items_key: str, item: dict[str, Any], k: int, events: tuple[str, ...], goals: int) -> dict:
    properties: dict[str, Any] = {
        "rationale": {"type": "string", "maxLength": 160},
        items_key: {"type": "array", "items": item, "minItems": k, "maxItems": k},
    }
    required = ["rationale", items_key]
    if goals and events:
        properties["goals"] = goal_schema(events, goals)
        required.append("goals")
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


# ------------------------------------------------------------------------------------------ protocol


@runtime_checkable
class Family(Protocol):
    """What the proposer needs from a kind of environment spec."""

    #: ``minigrid``, ``crafter`` or ``gym`` (the ``family`` tag of the specs it produces).
    name: str
    #: The prompt template that explains this family to the LLM.
    template: str
    #: The key of the list of specs in the answer (``levels``, ``worlds``, ``configs``).
    items_key: str
    #: What one spec is called in messages (``level``, ``world``, ``config``).
    noun: str
    #: The events a goal may require (empty: this family cannot have goals).
    events: tuple[str, ...]

    @property
    def target_env(self) -> str: ...

    def task(self, request: str) -> TaskSpec:
        """The task a free-text generate request stands for."""
        ...

    def schema(self, task: TaskSpec, k: int, goals: int) -> dict[str, Any]:
        """The JSON schema the LLM's answer is decoded under."""
        ...

    def context(
        self, task: TaskSpec, k: int, feedback: Feedback | None, request: str | None, goals: int
    ) -> dict[str, Any]:
        """Everything the template renders."""
        ...

    def build(
        self, item: dict[str, Any], task: TaskSpec | None = None
    ) -> MiniGridLevelSpec | CrafterWorldSpec | GymKwargsSpec:
        """One answer item as a validated spec; raises `InvalidItem` with a reason the LLM can act on."""
        ...

    def check(self, spec: Any) -> str:
        """Why an existing spec is outside what this family allows ('' when inside): the verifier's schema layer."""
        ...


def _goals_context(events: tuple[str, ...], goals: int, noun: str) -> dict[str, Any] | None:
    if not goals or not events:
        return None
    return {"n": goals, "events": list(events), "noun": noun}


def _example_goals(events: tuple[str, ...], goals: int, example: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return example[: max(1, min(goals, len(example)))] if goals and events else []


# -------------------------------------------------------------------------------------------- MiniGrid


MINIGRID_LEVEL_FIELDS = ("name", "size", "wall", "door_locked", "key", "lava", "distractors", "goal")

@functools.lru_cache(maxsize=1)
def examples() -> dict[str, Any]:
    """The worked examples of ``prompts/examples.json.j2``: every word the LLM reads lives under prompts/."""
    return json.loads(render("examples.json.j2"))


def target_size(env_id: str, default: int = 8) -> int:
    """Grid size of a MiniGrid target such as ``MiniGrid-DoorKey-8x8-v0``, so proposals can grow towards it."""
    match = re.search(r"(\d+)x\d+", env_id)
    return int(match.group(1)) if match else default


def minigrid_values(task: TaskSpec) -> dict[str, Any]:
    """Allowed values shown to the LLM and enforced by the grammar (enums, since grammars cannot do ranges)."""
    size = target_size(task.target_env)
    return {
        "sizes": list(range(5, max(size, 8) + 1)),
        "target_size": size,
        "lava": [0, 1, 2, 3],
        "distractors": [0, 1, 2],
        "goals": ["near", "far", "random"],
    }


#: Spec field → key of `minigrid_values`; ``--param`` may narrow these.
_MINIGRID_TUNABLE = {"size": "sizes", "lava": "lava", "distractors": "distractors", "goal": "goals",
                     "wall": None, "door_locked": None, "key": None}


@dataclass
class MiniGridFamily:
    """MiniGrid levels (`MiniGridLevelSpec`); the family the LLM curriculum uses."""

    params: list[ParamRange] = field(default_factory=list)
    target: str = DEFAULT_TARGET
    name: str = "minigrid"
    template: str = "env_proposal.j2"
    items_key: str = "levels"
    noun: str = "level"
    events: tuple[str, ...] = MINIGRID_EVENTS

    def __post_init__(self) -> None:
        self._fixed = {p.name: _restrict(MiniGridLevelSpec, p, tuple(_MINIGRID_TUNABLE)) for p in self.params}

    @property
    def target_env(self) -> str:
        return self.target

    def task(self, request: str) -> TaskSpec:
        return TaskSpec(target_env=self.target, description=request, skills=list(self.events))

    def values(self, task: TaskSpec) -> dict[str, Any]:
        values = minigrid_values(task)
        for name, allowed in self._fixed.items():
            key = _MINIGRID_TUNABLE[name]
            if key is not None:
                values[key] = allowed
        values["fixed"] = {n: v for n, v in self._fixed.items() if _MINIGRID_TUNABLE[n] is None}
        return values

    def _allowed(self, task: TaskSpec) -> dict[str, list[Any]]:
        v = self.values(task)
        return {"size": v["sizes"], "lava": v["lava"], "distractors": v["distractors"], "goal": v["goals"],
                **v["fixed"]}

    def schema(self, task: TaskSpec, k: int, goals: int) -> dict[str, Any]:
        v = self.values(task)
        bools = {n: {"enum": v["fixed"][n]} if n in v["fixed"] else {"type": "boolean"}
                 for n in ("wall", "door_locked", "key")}
        level = {
            "type": "object",
            "properties": {
                "name": {"type": "string", "maxLength": NAME_LEN},
                "size": {"enum": v["sizes"]},
                **bools,
                "lava": {"enum": v["lava"]},
                "distractors": {"enum": v["distractors"]},
                "goal": {"enum": v["goals"]},
            },
            "required": list(MINIGRID_LEVEL_FIELDS),
            "additionalProperties": False,
        }
        return _answer_schema(self.items_key, level, k, self.events, goals)

    def context(
        self, task: TaskSpec, k: int, feedback: Feedback | None, request: str | None, goals: int
    ) -> dict[str, Any]:
        example: dict[str, Any] = dict(examples()["minigrid"])
        example_goals = _example_goals(self.events, goals, examples()["minigrid_goals"])
        if example_goals:
            example["goals"] = example_goals
        return {
            "task": task,
            "family": self.values(task),
            "k": k,
            "feedback": feedback,
            "example": example,
            "request": request,
            "goals": _goals_context(self.events, goals, "levels"),
        }

    def build(self, item: dict[str, Any], task: TaskSpec | None = None) -> MiniGridLevelSpec:
        try:
            spec = MiniGridLevelSpec(**{**item, "family": "minigrid"})
        except ValidationError as exc:
            raise InvalidItem(validation_reasons(exc, self.noun)) from None
        if self._fixed:
            _check_members(spec, self._allowed(task or self.task("")), self.noun)
        return spec

    def check(self, spec: Any) -> str:
        if not isinstance(spec, MiniGridLevelSpec):
            return f"expected a MiniGrid level, got {type(spec).__name__}"
        try:
            if self._fixed:
                _check_members(spec, self._allowed(self.task("")), self.noun)
        except InvalidItem as exc:
            return exc.reason
        return ""


# --------------------------------------------------------------------------------------------- Crafter


CRAFTER_TARGET = "gymsmith/Crafter-v0"
CRAFTER_BIOMES = ["natural", "grassland", "mountain", "beaches"]
CRAFTER_RARITIES = ["very_rare", "rare", "default", "common", "very_common"]
CRAFTER_AREAS = [32, 48, 64]
CRAFTER_LENGTHS = [1000, 2000, 5000, 10000]
CRAFTER_RARITY_FIELDS = ("tree", "coal", "iron", "diamond", "zombies", "skeletons", "cows")
CRAFTER_WORLD_FIELDS = ("name", "biome", *CRAFTER_RARITY_FIELDS, "peaceful", "area", "length", "inventory")

def crafter_achievements() -> tuple[str, ...]:
    from gymsmith.envs.crafter_family import CRAFTER_ACHIEVEMENTS

    return CRAFTER_ACHIEVEMENTS


def crafter_requirements() -> list[dict[str, Any]]:
    """What each achievement needs, read from the installed Crafter's rules so the prompt never disagrees."""
    from crafter import constants

    needs: list[dict[str, Any]] = []
    for name, rule in constants.collect.items():
        tools = [item for item in rule["require"] if item in CRAFTER_TOOLS]
        if tools:
            needs.append({"achievement": f"collect_{name}", "tools": tools, "uses": {}, "nearby": []})
    for name, rule in constants.place.items():
        needs.append({"achievement": f"place_{name}", "tools": [], "uses": dict(rule["uses"]), "nearby": []})
    for name, rule in constants.make.items():
        needs.append({"achievement": f"make_{name}", "tools": [], "uses": dict(rule["uses"]),
                      "nearby": list(rule["nearby"])})
    return needs


@dataclass
class CrafterFamily:
    """Crafter worlds (`CrafterWorldSpec`), EnvGen-style: the LLM picks biome, rarities, creatures, inventory."""

    params: list[ParamRange] = field(default_factory=list)
    target: str = CRAFTER_TARGET
    name: str = "crafter"
    template: str = "crafter_proposal.j2"
    items_key: str = "worlds"
    noun: str = "world"
    events: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.events:
            self.events = crafter_achievements()
        self._allowed: dict[str, list[Any]] = {
            "biome": list(CRAFTER_BIOMES),
            **{f: list(CRAFTER_RARITIES) for f in CRAFTER_RARITY_FIELDS},
            "peaceful": [False, True],
            "area": list(CRAFTER_AREAS),
            "length": list(CRAFTER_LENGTHS),
        }
        self.restricted = {p.name: _restrict(CrafterWorldSpec, p, tuple(self._allowed)) for p in self.params}
        self._allowed.update(self.restricted)

    @property
    def target_env(self) -> str:
        return self.target

    def task(self, request: str) -> TaskSpec:
        return TaskSpec(target_env=self.target, description=request, skills=list(self.events))

    def values(self) -> dict[str, Any]:
        return {
            **self._allowed,
            "restricted": self.restricted,
            "rarities": list(CRAFTER_RARITIES),
            "materials": list(CRAFTER_MATERIALS),
            "tools": list(CRAFTER_TOOLS),
            "achievements": list(self.events),
            "requirements": crafter_requirements(),
        }

    def schema(self, task: TaskSpec, k: int, goals: int) -> dict[str, Any]:
        inventory = {
            "type": "object",
            "properties": {
                **{m: {"enum": list(range(10))} for m in CRAFTER_MATERIALS},
                **{t: {"enum": [0, 1]} for t in CRAFTER_TOOLS},
            },
            "additionalProperties": False,
        }
        world = {
            "type": "object",
            "properties": {
                "name": {"type": "string", "maxLength": NAME_LEN},
                **{name: {"enum": values} for name, values in self._allowed.items() if name != "peaceful"},
                "peaceful": {"enum": self._allowed["peaceful"]} if len(self._allowed["peaceful"]) == 1
                else {"type": "boolean"},
                "inventory": inventory,
            },
            "required": list(CRAFTER_WORLD_FIELDS),
            "additionalProperties": False,
        }
        # keep the documented order, so the grammar asks for fields in the order the template explains them
        world["properties"] = {f: world["properties"][f] for f in CRAFTER_WORLD_FIELDS}
        return _answer_schema(self.items_key, world, k, self.events, goals)

    def context(
        self, task: TaskSpec, k: int, feedback: Feedback | None, request: str | None, goals: int
    ) -> dict[str, Any]:
        example: dict[str, Any] = {
            "rationale": examples()["crafter"]["rationale"],
            "worlds": [self._fit_example(w) for w in examples()["crafter"]["worlds"]],
        }
        example_goals = _example_goals(self.events, goals, examples()["crafter_goals"])
        if example_goals:
            example["goals"] = example_goals
        return {
            "task": task,
            "family": self.values(),
            "k": k,
            "feedback": feedback,
            "example": json.dumps(example),
            "request": request,
            "goals": _goals_context(self.events, goals, "worlds"),
        }

    def _fit_example(self, world: dict[str, Any]) -> dict[str, Any]:
        """The example must obey --param restrictions too: small models copy examples verbatim."""
        return {k: (v if k not in self._allowed or v in self._allowed[k] else self._allowed[k][0])
                for k, v in world.items()}

    def build(self, item: dict[str, Any], task: TaskSpec | None = None) -> CrafterWorldSpec:
        try:
            spec = CrafterWorldSpec(**{**item, "family": "crafter"})
        except ValidationError as exc:
            raise InvalidItem(validation_reasons(exc, self.noun)) from None
        _check_members(spec, self._allowed, self.noun)
        return spec

    def check(self, spec: Any) -> str:
        if not isinstance(spec, CrafterWorldSpec):
            return f"expected a Crafter world, got {type(spec).__name__}"
        try:
            _check_members(spec, self._allowed, self.noun)
        except InvalidItem as exc:
            return exc.reason
        return ""


# ------------------------------------------------------------------------------------------ Gymnasium


def _registered(env_id: str) -> Any:
    import gymnasium as gym

    import gymsmith.envs  # noqa: F401  (registers gymsmith's own ids)

    try:
        import minigrid  # noqa: F401  (registers MiniGrid ids)
    except ImportError:  # pragma: no cover - minigrid is a dependency
        pass
    if env_id not in gym.registry:
        close = difflib.get_close_matches(env_id, list(gym.registry), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise FamilyError(f"{env_id!r} is not a registered Gymnasium env id{hint}")
    return gym.spec(env_id)


def _constructor(spec: Any) -> Any:
    from gymnasium.envs.registration import load_env_creator

    entry = spec.entry_point
    return load_env_creator(entry) if isinstance(entry, str) else entry


def _summary(doc: str | None, limit: int = 300) -> str:
    """The first prose paragraph of an env's docstring (Gymnasium docstrings open with '## Description')."""
    for para in re.split(r"\n\s*\n", doc or ""):
        text = " ".join(para.split())
        if text and not text.startswith(("#", "|", "```", "<")):
            return text if len(text) <= limit else text[: limit - 3].rsplit(" ", 1)[0] + "..."
    return ""


def env_events(env_id: str) -> tuple[str, ...]:
    """The event vocabulary gymsmith reports for a Gymnasium id (MiniGrid events, Crafter achievements)."""
    from gymsmith.envs.mixture import is_minigrid_id

    if is_minigrid_id(env_id):
        return MINIGRID_EVENTS
    if "crafter" in env_id.lower():
        return crafter_achievements()
    return ()


@dataclass
class GymFamily:
    """Constructor kwargs of any registered Gymnasium env, within the ranges the user declared."""

    env_id: str
    params: list[ParamRange] = field(default_factory=list)
    name: str = "gym"
    template: str = "gym_proposal.j2"
    items_key: str = "configs"
    noun: str = "config"
    events: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.params:
            raise FamilyError(
                f"gym:{self.env_id} needs at least one --param (e.g. --param size=5..16) naming what the LLM may set"
            )
        spec = _registered(self.env_id)
        creator = _constructor(spec)
        try:
            signature = inspect.signature(creator)
        except (TypeError, ValueError):
            signature = None
        if signature is not None and not any(
            p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values()
        ):
            known = [n for n in signature.parameters if n not in ("self", "render_mode")]
            unknown = [p.name for p in self.params if p.name not in known]
            if unknown:
                raise FamilyError(
                    f"{self.env_id} does not take {', '.join(unknown)}; its constructor takes: "
                    f"{', '.join(known) or 'no arguments'}"
                )
        self.defaults = {
            **{n: p.default for n, p in (signature.parameters.items() if signature else ())
               if p.default is not inspect.Parameter.empty and isinstance(p.default, bool | int | float | str)},
            **{k: v for k, v in (spec.kwargs or {}).items() if isinstance(v, bool | int | float | str)},
        }
        self.description = _summary(getattr(creator, "__doc__", None))
        if not self.events:
            self.events = env_events(self.env_id)
        fields = {p.name: (p.annotation(), ...) for p in self.params}
        self.kwargs_model: type[BaseModel] = create_model(  # type: ignore[call-overload]
            "Kwargs", __config__=ConfigDict(extra="forbid"), **fields
        )
        self.item_model: type[BaseModel] = create_model(  # type: ignore[call-overload]
            "Config",
            __config__=ConfigDict(extra="forbid"),
            name=(str, Field(max_length=60)),
            kwargs=(self.kwargs_model, ...),
        )

    @property
    def target_env(self) -> str:
        return self.env_id

    def task(self, request: str) -> TaskSpec:
        return TaskSpec(target_env=self.env_id, description=request, skills=list(self.events))

    def schema(self, task: TaskSpec, k: int, goals: int) -> dict[str, Any]:
        kwargs = {
            "type": "object",
            "properties": {p.name: p.schema() for p in self.params},
            "required": [p.name for p in self.params],
            "additionalProperties": False,
        }
        config = {
            "type": "object",
            "properties": {"name": {"type": "string", "maxLength": NAME_LEN}, "kwargs": kwargs},
            "required": ["name", "kwargs"],
            "additionalProperties": False,
        }
        return _answer_schema(self.items_key, config, k, self.events, goals)

    def _example(self) -> dict[str, Any]:
        def pick(p: ParamRange, i: int) -> Any:
            values = p.values()
            if values is not None:
                return values[-1] if i else values[0]
            return p.high if i else p.low

        return {
            "rationale": examples()["gym"]["rationale"],
            "configs": [{"name": f"config-{i + 1}", "kwargs": {p.name: pick(p, i) for p in self.params}}
                        for i in range(2)],
        }

    def context(
        self, task: TaskSpec, k: int, feedback: Feedback | None, request: str | None, goals: int
    ) -> dict[str, Any]:
        example = self._example()
        if self.events == MINIGRID_EVENTS:
            known = examples()["minigrid_goals"][1:]
        elif "collect_wood" in self.events:
            known = examples()["crafter_goals"]
        else:
            text = examples()["gym"]["goal_description"]
            known = [{"name": f"goal-{i + 1}", "description": text.replace("{event}", e), "events": [e]}
                     for i, e in enumerate(self.events[:2])]
        example_goals = _example_goals(self.events, goals, known)
        if example_goals:
            example["goals"] = example_goals
        params = [
            {"name": p.name, "allowed": p.describe(),
             "default": _json_word(self.defaults[p.name]) if p.name in self.defaults else None}
            for p in self.params
        ]
        return {
            "task": task,
            "env_id": self.env_id,
            "description": self.description,
            "params": params,
            "k": k,
            "feedback": feedback,
            "example": json.dumps(example),
            "request": request,
            "goals": _goals_context(self.events, goals, "configs"),
        }

    def check(self, spec: Any) -> str:
        if not isinstance(spec, GymKwargsSpec) or spec.env_id != self.env_id:
            return f"expected kwargs for {self.env_id}, got {getattr(spec, 'env_id', type(spec).__name__)}"
        try:
            self.kwargs_model.model_validate(spec.kwargs)
        except ValidationError as exc:
            return "kwargs outside the declared ranges: " + validation_reasons(exc, "kwargs")
        return ""

    def build(self, item: dict[str, Any], task: TaskSpec | None = None) -> GymKwargsSpec:
        try:
            parsed = self.item_model.model_validate(item)
        except ValidationError as exc:
            raise InvalidItem(validation_reasons(exc, self.noun)) from None
        kwargs = parsed.kwargs.model_dump()  # type: ignore[attr-defined]
        return GymKwargsSpec(name=parsed.name, env_id=self.env_id, kwargs=kwargs)  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------- factory

FAMILY_NAMES = ("minigrid", "crafter", "gym:<EnvId>")


def make_family(name: str, params: list[str] | tuple[str, ...] = ()) -> Family:
    """``minigrid``, ``crafter`` or ``gym:<EnvId>``, with ``--param`` declarations; errors say what to type."""
    ranges = parse_params(params)
    if name == "minigrid":
        return MiniGridFamily(params=ranges)
    if name == "crafter":
        return CrafterFamily(params=ranges)
    if name.startswith("gym:") and name[4:].strip():
        return GymFamily(env_id=name[4:].strip(), params=ranges)
    raise FamilyError(f"unknown family {name!r}; choose one of {', '.join(FAMILY_NAMES)}")
