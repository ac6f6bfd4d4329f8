"""Strategy registry: the names ``gymsmith run --curriculum NAME`` accepts."""

from __future__ import annotations

from typing import Any

from gymsmith.config import ConfigError, RunConfig
from gymsmith.curricula.base import Strategy, TargetOnly


def build(config: RunConfig, client: Any = None) -> Strategy:
    """One place maps a curriculum name to its strategy, so the loop never branches on names."""
    name = config.curriculum
    task, ratio, seed = config.task, config.target_ratio, config.seed
    if name == "target":
        return TargetOnly(task.target_env, ratio, seed)
    if name == "llm":
        from gymsmith.curricula.llm import LLMCurriculum
        from gymsmith.generator.proposer import Proposer

        proposer = Proposer(
            client,
            k=config.k_levels,
            temperature=config.temperature,
            max_tokens=config.max_tokens,
            seed=seed,
            prompts_dir=config.prompts_dir,
            constrained=config.constrained,
        )
        return LLMCurriculum(task, proposer, ratio, seed, settings=config.llm)
    if name == "plr":
        from gymsmith.curricula.classic import PrioritizedLevelReplay

        return PrioritizedLevelReplay(task, config.plr, ratio, seed)
    if name == "lp":
        from gymsmith.curricula.classic import LearningProgress

        return LearningProgress(task, config.lp, ratio, seed)
    if name == "dr":
        from gymsmith.curricula.classic import DomainRandomization

        return DomainRandomization(task, config.dr, ratio, seed)
    if name == "llm-reward":
        from gymsmith.curricula.llm_reward import LLMRewardCurriculum
        from gymsmith.generator.reward_designer import RewardDesigner

        designer = RewardDesigner(client, mode=config.reward_mode, temperature=config.temperature, seed=seed,
                                  prompts_dir=config.prompts_dir)
        return LLMRewardCurriculum(task, designer, candidates=config.k_levels, seed=seed)
    raise ConfigError(f"curriculum: unknown curriculum {name!r}")
