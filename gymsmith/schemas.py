"""The contracts between gymsmith's rooms.

Only these pydantic models cross folder boundaries, so that each room can be replaced or tested alone and
every artefact of a run (prompt, proposal, verdict, training) can be stored as JSON and replayed.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SerializeAsAny, model_validator

#: The target a run trains for when none is named (any registered id that a family handles works).
DEFAULT_TARGET = "MiniGrid-DoorKey-8x8-v0"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def digest(self) -> str:
        """Stable short hash, so identical specs are recognised across cycles and runs."""
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:12]


# --------------------------------------------------------------------------------------------- tasks


class TaskSpec(_Model):
    """What the user wants an agent to learn; everything else in a run is derived from it.

    ``description`` and ``skills`` left as None are derived from the target by its family
    (`Family.task`): the env's own mission text and the events its structure makes measurable. A value the
    user gave always wins.
    """

    target_env: str = DEFAULT_TARGET
    description: str | None = None
    skills: list[str] | None = None


# ---------------------------------------------------------------------------------------- env specs


class EnvSpec(_Model):
    """Base of every family's spec: a *distribution* of environments, sampled by seed.

    Each family (``envs/``) defines its own subclass with a literal ``family`` tag and registers it with
    `register_spec`; contracts that carry specs (`MixtureEntry`, `Proposal`) dispatch on the tag through that
    registry, so adding a family never edits this module.
    """

    family: str
    name: str = Field(default="level", max_length=60)

    def brief(self) -> dict[str, Any]:
        """What prompts show of a spec (feedback, notes): its fields without the family tag and the budget."""
        return self.model_dump(mode="json", exclude={"family", "max_steps"})


_SPEC_MODELS: dict[str, type[EnvSpec]] = {}


def register_spec(model: type[EnvSpec]) -> type[EnvSpec]:
    """Make ``model`` parseable wherever a spec is stored (idempotent; usable as a class decorator)."""
    tag = model.model_fields["family"].default
    if not isinstance(tag, str) or not tag:
        raise TypeError(f"{model.__name__} needs a literal default for its `family` field")
    known = _SPEC_MODELS.get(tag)
    if known is not None and known.__qualname__ != model.__qualname__:
        raise ValueError(f"family tag {tag!r} is taken by {known.__name__}")
    _SPEC_MODELS[tag] = model
    return model


def spec_models() -> dict[str, type[EnvSpec]]:
    """The registered spec models by family tag (what stored mixtures and proposals may contain)."""
    return dict(_SPEC_MODELS)


def _dispatch_spec(value: Any) -> Any:
    if isinstance(value, EnvSpec):
        return value
    if not isinstance(value, dict):
        raise ValueError(f"a spec must be an object with a 'family' tag, not {type(value).__name__}")
    tag = value.get("family")
    model = _SPEC_MODELS.get(tag) if isinstance(tag, str) else None
    if model is None:
        known = ", ".join(sorted(_SPEC_MODELS)) or "none registered (import gymsmith.envs)"
        raise ValueError(f"unknown family {tag!r}; known: {known}")
    return model.model_validate(value)


#: Any registered family's spec, parsed by its ``family`` tag and serialised with all of its fields.
AnySpec = Annotated[SerializeAsAny[EnvSpec], BeforeValidator(_dispatch_spec)]


@register_spec
class TargetEnv(EnvSpec):
    """The unmodified target env as a mixture member."""

    family: Literal["target"] = "target"
    name: str = Field(default="target", max_length=60)
    env_id: str = DEFAULT_TARGET


class MixtureEntry(_Model):
    source: AnySpec
    weight: float = Field(gt=0)
    #: Fixed level seeds (PLR replays exact levels); empty means a fresh seed per episode.
    seeds: list[int] = Field(default_factory=list)


class EnvMixture(_Model):
    """What the trainer trains on next: weighted sources, sampled at every episode reset."""

    entries: list[MixtureEntry] = Field(min_length=1)
    #: A verified reward program replacing the env reward on every source (reward-evolving curricula). None keeps
    #: the trainer's current program (`Trainer.reward_for`): a mixture never silently drops a reward.
    reward: RewardProgram | None = None

    def probabilities(self) -> list[float]:
        total = sum(e.weight for e in self.entries)
        return [e.weight / total for e in self.entries]


# ------------------------------------------------------------------------------------- goals & rewards


class Goal(_Model):
    """A named skill whose success is 'all these events happened in the episode'."""

    name: str = Field(max_length=60)
    description: str = ""
    events: list[str] = Field(min_length=1)


class ComposeTerm(_Model):
    """One typed reward term picked from the family catalogue, with its weight."""

    term: str
    weight: float = Field(ge=-10, le=10)
    target: str | None = None


class RewardProgram(_Model):
    """Reward source with the contract ``reward(obs, action, next_obs, info, state) -> (float, dict)``."""

    name: str = "reward"
    mode: Literal["compose", "code"]
    source: str
    components: list[str] = Field(default_factory=list)
    terms: list[ComposeTerm] = Field(default_factory=list)
    provenance: dict[str, Any] = Field(default_factory=dict)


class Constraint(_Model):
    """One checkable constraint of a `gymsmith generate` request over a family's measurable quantities
    (``Family.quantities``): ``quantity op value``, e.g. ``lava_strips >= 2`` or ``objective == pickup``."""

    quantity: str
    op: Literal["==", ">=", "<="] = "=="
    value: float | str
    #: The words of the request that state it (the LLM must quote them: a constraint nobody asked for is dropped).
    words: str = ""

    @classmethod
    def parse(cls, quantity: str, text: str, words: str = "") -> Constraint:
        """From the comparison string the LLM chose: ``"0"``, ``">=2"``, ``"<=1"`` or a category."""
        text = text.strip()
        for op in (">=", "<="):
            if text.startswith(op):
                return cls(quantity=quantity, op=op, value=float(text[2:]), words=words)
        try:
            return cls(quantity=quantity, value=float(text.lstrip("=")), words=words)
        except ValueError:
            return cls(quantity=quantity, value=text, words=words)

    def holds(self, measured: Any) -> bool:
        """Whether a measured value meets it (a category must match; numbers compare)."""
        if measured is None:
            return False
        if isinstance(self.value, str) or isinstance(measured, str):
            # a category compares as a word; a number among categories (Crafter's "area" 32) as its shortest word,
            # so the parsed 32.0 matches the measured "32"
            return _word(measured) == _word(self.value)
        if self.op == ">=":
            return measured >= self.value
        if self.op == "<=":
            return measured <= self.value
        return measured == self.value

    def text(self) -> str:
        return f"{self.quantity} {'=' if self.op == '==' else self.op} {_word(self.value)}"


def _word(value: Any) -> str:
    return value if isinstance(value, str) else f"{value:g}"


# ----------------------------------------------------------------------------------- LLM and proposals

#: How an answer's JSON was obtained, strongest first: the server enforced the JSON schema (OpenAI structured
#: output); a JSON-object mode with the schema attached (llama.cpp turns it into a grammar); or free text,
#: validated afterwards and repaired once.
StructuredMode = Literal["json_schema", "json_object", "unconstrained"]


class LLMCall(_Model):
    """One chat completion: enough to audit cost and to re-find the exact response in a cassette."""

    backend: str
    model: str
    template: str
    prompt_hash: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    cached: bool = False
    response: str = ""
    #: None in records written before the mode was recorded (and for answers whose mode is not known).
    structured: StructuredMode | None = None


class RejectedSpec(_Model):
    spec: dict[str, Any]
    reason: str


class Proposal(_Model):
    task: TaskSpec
    env_configs: list[AnySpec] = Field(default_factory=list)
    goals: list[Goal] = Field(default_factory=list)
    reward_programs: list[RewardProgram] = Field(default_factory=list)
    rationale: str = ""
    llm_calls: list[LLMCall] = Field(default_factory=list)
    repaired: bool = False
    #: Items the LLM wrote that failed validation even after one repair, with the reason.
    rejected: list[RejectedSpec] = Field(default_factory=list)
    #: Problems with the answer as a whole (not JSON, wrong count), after the repair round.
    errors: list[str] = Field(default_factory=list)


class Rejection(_Model):
    layer: str
    reason: str


class Verdict(_Model):
    subject: str
    accepted: bool
    rejections: list[Rejection] = Field(default_factory=list)
    cost_s: float = 0.0
    details: dict[str, Any] = Field(default_factory=dict)

    def reason(self) -> str:
        return "; ".join(f"[{r.layer}] {r.reason}" for r in self.rejections)


# --------------------------------------------------------------------------------- training & feedback


class Stat(_Model):
    mean: float
    std: float = 0.0
    min: float = 0.0
    max: float = 0.0
    n: int = 0

    @classmethod
    def of(cls, values: list[float]) -> Stat:
        if not values:
            return cls(mean=0.0, n=0)
        n = len(values)
        mean = sum(values) / n
        var = sum((v - mean) ** 2 for v in values) / n
        return cls(mean=mean, std=var**0.5, min=min(values), max=max(values), n=n)


class EvalResult(_Model):
    env_id: str
    episodes: int
    #: Mean per-episode success in [0, 1], as the target's family defines it.
    success_rate: float
    mean_return: float
    mean_length: float
    #: The family's headline number (``metric``): the success rate, or e.g. the Crafter score in percent.
    score: float = 0.0
    metric: str = "success"
    skills: dict[str, Stat] = Field(default_factory=dict)
    #: Success of the goals evaluated with these episodes (all of a goal's events in one episode).
    goals: dict[str, Stat] = Field(default_factory=dict)


class TrainResult(_Model):
    steps: int
    wall_time_s: float
    steps_per_s: float
    device: str
    episode_returns: Stat | None = None
    reward_components: dict[str, Stat] = Field(default_factory=dict)
    #: The reward program the training ran (``name@digest``); None means the env's own reward.
    reward: str | None = None
    evaluation: EvalResult | None = None
    checkpoint: str | None = None
    failed: str | None = None


#: Sources a cycle's feedback lists at most (a prompt has a context window; PLR mixtures have hundreds).
MAX_FEEDBACK_SOURCES = 16


class Feedback(_Model):
    """What the next prompt shows the LLM about the last cycle."""

    cycle: int
    target_success: float
    #: The family's headline metric on the target (equal to ``target_success`` where that is the metric).
    score: float | None = None
    metric: str = "success"
    skills: dict[str, Stat] = Field(default_factory=dict)
    goals: dict[str, Stat] = Field(default_factory=dict)
    reward_components: dict[str, Stat] = Field(default_factory=dict)
    trained_on: list[dict[str, Any]] = Field(default_factory=list)
    rejected: list[RejectedSpec] = Field(default_factory=list)

    def bounded(self, max_sources: int = MAX_FEEDBACK_SOURCES) -> Feedback:
        """The same feedback with one row per source and at most ``max_sources`` rows (the most-trained kept, in
        their order), as prompts show it: level replay pins one spec at many seeds, and a prompt has a context
        window (older stored feedback has a row per pinned seed)."""
        rows: dict[str, dict[str, Any]] = {}
        totals: dict[str, list[float]] = {}  # key -> [wins, episodes, rows merged], rounded once at the end
        for row in self.trained_on:
            spec = {k: v for k, v in row.items() if k not in ("train_success", "episodes")}
            key = json.dumps(spec, sort_keys=True, default=str)
            n = int(row.get("episodes", 0) or 0)
            rows.setdefault(key, {**row})
            total = totals.setdefault(key, [0.0, 0, 0])
            total[0] += float(row.get("train_success", 0.0)) * n
            total[1] += n
            total[2] += 1
        for key, (wins, n, merged) in totals.items():
            if merged > 1:
                rows[key].update(episodes=int(n), train_success=round(wins / n, 2) if n else 0.0)
        kept = list(rows.values())
        if len(kept) == len(self.trained_on) and len(kept) <= max_sources:
            return self
        if len(kept) > max_sources:
            top = {id(r) for r in sorted(kept, key=lambda r: -int(r.get("episodes", 0) or 0))[:max_sources]}
            kept = [r for r in kept if id(r) in top]
        return self.model_copy(update={"trained_on": kept})


class CandidateSpec(_Model):
    """One independent training job (a reward candidate, or a probe training of one config).

    Executors run many of these in parallel and return one `TrainResult` each; a job that dies comes back with
    ``failed`` set, never as an exception that would sink the whole cycle. The reward may be given as ``reward``
    or inside ``mixture``; `training_mixture` is the one place that decides what the job trains on.
    """

    name: str
    target_env: str = DEFAULT_TARGET
    mixture: EnvMixture | None = None
    reward: RewardProgram | None = None
    steps: int = Field(default=20_000, ge=1)
    n_envs: int = Field(default=4, ge=1)
    seed: int = 0
    device: str = "cpu"
    eval_episodes: int = Field(default=20, ge=1)
    #: Events measured in the evaluation; None: the target's skills as its family derives them.
    skills: list[str] | None = None
    ppo: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_reward(self) -> CandidateSpec:
        inner = self.mixture.reward if self.mixture is not None else None
        if self.reward is not None and inner is not None and self.reward.digest() != inner.digest():
            raise ValueError(
                f"reward {self.reward.name!r} and mixture.reward {inner.name!r} differ: give the reward in one place"
            )
        return self

    def training_mixture(self) -> EnvMixture:
        """The target alone unless a mixture was given, carrying the candidate's reward program."""
        mixture = self.mixture or EnvMixture(entries=[MixtureEntry(source=TargetEnv(env_id=self.target_env),
                                                                   weight=1.0)])
        return mixture.model_copy(update={"reward": self.reward or mixture.reward})


EnvMixture.model_rebuild()
