"""Layered verification of reward programs; every rejection names its layer and says why, in words an LLM can
act on.

Layers, in order (each assumes the previous passed, so the first failure ends the run):

* ``static``: size, parse, AST allow-list, names/attributes/argument writes, then RestrictedPython
  (``gymsmith.sandbox.static`` and ``CompiledProgram``);
* ``isolation``: load and run on a few transitions in the `Sandbox` — timeouts, memory, recursion, blocked
  system calls and runtime guard hits end here;
* ``smoke``: all recorded random-policy transitions, twice: finite, typed, bounded, deterministic, cheap;
* ``hack``: returns of do-nothing and random episodes against scripted task-solving episodes; a reward that
  pays more for idling than for solving (or cannot tell them apart) teaches the wrong thing.
"""

from __future__ import annotations

import atexit
import functools
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from gymsmith.envs.family import Family, Policy
from gymsmith.sandbox import (
    CompiledProgram,
    ProgramCompileError,
    ProgramRefused,
    Sandbox,
    SandboxError,
    compile_program,
    encode_row,
)
from gymsmith.schemas import Rejection, RewardProgram, Verdict

# ----------------------------------------------------------------------------------------- transitions


class Transition(TypedDict):
    """One step as a reward program sees it (``state`` describes the episode *before* this step)."""

    obs: dict[str, float]
    action: int
    next_obs: dict[str, float]
    info: dict[str, Any]
    state: dict[str, Any]
    success: float




def random_policy(env: Any, rng: random.Random) -> int:
    return rng.randrange(int(env.action_space.n))


def constant_policy(action: int) -> Policy:
    """The same action every step: with the family's no-op action, the purest 'do nothing'."""

    def policy(env: Any, rng: random.Random) -> int:
        return action

    return policy


def record_episode(env: Any, policy: Policy, seed: int, max_steps: int | None = None) -> list[Transition]:
    """One episode as reward-program transitions (needs ``info['features']``/``info['events']`` from the env);
    each transition also keeps the family's per-episode ``success`` so far (the final one on the last step)."""
    rng = random.Random(seed)
    _, info = env.reset(seed=seed)
    if "features" not in info:
        raise ValueError("the env must put symbolic features in info['features'] (build it with its family's make)")
    obs = dict(info["features"])
    events_so_far: list[str] = []
    out: list[Transition] = []
    step = 0
    while True:
        action = int(policy(env, rng))
        _, reward, terminated, truncated, info = env.step(action)
        next_obs = dict(info["features"])
        events = [str(e) for e in info.get("events", [])]
        out.append(
            Transition(
                obs=obs,
                action=action,
                next_obs=next_obs,
                info={
                    "events": events,
                    "terminated": bool(terminated),
                    "truncated": bool(truncated),
                    "env_reward": float(reward),
                },  # fmt: skip
                state={"episode_step": step, "events_so_far": list(events_so_far)},
                success=float(info.get("success", 0.0)),
            )
        )
        events_so_far.extend(events)
        obs = next_obs
        step += 1
        if terminated or truncated or (max_steps is not None and step >= max_steps):
            return out


def record_transitions(
    env_factory: Callable[[], Any], n: int, seed: int, policy: Policy = random_policy
) -> list[Transition]:
    """``n`` transitions from whole episodes of ``policy`` (random by default), seeded end to end."""
    env = env_factory()
    out: list[Transition] = []
    try:
        episode = 0
        while len(out) < n:
            out.extend(record_episode(env, policy, seed + episode, max_steps=n - len(out)))
            episode += 1
    finally:
        env.close()
    return out[:n]


def record_reference_episodes(
    env_factory: Callable[[], Any], family: Family, seed: int, *, n_random: int = 3, n_progress: int = 3
) -> dict[str, list[list[Transition]]]:
    """Episodes the hack layer compares: do-nothing, random, and the family's scripted progress episodes.

    Each kind is optional: a family without a no-op action or a scripted policy just has fewer references,
    and only progress episodes that really progressed (`Family.made_progress`) count as references.
    """
    env = env_factory()
    episodes: dict[str, list[list[Transition]]] = {}
    try:
        if family.noop_action is not None:
            episodes["noop"] = [record_episode(env, constant_policy(family.noop_action), seed)]
        episodes["random"] = [record_episode(env, random_policy, seed + 100 + i) for i in range(n_random)]
        progress = family.progress_policy()
        if progress is not None:
            recorded = [record_episode(env, progress, seed + 200 + i) for i in range(n_progress)]
            solved = [ep for ep in recorded
                      if family.made_progress({e for t in ep for e in t["info"]["events"]}, ep[-1]["success"])]
            if solved:
                episodes["progress"] = solved
    finally:
        env.close()
    return episodes


@dataclass
class RewardFixtures:
    """Recorded inputs the verifier replays; built once per target env and seed, shared by all candidates."""

    transitions: list[Transition]
    episodes: dict[str, list[list[Transition]]] = field(default_factory=dict)
    encoded_transitions: list[Any] = field(default_factory=list, repr=False)
    encoded_episodes: dict[str, list[list[Any]]] = field(default_factory=dict, repr=False)
    #: The target's skills (event names), named in the hack layer's advice in the family's own words.
    skills: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.encoded_transitions:
            self.encoded_transitions = [encode_row(t) for t in self.transitions]
        if not self.encoded_episodes:
            self.encoded_episodes = {k: [[encode_row(t) for t in ep] for ep in eps] for k, eps in self.episodes.items()}


@functools.lru_cache(maxsize=8)
def reward_fixtures(family: Family, seed: int = 0, n_transitions: int = 256) -> RewardFixtures:
    """Random-policy transitions plus reference episodes on the family's target (cached per process)."""

    def factory() -> Any:
        return family.make_target()

    return RewardFixtures(
        transitions=record_transitions(factory, n_transitions, seed),
        episodes=record_reference_episodes(factory, family, seed),
        skills=tuple(family.task().skills or ()),
    )


# --------------------------------------------------------------------------------------------- verifier


@dataclass
class VerifyLimits:
    """Budgets of the dynamic layers; defaults suit MiniGrid (env reward <= 1 per episode)."""

    isolation_rows: int = 8
    max_abs: float = 100.0
    per_call_budget_us: float = 250.0
    #: The scripted solution must beat doing nothing by at least this much per episode.
    hack_margin: float = 1e-6


_SHARED: Sandbox | None = None


def shared_sandbox() -> Sandbox:
    """One persistent worker per process for verification (start-up is paid once, not per candidate)."""
    global _SHARED
    if _SHARED is None:
        _SHARED = Sandbox()
        atexit.register(_SHARED.close)
    return _SHARED


def _rows_from(transitions: Sequence[Any]) -> list[Any]:
    return [t if isinstance(t, tuple) else encode_row(t) for t in transitions]


def _first_bad(results: Sequence[tuple[float, dict[str, float]]], max_abs: float) -> str:
    for i, (total, comps) in enumerate(results):
        if not math.isfinite(total):
            return f"row {i}: the total reward is {total} (must be a finite float)"
        for name, value in comps.items():
            if not math.isfinite(value):
                return f"row {i}: component {name!r} is {value} (must be a finite float)"
        if abs(total) > max_abs:
            return f"row {i}: the total reward {total:.4g} exceeds the magnitude bound {max_abs:g} per step"
        for name, value in comps.items():
            if abs(value) > max_abs:
                return f"row {i}: component {name!r} = {value:.4g} exceeds the magnitude bound {max_abs:g}"
    return ""


def _sandbox_reason(exc: SandboxError, rows: int) -> str:
    where = f" (at transition {exc.row})" if exc.row is not None else ""
    labels = {
        "timeout": "the program did not finish in time",
        "memory": "the program exhausted its memory allowance",
        "recursion": "the program recursed too deeply",
        "violation": "the program tried something the sandbox forbids",
        "cpu": "the program exhausted its CPU allowance",
        "crash": "the sandbox worker died",
        "protocol": "the sandbox worker sent a malformed reply",
        "type": "the program returned the wrong type",
        "error": "the program raised an exception",
        "load": "the program could not be loaded",
    }
    return f"{labels.get(exc.kind, exc.kind)}{where}: {exc} [{rows} transitions]"


def verify_reward_program(
    program: RewardProgram | str,
    transitions: Sequence[Transition] | RewardFixtures,
    *,
    episodes: dict[str, list[list[Transition]]] | None = None,
    sandbox: Sandbox | None = None,
    limits: VerifyLimits | None = None,
    test_bypass: Literal["", "ast", "all"] = "",
) -> Verdict:
    """Run the four layers; pass ``RewardFixtures`` (or ``episodes``) to enable the hack layer.

    ``test_bypass`` exists only for tests that must show the deeper layers hold on their own: "ast" skips the
    AST allow-list (RestrictedPython still compiles), "all" compiles with plain ``compile()`` so nothing but
    the namespace and the OS layers stands between the program and the machine. Production never sets it.
    """
    start = time.perf_counter()
    limits = limits or VerifyLimits()
    if isinstance(program, str):
        program = RewardProgram(mode="code", source=program)
    subject = f"reward:{program.name}"
    details: dict[str, Any] = {"layers": {}}

    def verdict(layer: str | None = None, reason: str = "") -> Verdict:
        rejections = [Rejection(layer=layer, reason=reason)] if layer else []
        if layer:
            details["layers"][layer] = "rejected"
        return Verdict(
            subject=subject,
            accepted=not rejections,
            rejections=rejections,
            cost_s=time.perf_counter() - start,
            details=details,
        )

    skills: tuple[str, ...] = ()
    if isinstance(transitions, RewardFixtures):
        rows = transitions.encoded_transitions
        encoded_eps = transitions.encoded_episodes if episodes is None else None
        skills = transitions.skills
    else:
        rows = _rows_from(transitions)
        encoded_eps = None
    if episodes is not None:
        encoded_eps = {k: [_rows_from(ep) for ep in eps] for k, eps in episodes.items()}
    if not rows:
        raise ValueError("verification needs at least one recorded transition")

    # -- static
    if test_bypass == "all":
        code = compile(program.source, "<reward_program>", "exec")
        details["layers"]["static"] = "bypassed (tests only)"
    elif test_bypass == "ast":
        try:
            code = compile_program(program.source)
        except ProgramCompileError as exc:
            return verdict("static", "RestrictedPython: " + "; ".join(exc.errors))
        details["layers"]["static"] = "AST layer bypassed (tests only)"
    else:
        try:
            code = CompiledProgram.of(program).code
        except ProgramRefused as exc:
            return verdict("static", "; ".join(exc.reasons[:6]))
        details["layers"]["static"] = "ok"

    # -- isolation
    box = sandbox or shared_sandbox()
    try:
        box.load(code)
        box.call_arrays(rows[: limits.isolation_rows], encoded=True)
    except SandboxError as exc:
        layer = "isolation" if exc.isolation else "smoke"
        return verdict(layer, _sandbox_reason(exc, min(len(rows), limits.isolation_rows)))
    details["layers"]["isolation"] = "ok"

    # -- smoke
    try:
        first = box.call_batch(rows)
        cpu0 = box.cpu_seconds
        t0 = time.perf_counter()
        second = box.call_batch(rows)
        wall_us = (time.perf_counter() - t0) / len(rows) * 1e6
        # CPU time inside the worker: on a shared machine wall time mostly measures the neighbours
        per_call_us = (box.cpu_seconds - cpu0) / len(rows) * 1e6
    except SandboxError as exc:
        layer = "isolation" if exc.isolation else "smoke"
        return verdict(layer, _sandbox_reason(exc, len(rows)))
    details["per_call_us"] = round(per_call_us, 2)
    details["per_call_wall_us"] = round(wall_us, 2)
    bad = _first_bad(first, limits.max_abs)
    if bad:
        return verdict("smoke", bad)
    for i, (a, b) in enumerate(zip(first, second, strict=True)):
        if a != b:
            return verdict(
                "smoke",
                f"not deterministic: transition {i} gave {a[0]:.6g} on the first pass and {b[0]:.6g} on the "
                "second; reward must be a pure function of its inputs (no hidden state)",
            )
    if per_call_us > limits.per_call_budget_us:
        return verdict(
            "smoke",
            f"too slow: {per_call_us:.0f} µs per call (budget {limits.per_call_budget_us:.0f} µs); "
            "training calls the reward on every step",
        )
    details["components"] = sorted({k for _, comps in first for k in comps})
    details["layers"]["smoke"] = "ok"

    # -- hack
    if not encoded_eps:
        details["layers"]["hack"] = "skipped: no reference episodes"
        return verdict()
    flat: list[Any] = []
    spans: dict[str, list[tuple[int, int]]] = {}
    for name, eps in encoded_eps.items():
        for ep in eps:
            spans.setdefault(name, []).append((len(flat), len(flat) + len(ep)))
            flat.extend(ep)
    try:
        results = box.call_batch(flat)
    except SandboxError as exc:
        layer = "isolation" if exc.isolation else "smoke"
        return verdict(layer, _sandbox_reason(exc, len(flat)))
    bad = _first_bad(results, limits.max_abs)
    if bad:
        return verdict("smoke", f"on reference episodes, {bad}")
    returns: dict[str, float] = {}
    lengths: dict[str, float] = {}
    for name, ranges in spans.items():
        totals = [sum(results[i][0] for i in range(a, b)) for a, b in ranges]
        returns[name] = sum(totals) / len(totals)
        lengths[name] = sum(b - a for a, b in ranges) / len(ranges)
    details["returns"] = {k: round(v, 4) for k, v in returns.items()}
    details["episode_lengths"] = lengths
    if "progress" in returns:
        prog = returns["progress"]
        what = f"solving the task earns {prog:.3f} per episode ({lengths['progress']:.0f} steps)"
        noop = returns.get("noop")
        if noop is not None and noop > prog:
            return verdict(
                "hack",
                f"doing nothing earns {noop:.3f} per episode ({lengths['noop']:.0f} steps) but {what}; the "
                "agent would learn to idle (per-step bonuses or non-potential distance terms do this)",
            )
        if noop is not None and prog - noop < limits.hack_margin:
            return verdict(
                "hack",
                f"the reward cannot tell progress from doing nothing: both earn {prog:.3f} per episode; "
                + (f"reward the task's events ({', '.join(skills[:6])})" if skills else "reward the task's events"),
            )
        rnd = returns.get("random")
        if rnd is not None and rnd > prog:
            return verdict(
                "hack",
                f"a random policy earns {rnd:.3f} per episode ({lengths['random']:.0f} steps) but {what}; the "
                "reward pays for wandering rather than for the task",
            )
    details["layers"]["hack"] = "ok"
    return verdict()
