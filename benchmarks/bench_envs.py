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

    from gymsmith.envs.crafter_family import CrafterGenEnv

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print_crafter(bench_crafter(steps=args.steps, rounds=args.rounds))


if __name__ == "__main__":
    main()
