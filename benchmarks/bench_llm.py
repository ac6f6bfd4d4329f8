"""Pick the embedded default model by measurement: valid AND sensible proposals, and tokens/s.

Each model answers the same fixed feedback situations (an untrained agent, one stuck at the key, one stuck at
the door, one stuck at the goal, one nearly done). A proposal is *valid* when every level parses and passes the
verifier, and *sensible* when at least one level targets the weakest skill by the rule stated per situation.

    .venv/bin/python benchmarks/bench_llm.py [--models qwen2.5-coder-0.5b,gemma3-270m] [--seeds 1]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from gymsmith.generator.llm import LLMClient, make_chat_model
from gymsmith.generator.proposer import Proposer
from gymsmith.generator.verifier import verify_env_config
from gymsmith.schemas import Feedback, MiniGridLevelSpec, Stat, TaskSpec


def _fb(key: float, door: float, goal: float, trained_on: list[dict]) -> Feedback:
    return Feedback(
        cycle=0,
        target_success=goal,
        skills={"picked_up_key": Stat(mean=key), "opened_door": Stat(mean=door), "reached_goal": Stat(mean=goal)},
        trained_on=trained_on,
    )


TARGET = {"family": "target", "env_id": "MiniGrid-DoorKey-8x8-v0", "train_success": 0.0}
SMALL = {"name": "tiny-doorkey", "size": 5, "wall": True, "door_locked": True, "key": True, "lava": 0,
         "distractors": 0, "goal": "near", "train_success": 0.95}

Rule = Callable[[list[MiniGridLevelSpec]], bool]
SITUATIONS: list[tuple[str, Feedback | None, Rule]] = [
    ("untrained", None, lambda s: any(x.size <= 6 for x in s)),
    ("stuck at key", _fb(0.1, 0.0, 0.0, [TARGET]), lambda s: any(x.size <= 6 and x.key for x in s)),
    ("stuck at door", _fb(0.95, 0.2, 0.05, [TARGET]),
     lambda s: any(x.door_locked and (x.size <= 6 or x.goal == "near") for x in s)),
    ("stuck at goal", _fb(1.0, 0.9, 0.3, [SMALL, TARGET]), lambda s: any(x.size >= 7 or x.goal == "far" for x in s)),
    ("nearly done", _fb(1.0, 1.0, 0.85, [SMALL, TARGET]), lambda s: any(x.size >= 8 and x.door_locked for x in s)),
]


def bench_model(name: str, seeds: int) -> dict[str, float]:
    client = LLMClient(make_chat_model("local", model=name), backend="local", use_cache=False)
    client.chat._load()  # model load time is not generation speed
    n = valid = sensible = 0
    for seed in range(seeds):
        for label, feedback, rule in SITUATIONS:
            proposer = Proposer(client, k=3, seed=100 + seed)
            proposal = proposer.propose(TaskSpec(), feedback)
            accepted = [s for s in proposal.env_configs if verify_env_config(s).accepted]
            ok = len(accepted) == 3 and not proposal.rejected and not proposal.errors
            good = ok and rule(accepted)
            n += 1
            valid += ok
            sensible += good
            print(f"  {name:20s} {label:14s} valid={ok!s:5s} sensible={good!s:5s} "
                  f"{[(s.size, s.door_locked, s.goal) for s in accepted]}", flush=True)
    totals = client.totals()
    gen_s = sum(c.latency_s for c in client.calls)
    return {
        "proposals": n,
        "valid_rate": valid / n,
        "valid_and_sensible_rate": sensible / n,
        "tok_per_s": totals["completion_tokens"] / max(gen_s, 1e-9),
        "s_per_proposal": gen_s / n,
        "llm_calls": totals["calls"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="qwen2.5-coder-0.5b,gemma3-270m")
    parser.add_argument("--seeds", type=int, default=1)
    args = parser.parse_args()
    results = {}
    for name in args.models.split(","):
        start = time.perf_counter()
        results[name] = bench_model(name, args.seeds)
        results[name]["wall_s"] = time.perf_counter() - start
    print(f"\n{'model':22s} {'valid':>6s} {'valid+sensible':>15s} {'tok/s':>7s} {'s/proposal':>11s} {'calls':>6s}")
    for name, r in results.items():
        print(f"{name:22s} {r['valid_rate']:6.0%} {r['valid_and_sensible_rate']:15.0%} {r['tok_per_s']:7.1f} "
              f"{r['s_per_proposal']:11.1f} {r['llm_calls']:6d}")


if __name__ == "__main__":
    main()
