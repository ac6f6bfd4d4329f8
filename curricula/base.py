"""The one interface every curriculum strategy implements, in the spirit of Syllabus.

``decide(history)`` chooses what to train on next from the feedback of past cycles (the one contract that is
stored, so a resumed run sees the same history) and returns a `Decision`: the mixture *and* what choosing it
produced and cost (proposals, verdicts, LLM calls, goals). ``update(outcome)`` tells the strategy the full
results. Strategies expose their state as JSON so a killed run resumes with the same curriculum state. A strategy
is bound to the target's family and never names an env, an event or an action itself.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from gymsmith.agents.train import EpisodeLog, target_mixture
from gymsmith.envs.family import Family
from gymsmith.schemas import (
    EnvMixture,
    EvalResult,
    Feedback,
    Goal,
    LLMCall,
    MixtureEntry,
    Proposal,
    RejectedSpec,
    Stat,
    TargetEnv,
    TaskSpec,
    TrainResult,
    Verdict,
)


@dataclass
class Artifacts:
    """What a strategy produced while choosing a mixture (stored with the cycle)."""

    proposals: list[Proposal] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    llm_calls: list[LLMCall] = field(default_factory=list)
    rejected: list[RejectedSpec] = field(default_factory=list)
    #: Goals to probe in this cycle's evaluation (e.g. the ones the LLM wrote with its levels).
    goals: list[Goal] = field(default_factory=list)


@dataclass
class Decision:
    """What to train on next and everything choosing it produced: the only thing a strategy hands the loop."""

    mixture: EnvMixture
    artifacts: Artifacts = field(default_factory=Artifacts)


@dataclass
class CycleOutcome:
    cycle: int
    mixture: EnvMixture
    training: TrainResult
    log: EpisodeLog
    evaluation: EvalResult
    feedback: Feedback


class Strategy(ABC):
    name: str = "strategy"

    def __init__(self, family: Family, task: TaskSpec, target_ratio: float = 0.25, seed: int = 0) -> None:
        self.family = family
        self.task = task
        self.target_env = family.target_env
        self.target_ratio = target_ratio
        self.seed = seed

    @abstractmethod
    def decide(self, history: list[Feedback]) -> Decision: ...

    def update(self, outcome: CycleOutcome) -> None:  # noqa: B027 (optional hook)
        """Default: stateless strategies learn nothing from results."""

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:  # noqa: B027 (optional hook)
        """Default: nothing to restore."""

    def with_target(self, entries: list[MixtureEntry]) -> EnvMixture:
        """Mix generated entries with the unmodified target at ``target_ratio`` of episodes."""
        target = MixtureEntry(source=TargetEnv(env_id=self.target_env), weight=1.0)
        if not entries or self.target_ratio >= 1.0:
            return EnvMixture(entries=[target])
        if self.target_ratio <= 0:
            return EnvMixture(entries=entries)
        total = sum(e.weight for e in entries)
        scale = (1.0 - self.target_ratio) / total
        scaled = [e.model_copy(update={"weight": e.weight * scale}) for e in entries]
        return EnvMixture(entries=[target.model_copy(update={"weight": self.target_ratio}), *scaled])

    def offset_of(self, mixture: EnvMixture, entries: list[MixtureEntry]) -> int | None:
        """Where this strategy's own entries start in ``mixture`` (episode logs index the mixture), or None
        when none of them is in it (target ratio 1, or nothing to add)."""
        if not entries or self.target_ratio >= 1.0:
            return None
        return len(mixture.entries) - len(entries)


class TargetOnly(Strategy):
    """The baseline every comparison shows: train on the unmodified target only."""

    name = "target"

    def decide(self, history: list[Feedback]) -> Decision:
        return Decision(target_mixture(self.target_env))


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
        if entry.source.family == "target":
            spec = {"family": "target", "env_id": entry.source.env_id}  # type: ignore[attr-defined]
        else:
            spec = entry.source.brief()
        spec["train_success"] = round(stat.mean, 2)
        spec["episodes"] = stat.n
        trained_on.append(spec)
    return Feedback(
        cycle=cycle,
        target_success=evaluation.success_rate,
        score=evaluation.score,
        metric=evaluation.metric,
        skills=evaluation.skills,
        goals=evaluation.goals,
        reward_components=training.reward_components,
        trained_on=trained_on,
        rejected=rejected,
    ).bounded()  # one row per source (level replay pins one spec at many seeds), at most MAX_FEEDBACK_SOURCES
