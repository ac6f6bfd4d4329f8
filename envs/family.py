"""The family: everything env-specific about one kind of environment, in one object.

The trainer, the evaluator, the verifiers, the proposer, the reward designer and every curriculum take the
family resolved from the target (`family_for`) and never name an env, an event or an action themselves. A family
provides: its spec model and the LLM's JSON schema, its prompt template and a summary of the target, the target's
description and skills, the info convention of its envs (``info["events"]``, ``info["features"]``, and
``info["success"]`` in [0, 1] on the last step of an episode), parameter ranges for the classic curricula, the
compose-reward catalogue and reference policies for the reward verifier's hack check, ``make``, solvability and
rendering. Adding a family is one module (plus its prompt template) that registers itself in `FAMILIES`.
"""

from __future__ import annotations

import functools
import itertools
import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import gymnasium as gym
import numpy as np

from gymsmith.envs.params import FamilyError, InvalidItem, ParamRange, check_members, parse_params
from gymsmith.registry import Registry
from gymsmith.schemas import ComposeTerm, Constraint, EnvSpec, Feedback, TargetEnv, TaskSpec

#: A scripted policy the reward verifier replays: (env, rng) -> action.
Policy = Callable[[gym.Env, random.Random], int]
#: How many specs `Family.nearest` yields at most (each costs the caller a verification).
NEAREST_MOST = 60


class UnsolvableLevel(RuntimeError):
    """A spec could not produce a solvable level for one seed; the message is the verifier's reason.

    Raised by a family's env at reset; the mixture env redraws the seed (a spec is a distribution, and a rare
    seed without a solvable layout must not end a long training run).
    """


@dataclass(frozen=True)
class CatalogueTerm:
    """One compose-reward term a family offers the LLM.

    What a term means in words is prompt text (``prompts/reward_terms.json.j2``, keyed by family and name); the
    code it becomes is ``prompts/reward_compose.py.j2``, which reads ``kind`` and, for ``delta`` terms, the
    feature ``feature.format(target=...)``.
    """

    name: str
    kind: Literal["distance", "event", "delta", "time", "env"]
    targets: tuple[str, ...] = ()
    default_weight: float = 1.0
    #: ``distance``/``delta`` terms: the feature read, with ``{target}`` filled from the chosen target.
    feature: str = ""
    #: ``delta`` terms: pay only increases (a gain), so losing and regaining cannot be farmed.
    gains_only: bool = False
    #: ``event`` terms without targets: the one event they watch (e.g. a hazard).
    event: str = ""
    #: Paid as a cost: the weight is subtracted (time, hazards), on every occurrence.
    cost: bool = False


@dataclass(frozen=True)
class TargetInfo:
    """What a family reads off a target env: the user-facing task and the facts the prompt summarises."""

    env_id: str
    #: The task in words (MiniGrid: the env's own mission text).
    description: str
    #: Events measured per cycle, in the order the task needs them.
    skills: tuple[str, ...]
    #: Facts rendered by the family's target template (never shown as a fixed sentence).
    summary: dict[str, Any] = field(default_factory=dict)
    #: What about this target the family's spec cannot express (empty: levels like it can be generated).
    missing: tuple[str, ...] = ()


class Family(ABC):
    """One kind of environment, bound to a target env id (and the user's ``--param`` ranges)."""

    #: Registry name and the ``family`` tag of the specs it produces.
    name: ClassVar[str]
    spec_model: ClassVar[type[EnvSpec]]
    #: Prompt template that explains this family's specs to the LLM.
    template: ClassVar[str]
    #: The key of the list of specs in an LLM answer, and what one spec is called in messages.
    items_key: ClassVar[str] = "levels"
    noun: ClassVar[str] = "level"
    #: The headline number of an evaluation (``success``: success rate; Crafter: ``crafter_score``).
    metric: ClassVar[str] = "success"
    #: What one measured skill (event) is called in reports (Crafter: an achievement).
    skill_noun: ClassVar[str] = "skill"
    #: The target `make_family` binds to when none is named (``gymsmith generate --family NAME``).
    default_target: ClassVar[str] = ""
    #: Observations are category ids with this many categories per channel (the policy one-hots them);
    #: None: pixels or plain numbers.
    obs_categories: ClassVar[tuple[int, ...] | None] = None

    def __init__(self, target_env: str, params: Sequence[ParamRange] = ()) -> None:
        self.target_env = target_env
        self.params = list(params)
        self._info: TargetInfo | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        # families travel to env worker processes; rebuilding from (target, params) keeps them cheap to pickle
        return (type(self), (self.target_env, self.params))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.target_env!r})"

    @classmethod
    @abstractmethod
    def handles(cls, env_id: str) -> bool:
        """Whether this family builds (and understands) the target ``env_id``."""

    # ------------------------------------------------------------------------------------------ target

    def describe_target(self) -> TargetInfo:
        if self._info is None:
            self._info = self._describe()
        return self._info

    @abstractmethod
    def _describe(self) -> TargetInfo: ...

    def task(self, task: TaskSpec | None = None) -> TaskSpec:
        """The task with what the user left open derived from the target; what the user gave always wins."""
        info = self.describe_target()
        task = task or TaskSpec(target_env=self.target_env)
        return task.model_copy(
            update={
                "target_env": self.target_env,
                "description": task.description if task.description is not None else info.description,
                "skills": list(task.skills) if task.skills is not None else list(info.skills),
            }
        )

    def target_spec(self) -> EnvSpec:
        """The target written in this family's spec language (what `gymsmith show --beside` renders beside it);
        refuses, naming why, where the language cannot express the target."""
        raise FamilyError(f"the {self.name} family has no spec of {self.target_env} in its language")

    def require_expressible(self, purpose: str) -> None:
        """Refuse, naming what is missing, to generate levels for a target the spec cannot express.

        A curriculum of look-alike levels for the wrong structure would train the wrong thing; the user should
        hear that instead of getting levels of another task.
        """
        missing = self.describe_target().missing
        if missing:
            raise FamilyError(
                f"{purpose} needs {self.name} {self.noun}s like {self.target_env}, but the {self.name} spec cannot "
                f"express: {'; '.join(missing)}. Use --curriculum target or plr (which train on the target "
                "itself) until the family can."
            )

    # -------------------------------------------------------------------------------------------- envs

    @abstractmethod
    def make_target(self, render_mode: str | None = None) -> gym.Env:
        """The unmodified target, wrapped in the family's info convention."""

    @classmethod
    @abstractmethod
    def make_spec(cls, spec: EnvSpec, render_mode: str | None = None) -> gym.Env:
        """One env that samples levels from ``spec`` (a fresh one per ``reset(seed=...)``)."""

    @classmethod
    def wrap(cls, env: gym.Env) -> gym.Env:
        """Put a plain env of this kind (e.g. a Gymnasium id with kwargs) into the family's info convention;
        families whose env classes already follow it return the env unchanged."""
        return env

    @classmethod
    def solvable(cls, spec: EnvSpec, seeds: Sequence[int]) -> tuple[bool, str]:
        """Whether every seed gives a solvable level, else (False, why); families without a notion say yes."""
        return True, ""

    def solution_steps(self, spec: EnvSpec | None, seeds: Sequence[int]) -> float | None:
        """Mean steps the family's solver needs on a level (``None``: on the target), a failed episode counted at
        the level's step limit; None when the family has no solver.

        It is how a curriculum tells whether a proposed level is a step towards the target for an agent that
        cannot solve the target yet: a small model asked for easy levels still writes ones bigger than the
        target, and only a measurement on the built level shows it."""
        return None

    def solution_events(self, spec: EnvSpec | None, seeds: Sequence[int]) -> set[str] | None:
        """The events (``info["events"]``) of the family's solver's solved episodes on a level (``None``: on the
        target); None when the family has no solver. What the solver does on the target and on none of a
        curriculum's levels is a skill those levels never teach (`curricula.pace.missing_skills`). Pacing asks
        again for the same levels and the target, after `solution_steps`: a family whose solver is slow keeps its
        runs."""
        return None

    @classmethod
    def render(cls, spec: EnvSpec, seed: int = 0) -> dict[str, np.ndarray]:
        """Named RGB views of one sampled level (for `gymsmith show`, `generate` and reports)."""
        env = cls.make_spec(spec, render_mode="rgb_array")
        try:
            env.reset(seed=seed)
            return {"frame": np.asarray(env.render())}
        finally:
            env.close()

    def render_target(self, seed: int = 0) -> dict[str, np.ndarray]:
        """Named RGB views of the target itself at ``seed`` (reports show it beside generated levels)."""
        env = self.make_target(render_mode="rgb_array")
        try:
            env.reset(seed=seed)
            return {"frame": self.frame(env)}
        finally:
            env.close()

    @classmethod
    def frame(cls, env: gym.Env) -> np.ndarray:
        """One rollout frame for GIFs: what shows the agent's moves best (default: the env's own render)."""
        frame = env.render()
        if frame is None:
            raise RuntimeError(f"{type(env.unwrapped).__name__} renders no rgb_array frames")
        return np.asarray(frame)

    @classmethod
    def structure(cls, spec: EnvSpec) -> str:
        """Identity of a spec up to its name: two specs with the same structure are the same distribution."""
        return spec.model_copy(update={"name": ""}).digest()

    def allowed(self) -> dict[str, list[Any]]:
        """Field → allowed values after ``--param`` narrowing (the grammar's enums, re-checked by `check`)."""
        return {}

    def check(self, spec: EnvSpec) -> str:
        """Why a spec is outside what this family (and the user's ranges) allows; '' when inside."""
        if not isinstance(spec, self.spec_model):
            return f"expected a {self.name} {self.noun}, got {type(spec).__name__}"
        try:
            check_members(spec, self.allowed(), self.noun)
        except InvalidItem as exc:
            return exc.reason
        return ""

    # -------------------------------------------------------------------------------------- vocabulary

    @property
    def vocabulary(self) -> str:
        """The family whose words (events, features, reward terms, worked examples) this family's envs speak."""
        return self.name

    @property
    def events(self) -> tuple[str, ...]:
        """Every event this family's envs may report in ``info["events"]`` (goals and rewards speak it)."""
        return ()

    @property
    def features(self) -> tuple[str, ...]:
        """Keys of ``info["features"]`` (what reward programs read as obs/next_obs)."""
        return ()

    def score(self, events: Sequence[set[str]], successes: Sequence[float], returns: Sequence[float]) -> float:
        """The headline metric over evaluation episodes; by default the mean episode success."""
        return float(np.mean(successes)) if len(successes) else 0.0

    # ------------------------------------------------------------------------------------- constraints

    def quantities(self) -> dict[str, list[str]]:
        """What `gymsmith generate` can check on a built level: quantity -> the comparisons the LLM may state
        (``"0"``, ``">=2"``, a category). Empty: the family measures nothing and requests are not checked."""
        return {}

    def narrow(self, constraints: Sequence[Constraint]) -> Family:
        """This family with the values that cannot meet a request's constraints taken out of the LLM's grammar
        (like ``--param`` narrowing); by default nothing is narrowed."""
        return self

    def conflict(self, constraints: Sequence[Constraint]) -> str | None:
        """Why no level of the family can meet ``constraints`` together, as far as its grammar tells (each may
        be met alone), else None; by default the family cannot tell, and the measurement decides. A small model
        reads "a room crossed by two strips of lava" as two rooms and two strips, which no level holds: every
        level would be rejected for a constraint the user never stated."""
        return None

    @classmethod
    def measure(cls, spec: EnvSpec, seed: int) -> dict[str, Any]:
        """The quantities of `quantities` on the level ``spec`` generates at ``seed`` (never read off the spec)."""
        raise FamilyError(f"the {cls.name} family measures nothing")

    # ------------------------------------------------------------------------------- classic curricula

    def random_spec(self, rng: np.random.Generator, name: str) -> EnvSpec:
        """A uniform draw over the family's ranges (domain randomisation)."""
        raise FamilyError(f"the {self.name} family of {self.target_env} has no parameter ranges to randomise")

    def edit_fields(self, spec: EnvSpec) -> dict[str, list[Any]]:
        """Field -> the values an edit of ``spec`` may move it between: by default every field the user's ranges
        give several values; a family with a language says which knobs a level of that shape has."""
        allowed = self.allowed()
        return {f: allowed[f] for f in sorted(allowed) if len(allowed[f]) > 1 and f in type(spec).model_fields}

    def mutate(self, spec: EnvSpec, rng: np.random.Generator, name: str) -> EnvSpec | None:
        """A small edit of one parameter (ACCEL): one field of `edit_fields` moves to a neighbouring value.

        Edits stay inside the family's language and ranges (the spec model re-validates them, `check` checks
        the ranges); None when no edit of this spec exists. Solvability is the verifier's to check, as for any
        spec.
        """
        fields = self.edit_fields(spec)
        if not fields:
            return None
        names = list(fields)
        for _ in range(max(8, 4 * len(names))):
            field = names[int(rng.integers(len(names)))]
            values = fields[field]
            current = getattr(spec, field)
            i = values.index(current) if current in values else int(rng.integers(len(values)))
            j = i + (1 if rng.random() < 0.5 else -1)
            if not 0 <= j < len(values):
                j = i - (j - i)  # bounce back from the end of the range
            if j == i or not 0 <= j < len(values):
                continue
            try:
                child = type(spec).model_validate({**spec.model_dump(), field: values[j], "name": name})
            except ValueError:
                continue
            if self.check(child) == "":
                return child
        return None

    def nearest(self, spec: EnvSpec, name: str, most: int = NEAREST_MOST) -> Iterator[EnvSpec]:
        """Valid specs a few knob steps from ``spec`` (`edit_fields`): one knob moved, the fewest steps first,
        then two knobs: the deterministic counterpart of `mutate`, at most ``most`` of them.

        Why: what a small model writes wrong in a level is mostly a rule between two numbers (more strips than
        its room fits, more objects than free cells), and the level it meant is one or two steps of a knob away.
        ``spec`` may be a `draft` that breaks the model's cross-field rules; what is yielded does not (each is
        re-validated and inside the family's ranges), and its solvability is the verifier's to check.
        """
        fields = self.edit_fields(spec)
        here = {f: getattr(spec, f) for f in type(spec).model_fields}
        moves: list[tuple[int, str, Any]] = []  # (steps, field, value)
        for f, values in fields.items():
            i = values.index(here[f]) if here[f] in values else None
            for j, value in enumerate(values):
                if value != here[f]:
                    moves.append((abs(j - i) if i is not None else 1, f, value))
        pairs = [((2, a[0] + b[0]), (a, b)) for a, b in itertools.combinations(moves, 2) if a[1] != b[1]]
        edits = sorted([((1, m[0]), (m,)) for m in moves] + pairs, key=lambda e: e[0])
        seen: set[str] = set()
        for _, chosen in edits:
            if most <= 0:
                return
            try:
                child = type(spec).model_validate({**here, **{f: v for _, f, v in chosen}, "name": name})
            except ValueError:
                continue
            digest = self.structure(child)
            if digest not in seen and self.check(child) == "":
                seen.add(digest)
                most -= 1
                yield child

    def draft(self, item: dict[str, Any]) -> EnvSpec | None:
        """An answer item as a spec *without* validation, for `nearest` to start from when the item breaks a
        rule between its fields; None when the item is not shaped like a spec at all. By default an item's keys
        are its spec's fields."""
        model = self.spec_model
        if not isinstance(item, dict) or not set(item) <= set(model.model_fields) - {"family"}:
            return None
        return model.model_construct(**{**item, "family": self.name})

    def plr_sources(self) -> list[EnvSpec]:
        """The fixed level generators PLR draws (generator, seed) levels from; the target is added by PLR."""
        return []

    def easier(self, spec: EnvSpec) -> list[EnvSpec]:
        """Easier versions of ``spec`` of the same kind, easiest first (none by default): what a curriculum trains
        on when a proposed level is too far ahead of the agent, keeping what the LLM chose the level to be."""
        return []

    def smaller(self, spec: EnvSpec) -> list[EnvSpec]:
        """Versions of ``spec`` with the same things in less space (none by default): what pacing fits a level to
        when it must keep the skills the level teaches (`PaceSettings.cover_skills`)."""
        return []

    def ladder(self) -> list[EnvSpec]:
        """Level buckets from easy to the target's difficulty (learning progress)."""
        raise FamilyError(f"the {self.name} family of {self.target_env} has no difficulty ladder")

    # --------------------------------------------------------------------------------------------- LLM

    @abstractmethod
    def schema(self, task: TaskSpec, k: int, goals: int) -> dict[str, Any]:
        """The JSON schema an answer with ``k`` specs (and up to ``goals`` goals) is decoded under."""

    @abstractmethod
    def context(
        self, task: TaskSpec, k: int, feedback: Feedback | None, request: str | None, goals: int
    ) -> dict[str, Any]:
        """Everything the family's template renders."""

    @abstractmethod
    def build(self, item: dict[str, Any]) -> EnvSpec:
        """One answer item as a validated spec; raises `InvalidItem` with a reason the LLM can act on."""

    # ----------------------------------------------------------------------------------------- rewards

    def catalogue(self) -> tuple[CatalogueTerm, ...]:
        """The compose-reward terms the LLM may pick for this family."""
        return (CatalogueTerm("time_cost", "time", default_weight=0.01, cost=True),
                CatalogueTerm("env_reward", "env"))

    def default_reward(self) -> list[ComposeTerm]:
        """A hand-written dense reward for the target, as compose terms (what designed rewards are compared
        against); empty when the family has none."""
        return []

    #: The action that changes nothing (the hack check's do-nothing episodes); None: the family has none.
    noop_action: ClassVar[int | None] = None

    def progress_policy(self) -> Policy | None:
        """A scripted policy that makes progress on the target (the hack check's reference), if one exists."""
        return None

    def made_progress(self, events: set[str], success: float) -> bool:
        """Whether a reference episode of `progress_policy` really progressed (else it is not a reference)."""
        return success > 0


# ------------------------------------------------------------------------------------------- registry

FAMILIES: Registry[type[Family]] = Registry("family")


def family_class(name: str) -> type[Family]:
    """The family class registered under ``name`` (also the ``family`` tag of its specs)."""
    return FAMILIES.get(name)


def accepted_targets() -> str:
    return "; ".join(f"{e.name}: {e.help}" for e in FAMILIES)


@functools.lru_cache(maxsize=64)
def _family_for(env_id: str, params: tuple[ParamRange, ...]) -> Family:
    # dedicated families first; a fallback family (``fallback=True``, the gym family) only when none handles it
    for entry in sorted(FAMILIES, key=lambda e: bool(e.facts.get("fallback"))):
        if entry.value.handles(env_id):
            return entry.value(env_id, params)
    raise FamilyError(f"no family handles the target {env_id!r}. Accepted targets: {accepted_targets()}")


def family_for(env_id: str, params: Sequence[ParamRange] | Sequence[str] = ()) -> Family:
    """The family that handles target ``env_id`` (a dedicated one before the fallback), bound to it."""
    ranges = tuple(p if isinstance(p, ParamRange) else parse_params([p])[0] for p in params)
    return _family_for(env_id, ranges)


def make_family(name: str, params: Sequence[str] = (), target: str | None = None) -> Family:
    """``gymsmith generate --family NAME``: a family by name (``gym:<EnvId>`` binds the gym family to an id)."""
    ranges = tuple(parse_params(list(params)))
    if name.startswith("gym:") and name[4:].strip():
        if not ranges:
            raise FamilyError(f"{name} needs at least one --param (e.g. --param size=5..16) naming what the LLM "
                              "may set")
        return FAMILIES.get("gym")(name[4:].strip(), ranges)
    if name not in FAMILIES or name == "gym":
        names = [n for n in FAMILIES.names() if n != "gym"]
        raise FamilyError(f"unknown family {name!r}; choose one of {', '.join(names)}, gym:<EnvId>")
    cls = FAMILIES.get(name)
    return cls(target or cls.default_target, ranges)


def family_of(source: EnvSpec) -> type[Family] | Family:
    """The family that builds ``source``: the target's for a `TargetEnv`, else the spec's own."""
    if isinstance(source, TargetEnv):
        return family_for(source.env_id)
    return family_class(source.family)


def make_env(source: EnvSpec, render_mode: str | None = None) -> gym.Env:
    """The env for one mixture source, in its family's info convention."""
    if isinstance(source, TargetEnv):
        return family_for(source.env_id).make_target(render_mode)
    return family_class(source.family).make_spec(source, render_mode)
