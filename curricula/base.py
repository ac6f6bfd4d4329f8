"""The one interface every curriculum strategy implements, in the spirit of Syllabus.

``next_mixture(history)`` decides what to train on next from the feedback of past cycles (the one contract that
is stored, so a resumed run sees the same history); ``update(outcome)`` hands the strategy the full results.
Strategies also expose their state as JSON so a killed run resumes with the same curriculum state.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from gymsmith.agents.train import EpisodeLog
from gymsmith.schemas import (
    EnvMixture,
    EvalResult,
    Feedback,
    LLMCall,
    MixtureEntry,
    Proposal,
    RejectedSpec,
    Stat,
    TargetEnv,
    TrainResult,
    Verdict,
)


@dataclass
class CycleOutcome:
    cycle: int
    mixture: EnvMixture
    training: TrainResult
    log: EpisodeLog
    evaluation: EvalResult
    feedback: Feedback


@dataclass
class Artifacts:
    """What a strategy produced while choosing a mixture (stored with the cycle)."""

    proposals: list[Proposal] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    llm_calls: list[LLMCall] = field(default_factory=list)
    rejected: list[RejectedSpec] = field(default_factory=list)


class Strategy(ABC):
    name: str = "strategy"

    def __init__(self, target_env: str, target_ratio: float = 0.25, seed: int = 0) -> None:
        self.target_env = target_env
        self.target_ratio = target_ratio
        self.seed = seed
        self.artifacts = Artifacts()

    @abstractmethod
    def next_mixture(self, history: list[Feedback]) -> EnvMixture: ...

    def update(self, outcome: CycleOutcome) -> None:  # noqa: B027 (optional hook)
        """Default: stateless strategies learn nothing from results."""

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:  # noqa: B027 (optional hook)
        """Default: nothing to restore."""

    def with_target(self, entries: list[MixtureEntry]) -> EnvMixture:
        """Mix generated entries with the unmodified target at ``target_ratio`` of episodes."""
        target = MixtureEntry(source=TargetEnv(env_id=self.target_env), weight=1.0)
        if not entries:
            return EnvMixture(entries=[target])
        if self.target_ratio <= 0:
            return EnvMixture(entries=entries)
        total = sum(e.weight for e in entries)
        scale = (1.0 - self.target_ratio) / total
        scaled = [e.model_copy(update={"weight": e.weight * scale}) for e in entries]
        if self.target_ratio >= 1.0:
            return EnvMixture(entries=[target])
        return EnvMixture(entries=[target.model_copy(update={"weight": self.target_ratio}), *scaled])


class TargetOnly(Strategy):
    """The baseline every comparison shows: train on the unmodified target only."""

    name = "target"

    def next_mixture(self, history: list[Feedback]) -> EnvMixture:
        self.artifacts = Artifacts()
        return EnvMixture(entries=[MixtureEntry(source=TargetEnv(env_id=self.target_env), weight=1.0)])


def per_source_success(mixture: EnvMixture, log: EpisodeLog) -> list[Stat]:
    """Training success per mixture entry: tells the LLM which of its levels are already mastered."""
    buckets: list[list[float]] = [[] for _ in mixture.entries]
    for source, success in zip(log.sources, log.successes, strict=True):
        if 0 <= source < len(buckets):
            buckets[source].append(float(success))
    return [Stat.of(b) for b in buckets]


def build_feedback(
    cycle: int,
    mixture: EnvMixture,
    log: EpisodeLog,
    evaluation: EvalResult,
    training: TrainResult,
    rejected: list[RejectedSpec],
) -> Feedback:
    trained_on = []
    for entry, stat in zip(mixture.entries, per_source_success(mixture, log), strict=True):
        spec = entry.source.model_dump(mode="json", exclude={"family"} if entry.source.family != "target" else None)
        spec = {k: v for k, v in spec.items() if k not in ("max_steps",)}
        spec["train_success"] = round(stat.mean, 2)
        spec["episodes"] = stat.n
        trained_on.append(spec)
    return Feedback(
        cycle=cycle,
        target_success=evaluation.success_rate,
        skills=evaluation.skills,
        reward_components=training.reward_components,
        trained_on=trained_on,
        rejected=rejected,
    )
