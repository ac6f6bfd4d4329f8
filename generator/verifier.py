"""Verification of proposed environment configs: every check that fails names its layer and reason.

Reward programs have their own, deeper verifier (``verify_reward``); env configs are data, so their layers are
schema, solvability and compatibility with the target's observation/action spaces.
"""

from __future__ import annotations

import time

from pydantic import ValidationError

from gymsmith.envs.family import Family, family_class, make_env
from gymsmith.schemas import EnvSpec, Rejection, TargetEnv, Verdict

#: Level seeds the solvability check samples: a spec is a distribution, one lucky layout is not enough.
SOLVABILITY_SEEDS = range(8)
#: Random steps every constructed env must survive.
SMOKE_STEPS = 5


def _spaces_match(config: EnvSpec, target_env: str) -> str:
    env = make_env(config)
    ref = make_env(TargetEnv(env_id=target_env))
    try:
        if env.observation_space != ref.observation_space:
            return f"observation space {env.observation_space} differs from the target's {ref.observation_space}"
        if env.action_space != ref.action_space:
            return f"action space {env.action_space} differs from the target's {ref.action_space}"
        return ""
    finally:
        env.close()
        ref.close()


def _smoke(config: EnvSpec) -> str:
    """Construct, reset and take a few random steps: some kwargs construct fine and only break the dynamics."""
    try:
        env = make_env(config)
        try:
            env.reset(seed=0)
            env.action_space.seed(0)
            for _ in range(SMOKE_STEPS):
                _, _, terminated, truncated, _ = env.step(env.action_space.sample())
                if terminated or truncated:
                    env.reset()
        finally:
            env.close()
    except Exception as exc:  # the env's own constructor is the judge of its kwargs
        return f"{type(exc).__name__}: {exc}"
    return ""


def verify_env_config(config: EnvSpec, family: Family | None = None) -> Verdict:
    """Run the layers in order and stop at the first failure (later layers assume earlier ones passed).

    Layers: ``schema`` (the spec model, then what the family and the user's ``--param`` ranges allow),
    ``solvability`` (every check seed gives a solvable level, where the family has the notion), ``construct``
    (the env builds and steps) and ``spaces`` (observations and actions match the family's target, so one policy
    trains on both).
    """
    start = time.perf_counter()
    rejections: list[Rejection] = []
    subject = f"{config.family}:{config.name}"
    try:
        type(config).model_validate(config.model_dump())
    except ValidationError as exc:
        rejections.append(Rejection(layer="schema", reason=str(exc.errors()[0]["msg"])))
    if not rejections and family is not None:
        why = family.check(config)
        if why:
            rejections.append(Rejection(layer="schema", reason=why))
    if not rejections:
        ok, why = family_class(config.family).solvable(config, SOLVABILITY_SEEDS)
        if not ok:
            rejections.append(Rejection(layer="solvability", reason=why))
    if not rejections:
        why = _smoke(config)
        if why:
            rejections.append(Rejection(layer="construct", reason=why))
    if not rejections and family is not None:
        why = _spaces_match(config, family.target_env)
        if why:
            rejections.append(Rejection(layer="spaces", reason=why))
    return Verdict(
        subject=subject,
        accepted=not rejections,
        rejections=rejections,
        cost_s=time.perf_counter() - start,
    )
