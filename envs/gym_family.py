"""The ``gym`` family: any registered Gymnasium env, its constructor kwargs within ranges the user declared.

It is also the fallback target family: a run on an id no dedicated family handles trains and evaluates on the
env as it is (``--curriculum target``, PLR over its seeds, reward design); the curricula that generate levels
need ``--param`` ranges naming what may vary.
"""

from __future__ import annotations

import difflib
import inspect
import re
from collections.abc import Sequence
from typing import Any, Literal

import gymnasium as gym
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from gymsmith.envs.family import FAMILIES, Family, TargetInfo, family_for
from gymsmith.envs.params import (
    NAME_LEN,
    FamilyError,
    InvalidItem,
    ParamRange,
    answer_schema,
    goals_context,
    json_word,
    validation_reasons,
)
from gymsmith.schemas import EnvSpec, Feedback, TaskSpec, register_spec

#: Flat observations up to this many numbers become ``info["features"]`` (``obs_0``, ``obs_1``, ...).
MAX_FEATURES = 64


@register_spec
class GymKwargsSpec(EnvSpec):
    """Any registered Gymnasium env plus constructor kwargs, for envs without a dedicated family."""

    family: Literal["gym"] = "gym"
    name: str = Field(default="gym", max_length=60)
    env_id: str
    kwargs: dict[str, int | float | bool | str] = Field(default_factory=dict)


class GymInfo(gym.Wrapper):
    """gymsmith's info convention for an arbitrary env: no events, flat observations as features, and
    ``info["success"]`` at the end of an episode: the env's own ``is_success`` when it reports one (SB3's
    convention), else 0. What success means differs too much between envs to guess it (CartPole terminates
    with a positive reward when it fails), so the family's headline metric is the mean episode return."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        space = env.observation_space
        self._flat = isinstance(space, gym.spaces.Box) and 0 < int(np.prod(space.shape)) <= MAX_FEATURES

    def _features(self, obs: Any) -> dict[str, float]:
        if not self._flat:
            return {}
        return {f"obs_{i}": float(v) for i, v in enumerate(np.asarray(obs, dtype=float).ravel())}

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        info.setdefault("events", [])
        info["features"] = self._features(obs)
        return obs, info

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        info.setdefault("events", [])
        info["features"] = self._features(obs)
        if terminated or truncated:
            info["success"] = float(info.get("is_success", 0.0))
        return obs, reward, terminated, truncated, info


def registered(env_id: str) -> Any:
    """The Gymnasium EnvSpec of ``env_id``, or a `FamilyError` with close matches."""
    import gymsmith.envs  # noqa: F401  (registers gymsmith's own ids and the MiniGrid ones)

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


def _native(env_id: str) -> Family | None:
    """The dedicated family of ``env_id`` (MiniGrid ids have one), whose info convention and events apply."""
    for entry in FAMILIES:
        if not entry.facts.get("fallback") and entry.value.handles(env_id):
            return family_for(env_id)
    return None


class GymFamily(Family):
    """Constructor kwargs of any registered Gymnasium env, within the ranges the user declared."""

    name = "gym"
    spec_model = GymKwargsSpec
    template = "gym_proposal.j2"
    items_key = "configs"
    noun = "config"

    def __init__(self, target_env: str, params: Any = ()) -> None:
        super().__init__(target_env, params)
        spec = registered(target_env)
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
                    f"{target_env} does not take {', '.join(unknown)}; its constructor takes: "
                    f"{', '.join(known) or 'no arguments'}"
                )
        self.defaults = {
            **{n: p.default for n, p in (signature.parameters.items() if signature else ())
               if p.default is not inspect.Parameter.empty and isinstance(p.default, bool | int | float | str)},
            **{k: v for k, v in (spec.kwargs or {}).items() if isinstance(v, bool | int | float | str)},
        }
        self.description = _summary(getattr(creator, "__doc__", None))
        self.native = _native(target_env)
        fields = {p.name: (p.annotation(), ...) for p in self.params}
        self.kwargs_model: type[BaseModel] = create_model(  # type: ignore[call-overload]
            "Kwargs", __config__=ConfigDict(extra="forbid"), **fields
        )

    @classmethod
    def handles(cls, env_id: str) -> bool:
        try:
            registered(env_id)
        except FamilyError:
            return False
        return True

    def _require_params(self, purpose: str) -> None:
        if not self.params:
            raise FamilyError(f"{purpose} on {self.target_env} needs --param ranges naming what may vary "
                              "(e.g. --param size=5..16)")

    def _describe(self) -> TargetInfo:
        if self.native is not None:
            info = self.native.describe_target()
            return TargetInfo(self.target_env, info.description, info.skills, info.summary)
        return TargetInfo(self.target_env, self.description, (), {"env_id": self.target_env})

    # -- envs

    @staticmethod
    def _wrap(env_id: str, env: gym.Env) -> gym.Env:
        native = _native(env_id)
        return native.wrap(env) if native is not None else GymInfo(env)

    def make_target(self, render_mode: str | None = None) -> gym.Env:
        return self._wrap(self.target_env, gym.make(self.target_env, render_mode=render_mode))

    @classmethod
    def make_spec(cls, spec: EnvSpec, render_mode: str | None = None) -> gym.Env:
        assert isinstance(spec, GymKwargsSpec)
        return cls._wrap(spec.env_id, gym.make(spec.env_id, render_mode=render_mode, **spec.kwargs))

    @classmethod
    def render(cls, spec: EnvSpec, seed: int = 0) -> dict[str, np.ndarray]:
        assert isinstance(spec, GymKwargsSpec)
        env = cls.make_spec(spec, render_mode="rgb_array")
        native = _native(spec.env_id)
        try:
            env.reset(seed=seed)
            return {"frame": np.asarray(native.frame(env) if native is not None else env.render())}
        finally:
            env.close()

    def check(self, spec: EnvSpec) -> str:
        if not isinstance(spec, GymKwargsSpec) or spec.env_id != self.target_env:
            return f"expected kwargs for {self.target_env}, got {getattr(spec, 'env_id', type(spec).__name__)}"
        try:
            self.kwargs_model.model_validate(spec.kwargs)
        except ValidationError as exc:
            return "kwargs outside the declared ranges: " + validation_reasons(exc, "kwargs")
        return ""

    # -- vocabulary (the native family's, when the id has one)

    @property
    def metric(self) -> str:  # type: ignore[override]
        return self.native.metric if self.native is not None else "return"

    def score(self, events: Sequence[set[str]], successes: Sequence[float], returns: Sequence[float]) -> float:
        if self.native is not None:
            return self.native.score(events, successes, returns)
        return float(np.mean(returns)) if len(returns) else 0.0

    @property
    def vocabulary(self) -> str:
        return self.native.name if self.native is not None else self.name

    @property
    def obs_categories(self) -> tuple[int, ...] | None:  # type: ignore[override]
        return self.native.obs_categories if self.native is not None else None

    @property
    def events(self) -> tuple[str, ...]:
        return self.native.events if self.native is not None else ()

    @property
    def features(self) -> tuple[str, ...]:
        return self.native.features if self.native is not None else ()

    # -- ranges

    def random_spec(self, rng: np.random.Generator, name: str) -> EnvSpec:
        self._require_params("domain randomisation")
        return GymKwargsSpec(name=name, env_id=self.target_env, kwargs={p.name: _draw(p, rng) for p in self.params})

    def mutate(self, spec: EnvSpec, rng: np.random.Generator, name: str) -> EnvSpec | None:
        """One declared kwarg moves a step: to a neighbouring listed value, or by a tenth of its range."""
        if not self.params or not isinstance(spec, GymKwargsSpec):
            return None
        p = self.params[int(rng.integers(len(self.params)))]
        values = p.values()
        current = spec.kwargs.get(p.name)
        if values is not None:
            i = values.index(current) if current in values else 0
            j = min(len(values) - 1, max(0, i + (1 if rng.random() < 0.5 else -1)))
            if j == i:
                j = i - 1 if i > 0 else i + 1
            if not 0 <= j < len(values) or j == i:
                return None
            new = values[j]
        else:
            step = (p.high - p.low) / 10 * (1 if rng.random() < 0.5 else -1)
            new = float(min(p.high, max(p.low, float(current if current is not None else p.low) + step)))
            new = int(round(new)) if p.kind == "int" else new
        return GymKwargsSpec(name=name, env_id=spec.env_id, kwargs={**spec.kwargs, p.name: new})

    def plr_sources(self) -> list[EnvSpec]:
        if not self.params:
            return []
        rng = np.random.default_rng(0x67796D)
        return [self.random_spec(rng, f"plr-{i}") for i in range(16)]

    def ladder(self) -> list[EnvSpec]:
        """The declared ranges from their low ends to their high ends, in four steps."""
        self._require_params("learning progress")
        return [GymKwargsSpec(name=f"step-{i}", env_id=self.target_env,
                              kwargs={p.name: _at(p, i / 3) for p in self.params}) for i in range(4)]

    # -- LLM

    def schema(self, task: TaskSpec, k: int, goals: int) -> dict[str, Any]:
        self._require_params("writing configs with an LLM")
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
        return answer_schema(self.items_key, config, k, self.events, goals)

    def context(
        self, task: TaskSpec, k: int, feedback: Feedback | None, request: str | None, goals: int
    ) -> dict[str, Any]:
        params = [
            {"name": p.name, "allowed": p.describe(),
             "default": json_word(self.defaults[p.name]) if p.name in self.defaults else None}
            for p in self.params
        ]
        return {
            "task": task,
            "target": self.describe_target().summary,
            "env_id": self.target_env,
            "description": self.description,
            "params": params,
            "k": k,
            "feedback": feedback,
            "request": request,
            "goals": goals_context(self.events, goals, "configs"),
        }

    def build(self, item: dict[str, Any]) -> EnvSpec:
        item_model: type[BaseModel] = create_model(  # type: ignore[call-overload]
            "Config", __config__=ConfigDict(extra="forbid"), name=(str, Field(max_length=60)),
            kwargs=(self.kwargs_model, ...),
        )
        try:
            parsed = item_model.model_validate(item)
        except ValidationError as exc:
            raise InvalidItem(validation_reasons(exc, self.noun)) from None
        kwargs = parsed.kwargs.model_dump()  # type: ignore[attr-defined]
        return GymKwargsSpec(name=parsed.name, env_id=self.target_env, kwargs=kwargs)  # type: ignore[attr-defined]

    # -- rewards

    @property
    def noop_action(self) -> int | None:  # type: ignore[override]
        return self.native.noop_action if self.native is not None else None

    def catalogue(self) -> Any:
        return self.native.catalogue() if self.native is not None else super().catalogue()

    def progress_policy(self) -> Any:
        return self.native.progress_policy() if self.native is not None else None


def _at(p: ParamRange, fraction: float) -> Any:
    """The value a fraction of the way through a declared range (for choices: by index)."""
    values = p.values()
    if values is not None:
        return values[min(len(values) - 1, int(round(fraction * (len(values) - 1))))]
    value = p.low + fraction * (p.high - p.low)
    return int(round(value)) if p.kind == "int" else float(value)


def _draw(p: ParamRange, rng: np.random.Generator) -> Any:
    values = p.values()
    if values is not None:
        value = values[int(rng.integers(len(values)))]
        return value.item() if isinstance(value, np.generic) else value
    if p.kind == "int":
        return int(rng.integers(int(p.low), int(p.high) + 1))
    return float(rng.uniform(p.low, p.high))


FAMILIES.register(GymFamily.name, GymFamily, help="any other registered Gymnasium id (gym:<EnvId> in generate)",
                  fallback=True)
