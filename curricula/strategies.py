"""The curriculum registry: the names ``gymsmith run --curriculum NAME`` accepts, each with its factory.

One place maps a name to its strategy, the help the CLI shows, whether it needs an LLM, and which run settings
it reads; the config check, the CLI help and the error for an unknown name all come from here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gymsmith.config import RunConfig
from gymsmith.registry import Registry
from gymsmith.schemas import TaskSpec

if TYPE_CHECKING:  # the registry stays cheap to import: the CLI builds its help text from it
    from gymsmith.curricula.base import Strategy
    from gymsmith.envs.family import Family


@dataclass(frozen=True)
class Curriculum:
    """A registered curriculum: how to build it and what it needs."""

    build: Callable[[RunConfig, Family, TaskSpec, Any], Strategy]  # noqa: F821 (TYPE_CHECKING names)
    #: Whether the run needs an LLM client (the backend settings then matter).
    needs_llm: bool = False
    #: Strategy-specific settings of `RunConfig` this curriculum reads; setting another one is an error, so a
    #: value the user gave is never silently ignored.
    reads: tuple[str, ...] = ()


#: Settings that belong to particular curricula (the rest of `RunConfig` applies to every run).
STRATEGY_SETTINGS = ("target_ratio", "k_levels", "reward_mode", "plr", "lp", "dr", "llm", "replay", "pace",
                     "reward")

CURRICULA: Registry[Curriculum] = Registry("curriculum")


def _target(config: RunConfig, family: Family, task: TaskSpec, client: Any) -> Strategy:
    from gymsmith.curricula.base import TargetOnly

    return TargetOnly(family, task, config.target_ratio, config.seed)


def _proposer(config: RunConfig, family: Family, client: Any) -> Any:
    from gymsmith.generator.proposer import Proposer

    return Proposer(
        client,
        family=family,
        k=config.k_levels,
        temperature=config.temperature,
        max_tokens=config.max_tokens,
        seed=config.seed,
        prompts_dir=config.prompts_dir,
        constrained=config.constrained,
        goals=config.llm.goals,
    )


def _llm(config: RunConfig, family: Family, task: TaskSpec, client: Any) -> Strategy:
    from gymsmith.curricula.llm import LLMCurriculum

    proposer = _proposer(config, family, client)
    return LLMCurriculum(family, task, proposer, config.target_ratio, config.seed, settings=config.llm,
                         pace=config.pace)


def _llm_replay(config: RunConfig, family: Family, task: TaskSpec, client: Any) -> Strategy:
    from gymsmith.curricula.replay import LLMReplay

    proposer = _proposer(config, family, client)
    return LLMReplay(family, task, proposer, config.replay, config.target_ratio, config.seed, pace=config.pace)


def _plr(config: RunConfig, family: Family, task: TaskSpec, client: Any) -> Strategy:
    from gymsmith.curricula.classic import PrioritizedLevelReplay

    return PrioritizedLevelReplay(family, task, config.plr, config.target_ratio, config.seed)


def _lp(config: RunConfig, family: Family, task: TaskSpec, client: Any) -> Strategy:
    from gymsmith.curricula.classic import LearningProgress

    return LearningProgress(family, task, config.lp, config.target_ratio, config.seed)


def _dr(config: RunConfig, family: Family, task: TaskSpec, client: Any) -> Strategy:
    from gymsmith.curricula.classic import DomainRandomization

    return DomainRandomization(family, task, config.dr, config.target_ratio, config.seed)


def _llm_reward(config: RunConfig, family: Family, task: TaskSpec, client: Any) -> Strategy:
    from gymsmith.curricula.llm_reward import LLMRewardCurriculum
    from gymsmith.generator.reward_designer import RewardDesigner

    designer = RewardDesigner(client, family=family, mode=config.reward_mode, temperature=config.temperature,
                              seed=config.seed, prompts_dir=config.prompts_dir)
    return LLMRewardCurriculum(family, task, designer, candidates=config.k_levels, seed=config.seed)


CURRICULA.register("llm", Curriculum(_llm, needs_llm=True, reads=("target_ratio", "k_levels", "llm", "pace", "reward")),
                   help="the LLM writes the next levels from per-skill results (EnvGen)")
CURRICULA.register("llm-replay", Curriculum(_llm_replay, needs_llm=True,
                                             reads=("target_ratio", "k_levels", "replay", "pace", "reward")),
                   help="the LLM writes level generators rarely; level replay and ACCEL edits work inside them")
CURRICULA.register("llm-reward", Curriculum(_llm_reward, needs_llm=True, reads=("k_levels", "reward_mode")),
                   help="the LLM evolves the target's reward program (Eureka)")
CURRICULA.register("plr", Curriculum(_plr, reads=("target_ratio", "plr", "reward")),
                   help="prioritized level replay over the family's levels and the target's seeds")
CURRICULA.register("lp", Curriculum(_lp, reads=("target_ratio", "lp", "reward")),
                   help="learning progress over a ladder of the family's levels")
CURRICULA.register("dr", Curriculum(_dr, reads=("target_ratio", "dr", "reward")),
                   help="domain randomisation over the family's ranges")
CURRICULA.register("target", Curriculum(_target, reads=("reward",)), help="train on the target only (the baseline)")


def unread_settings(config: RunConfig) -> list[str]:
    """Strategy settings given a non-default value that the chosen curriculum does not read."""
    reads = CURRICULA.get(config.curriculum).reads
    fields = RunConfig.model_fields
    return [name for name in STRATEGY_SETTINGS
            if name not in reads and getattr(config, name) != fields[name].get_default(call_default_factory=True)]


def build(config: RunConfig, family: Family, task: TaskSpec, client: Any = None) -> Strategy:
    """The strategy named in the config, bound to the target's family (LLM strategies get the client)."""
    return CURRICULA.get(config.curriculum).build(config, family, task, client)
