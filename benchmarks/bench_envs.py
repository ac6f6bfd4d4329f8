"""Throughput of gymsmith's env families against the packages they wrap.

A generated family must not slow training down, so each family is timed against its unmodified original on
the same random action sequence. Run: ``python benchmarks/bench_envs.py [--steps N] [--rounds R]``.

Rounds alternate between the two envs and the best round of each is kept: on shared CPUs the best time is the
least disturbed one.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np


def _run(
    reset: Callable[[], Any], step: Callable[[int], bool], steps: int, seed: int
) -> tuple[float, float, int]:
    """(total seconds, seconds spent in resets, resets) for ``steps`` random-action steps."""
    actions = np.random.default_rng(seed).integers(0, 17, size=steps).tolist()
    resets = 0
    start = time.perf_counter()
    reset()
    reset_time = time.perf_counter() - start
    for action in actions:
        if step(action):
            t0 = time.perf_counter()
            reset()
            reset_time += time.perf_counter() - t0
            resets += 1
    return time.perf_counter() - start, reset_time, resets


def bench_crafter(steps: int = 3000, rounds: int = 3, seed: int = 0) -> dict[str, float]:
    """Steps/s of `CrafterGenEnv` (default spec) vs plain ``crafter.Env``, resets included and excluded."""
    import crafter

    from gymsmith.envs.crafter import CrafterGenEnv

    plain = crafter.Env(seed=seed)
    gen = CrafterGenEnv(seed=seed)

    def plain_step(action: int) -> bool:
        return bool(plain.step(action)[2])

    def gen_step(action: int) -> bool:
        _, _, terminated, truncated, _ = gen.step(action)
        return terminated or truncated

    best: dict[str, tuple[float, float, int]] = {}
    for _ in range(rounds):
        for name, reset, step in (("crafter", plain.reset, plain_step), ("gen", gen.reset, gen_step)):
            total, in_reset, resets = _run(reset, step, steps, seed)
            if name not in best or total < best[name][0]:
                best[name] = (total, in_reset, resets)
    out: dict[str, float] = {"steps": float(steps)}
    for name, (total, in_reset, resets) in best.items():
        out[f"{name}_sps"] = steps / total
        out[f"{name}_step_only_sps"] = steps / (total - in_reset)
        out[f"{name}_reset_s"] = in_reset / (resets + 1)
    out["ratio"] = out["gen_sps"] / out["crafter_sps"]
    out["step_only_ratio"] = out["gen_step_only_sps"] / out["crafter_step_only_sps"]
    return out


def print_crafter(result: dict[str, float]) -> None:
    print(f"Crafter, {int(result['steps'])} random-action steps per round (64x64 world, default spec)")
    print(
        f"  crafter.Env    {result['crafter_sps']:8.1f} steps/s   "
        f"step-only {result['crafter_step_only_sps']:8.1f} steps/s   reset {result['crafter_reset_s']:.3f} s"
    )
    print(
        f"  CrafterGenEnv  {result['gen_sps']:8.1f} steps/s   "
        f"step-only {result['gen_step_only_sps']:8.1f} steps/s   reset {result['gen_reset_s']:.3f} s"
    )
    print(f"  ratio gen/crafter: {result['ratio']:.2f} (step-only {result['step_only_ratio']:.2f})")


def bench_minigrid(steps: int = 20000, rounds: int = 3, seed: int = 0) -> dict[str, float]:
    """Steps/s of the MiniGrid family (a DoorKey-8x8-shaped spec) vs the built-in DoorKey-8x8.

    Both go through the same gymsmith wrapping (image observation, events, features), so the ratio isolates
    the family itself; the raw MiniGridEnv pair is timed too.
    """
    import gymnasium as gym

    from gymsmith.envs.minigrid_family import MiniGridGenEnv, wrap_minigrid
    from gymsmith.schemas import MiniGridLevelSpec

    spec = MiniGridLevelSpec(size=8)
    envs = {
        "builtin": wrap_minigrid(gym.make("MiniGrid-DoorKey-8x8-v0").unwrapped),
        "gen": wrap_minigrid(MiniGridGenEnv(spec)),
        "builtin_raw": gym.make("MiniGrid-DoorKey-8x8-v0").unwrapped,
        "gen_raw": MiniGridGenEnv(spec),
    }
    best: dict[str, float] = {}
    for _ in range(rounds):
        for name, env in envs.items():
            counter = iter(range(10**9))

            def reset(env: Any = env, counter: Any = counter) -> Any:
                return env.reset(seed=seed + next(counter))

            def step(action: int, env: Any = env) -> bool:
                _, _, terminated, truncated, _ = env.step(action % 7)
                return terminated or truncated

            total, _, _ = _run(reset, step, steps, seed)
            best[name] = min(best.get(name, float("inf")), total)
    out = {"steps": float(steps), **{f"{k}_sps": steps / v for k, v in best.items()}}
    out["ratio"] = out["gen_sps"] / out["builtin_sps"]
    out["raw_ratio"] = out["gen_raw_sps"] / out["builtin_raw_sps"]
    return out


def print_minigrid(result: dict[str, float]) -> None:
    print(f"MiniGrid, {int(result['steps'])} random-action steps per round (8x8 DoorKey layout)")
    for label, key in (("built-in DoorKey-8x8", "builtin"), ("MiniGridGenEnv      ", "gen")):
        print(f"  {label} (gymsmith-wrapped) {result[f'{key}_sps']:8.0f} steps/s   raw {result[f'{key}_raw_sps']:8.0f}")
    print(f"  ratio family/built-in: {result['ratio']:.2f} (raw {result['raw_ratio']:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print_minigrid(bench_minigrid(steps=args.steps * 5, rounds=args.rounds))
    print_crafter(bench_crafter(steps=args.steps, rounds=args.rounds))


if __name__ == "__main__":
    main()
