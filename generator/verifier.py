"""Verification of proposed environment configs: every check that fails names its layer and reason.

Reward programs have their own, deeper verifier (``verify_reward``); env configs are data, so their layers are
schema, solvability and compatibility with the target's observation/action spaces.
"""

from __future__ import annotations

import time

from pydantic import ValidationError

from gymsmith.schemas import (
    CrafterWorldSpec,
    GymKwargsSpec,
    MiniGridLevelSpec,
    Rejection,
    TargetEnv,
    Verdict,
)

#: Level seeds the solvability check samples: a spec is a distribution, one lucky layout is not enough.
SOLVABILITY_SEEDS = range(8)


def _spaces_match(config: object, target_env: str) -> str:
    from gymsmith.envs.mixture import make_source_env

    env = make_source_env(config)
    ref = make_source_env(TargetEnv(env_id=target_env))
    try:
        if env.observation_space != ref.observation_space:
            return f"observation space {env.observation_space} differs from the target's {ref.observation_space}"
        if env.action_space != ref.action_space:
            return f"action space {env.action_space} differs from the target's {ref.action_space}"
        return ""
    finally:
        env.close()
        ref.close()


def verify_env_config(
    config: MiniGridLevelSpec | CrafterWorldSpec | GymKwargsSpec, target_env: str | None = None
) -> Verdict:
    """Run the layers in order and stop at the first failure (later layers assume earlier ones passed)."""
    start = time.perf_counter()
    rejections: list[Rejection] = []
    subject = f"{config.family}:{config.name}"
    try:
        type(config).model_validate(config.model_dump())
    except ValidationError as exc:
        rejections.append(Rejection(layer="schema", reason=str(exc.errors()[0]["msg"])))
    if not rejections and isinstance(config, MiniGridLevelSpec):
        from gymsmith.envs.minigrid_family import check_spec

        ok, why = check_spec(config, SOLVABILITY_SEEDS)
        if not ok:
            rejections.append(Rejection(layer="solvability", reason=why))
    if not rejections and isinstance(config, GymKwargsSpec | CrafterWorldSpec):
        try:
            from gymsmith.envs.mixture import make_source_env

            env = make_source_env(config)
            env.reset(seed=0)
            env.close()
        except Exception as exc:  # the env's own constructor is the judge of its kwargs
            rejections.append(Rejection(layer="construct", reason=f"{type(exc).__name__}: {exc}"))
    if not rejections and target_env is not None:
        why = _spaces_match(config, target_env)
        if why:
            rejections.append(Rejection(layer="spaces", reason=why))
    return Verdict(
        subject=subject,
        accepted=not rejections,
        rejections=rejections,
        cost_s=time.perf_counter() - start,
    )
