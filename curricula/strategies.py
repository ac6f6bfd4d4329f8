"""Strategy registry: the names ``gymsmith run --curriculum NAME`` accepts."""

from __future__ import annotations

from typing import Any

from gymsmith.config import RunConfig
from gymsmith.curricula.base import Strategy, TargetOnly


def build(config: RunConfig, client: Any = None) -> Strategy:
    name = config.curriculum
    if name == "target":
        return TargetOnly(config.task.target_env, config.target_ratio, config.seed)
    if name == "llm":
        from gymsmith.curricula.llm import LLMCurriculum
        from gymsmith.generator.proposer import Proposer

        proposer = Proposer(
            client,
            k=config.k_levels,
            temperature=config.temperature,
            max_tokens=config.max_tokens,
            seed=config.seed,
            prompts_dir=config.prompts_dir,
            constrained=config.constrained,
        )
        return LLMCurriculum(config.task, proposer, config.target_ratio, config.seed)
    raise ValueError(f"curriculum {name!r} is not available yet")
