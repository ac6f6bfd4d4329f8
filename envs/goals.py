"""Goals as per-skill probes: a `Goal` succeeds in an episode when every one of its events happened in it.

The trainer's evaluation measures single events (``Trainer.evaluate(skills=[...])``); a goal may need several
("picked up the key *and* opened the door"), which only per-episode event sets can answer. These helpers turn
goals into the event names to probe and score goals from the event sets of evaluated episodes, so goals the LLM
proposes can be measured (and later be targets of composed rewards) without a second evaluation path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import gymnasium as gym

from gymsmith.schemas import Goal, Stat


def unknown_events(goal: Goal, vocabulary: Iterable[str]) -> list[str]:
    """Events of ``goal`` no env of the family reports: such a goal could never succeed."""
    allowed = set(vocabulary)
    return [e for e in goal.events if e not in allowed]


def probe_skills(goals: Iterable[Goal]) -> list[str]:
    """The event names to pass as ``skills`` to ``Trainer.evaluate``, once each, in first-mention order."""
    return list(dict.fromkeys(e for g in goals for e in g.events))


def goal_reached(goal: Goal, events: Iterable[str]) -> bool:
    """All of the goal's events happened in the episode (order is not required)."""
    seen = set(events)
    return all(e in seen for e in goal.events)


def goal_success(goals: Iterable[Goal], episodes: Sequence[Iterable[str]]) -> dict[str, Stat]:
    """Per-goal success over episodes given as the set of events each episode produced."""
    sets = [set(ep) for ep in episodes]
    return {g.name: Stat.of([float(goal_reached(g, ep)) for ep in sets]) for g in goals}


def episode_events(
    env: gym.Env,
    episodes: int,
    policy: Callable[[Any], Any] | None = None,
    seed: int = 0,
    max_steps: int = 10_000,
) -> list[set[str]]:
    """Roll out ``policy`` (random when None) and collect each episode's events from ``info["events"]``.

    A quick probe of whether goals are reachable at all in a generated env, e.g. for a random policy.
    """
    env.action_space.seed(seed)
    result: list[set[str]] = []
    for i in range(episodes):
        obs, info = env.reset(seed=seed + i)
        seen: set[str] = set(info.get("events", ()))
        for _ in range(max_steps):
            action = env.action_space.sample() if policy is None else policy(obs)
            obs, _, terminated, truncated, info = env.step(action)
            seen.update(info.get("events", ()))
            if terminated or truncated:
                break
        result.append(seen)
    return result
