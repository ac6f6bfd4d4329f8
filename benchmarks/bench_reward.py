"""Cost of the reward-program sandbox: verification time, training throughput, and the hostile corpus.

Prints (a) median verification time of one candidate (goal <= 1 s), (b) env steps/s with a verified composed
reward vs without it in a confined subprocess worker (``vec: subproc``; goal >= 0.90x), (c) hostile-corpus
rejection rate (goal 100 %) and benign false rejections (goal 0), (d) the same for the trainer's default
``vec: dummy``, where the reward runs in a Sandbox worker (goal >= 0.90x).
Run: ``python benchmarks/bench_reward.py [--steps N] [--rounds R]``.

Throughput is measured where training runs the reward: (b) inside an env worker process that confined itself
(seccomp, network namespace, rlimits), the program called in-process; (d) DummyVecEnv in this process and one
round trip per vectorised step to the worker. Rounds alternate between the two arms on the same action sequence;
the median of the paired ratios is the figure (best rounds and CPU-time figures are printed too, CPU time being
less sensitive to neighbours). The per-step sandbox runner is timed as well, for reference.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import re
import statistics
import time
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "sandbox_corpus"


def _program() -> Any:
    from gymsmith.envs import family_for
    from gymsmith.generator.reward_catalogue import default_program
    from gymsmith.schemas import DEFAULT_TARGET

    return default_program(family_for(DEFAULT_TARGET))


def bench_verification(repeats: int = 9) -> dict[str, float]:
    """Median wall time to verify one candidate, fixtures and sandbox warm (their one-off costs reported apart)."""
    from gymsmith.envs import family_for
    from gymsmith.generator.verify_reward import reward_fixtures, shared_sandbox, verify_reward_program
    from gymsmith.schemas import DEFAULT_TARGET

    t0 = time.perf_counter()
    fixtures = reward_fixtures(family_for(DEFAULT_TARGET))
    fixtures_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    shared_sandbox().start()
    start_s = time.perf_counter() - t0
    program = _program()
    times = []
    for _ in range(repeats):
        verdict = verify_reward_program(program, fixtures)
        assert verdict.accepted, verdict.reason()
        times.append(verdict.cost_s)
    benign = [verify_reward_program(p.read_text(), fixtures).cost_s for p in sorted((CORPUS / "benign").glob("*.py"))]
    return {
        "fixtures_s": fixtures_s,
        "sandbox_start_s": start_s,
        "median_s": statistics.median(times),
        "max_s": max(times),
        "benign_median_s": statistics.median(benign) if benign else float("nan"),
    }


def _wrapper_overhead_us(program: Any, n: int = 20000) -> float:
    """Microseconds the wrapper adds per step, measured against a zero-cost env replaying one real step."""
    import gymnasium as gym

    from gymsmith.envs import make_env
    from gymsmith.envs.reward_wrapper import GeneratedReward
    from gymsmith.schemas import TargetEnv

    real = make_env(TargetEnv())
    _, first = real.reset(seed=0)
    step = real.step(2)

    class Replay(gym.Env):
        observation_space, action_space = real.observation_space, real.action_space

        def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
            return None, {"features": first["features"], "events": []}

        def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
            return None, 0.0, False, False, {"features": step[4]["features"], "events": []}

    bare, wrapped = Replay(), GeneratedReward(Replay(), program)
    best = {}
    for env in (bare, wrapped, bare, wrapped):
        env.reset()
        t0 = time.perf_counter()
        for _ in range(n):
            env.step(2)
        best[env] = min(best.get(env, float("inf")), (time.perf_counter() - t0) / n * 1e6)
    return best[wrapped] - best[bare]


def _throughput_child(queue: Any, steps: int, rounds: int, seed: int) -> None:
    try:
        from gymsmith.envs import make_env
        from gymsmith.envs.reward_wrapper import GeneratedReward
        from gymsmith.sandbox import confine_current_process
        from gymsmith.schemas import TargetEnv

        program = _program()
        plain = make_env(TargetEnv())
        rewarded = GeneratedReward(make_env(TargetEnv()), program)
        report = confine_current_process()
        rng = random.Random(seed)
        actions = [rng.randrange(7) for _ in range(steps)]

        def run(env: Any) -> tuple[float, float]:
            env.reset(seed=seed)
            w0, c0 = time.perf_counter(), time.process_time()
            for action in actions:
                _, _, terminated, truncated, _ = env.step(action)
                if terminated or truncated:
                    env.reset()
            return time.perf_counter() - w0, time.process_time() - c0

        run(plain), run(rewarded)  # warm-up
        walls: dict[str, list[float]] = {"plain": [], "rewarded": []}
        cpus: dict[str, list[float]] = {"plain": [], "rewarded": []}
        arms = [("plain", plain), ("rewarded", rewarded)]
        for i in range(rounds):
            for name, env in arms if i % 2 == 0 else arms[::-1]:  # alternate the order to cancel drift
                wall, cpu = run(env)
                walls[name].append(wall)
                cpus[name].append(cpu)
        paired = [p / r for p, r in zip(walls["plain"], walls["rewarded"], strict=True)]
        queue.put(
            {
                "runner": rewarded.runner_kind,
                "confinement": report,
                "plain_sps": steps / min(walls["plain"]),
                "rewarded_sps": steps / min(walls["rewarded"]),
                "paired_ratio": statistics.median(paired),
                "cpu_ratio": sum(cpus["plain"]) / sum(cpus["rewarded"]),
                "total_ratio": sum(walls["plain"]) / sum(walls["rewarded"]),
                "overhead_us": _wrapper_overhead_us(program),
                "episodes_logged": len(rewarded.episodes.log),
            }
        )
    except Exception as exc:  # reported to the parent, which prints it
        queue.put({"error": repr(exc)})


def bench_throughput(steps: int = 500, rounds: int = 16, seed: int = 0) -> dict[str, Any]:
    """Steps/s of the target env with and without the verified composed reward, in a confined worker."""
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_throughput_child, args=(queue, steps, rounds, seed))
    proc.start()
    result = queue.get(timeout=600)
    proc.join(timeout=30)
    if "error" in result:
        raise RuntimeError(result["error"])
    result["best_ratio"] = result["rewarded_sps"] / result["plain_sps"]
    return result


def bench_sandbox_runner(steps: int = 600, seed: int = 0) -> dict[str, float]:
    """Reference: the one-row-per-step sandbox runner an unconfined process gets, and a 64-row batch call."""
    from gymsmith.envs import family_for, make_env
    from gymsmith.envs.reward_wrapper import GeneratedReward
    from gymsmith.generator.verify_reward import reward_fixtures
    from gymsmith.sandbox import Sandbox
    from gymsmith.schemas import DEFAULT_TARGET, TargetEnv

    program = _program()
    plain = make_env(TargetEnv())
    rewarded = GeneratedReward(make_env(TargetEnv()), program, runner="sandbox")
    rng = random.Random(seed)
    actions = [rng.randrange(7) for _ in range(steps)]
    best: dict[str, float] = {}
    for _ in range(3):
        for name, env in (("plain", plain), ("sandbox", rewarded)):
            env.reset(seed=seed)
            t0 = time.perf_counter()
            for action in actions:
                _, _, terminated, truncated, _ = env.step(action)
                if terminated or truncated:
                    env.reset()
            best[name] = min(best.get(name, float("inf")), time.perf_counter() - t0)
    rows = reward_fixtures(family_for(DEFAULT_TARGET)).encoded_transitions[:64]
    with Sandbox() as box:
        box.load(program.source)
        for _ in range(20):
            box.call_arrays(rows, encoded=True)
        t0 = time.perf_counter()
        n = 200
        for _ in range(n):
            box.call_arrays(rows, encoded=True)
        batch_us = (time.perf_counter() - t0) / n * 1e6
        box.load("def reward(obs, action, next_obs, info, state):\n    return 0.0, {}\n")
        t0 = time.perf_counter()
        for _ in range(n):
            box.call_arrays(rows[:1], encoded=True)
        ping_us = (time.perf_counter() - t0) / n * 1e6
    return {
        "plain_sps": steps / best["plain"],
        "sandbox_sps": steps / best["sandbox"],
        "ratio": best["plain"] / best["sandbox"],
        "batch64_us": batch_us,
        "roundtrip_us": ping_us,
    }


def bench_batched_vec(n_envs: int = 8, steps: int = 100, rounds: int = 16, seed: int = 0) -> dict[str, Any]:
    """The trainer's default ``vec: dummy``: DummyVecEnv in this process, the verified reward in a Sandbox worker.

    GeneratedRewardVecEnv sends every sub-env's transition of a vectorised step in one round trip. Compared with the
    same DummyVecEnv without a reward, on the same actions, in rounds that alternate the order; the CPU-time ratio
    counts the worker's CPU too (the program never runs in this process).
    """
    import numpy as np
    from stable_baselines3.common.vec_env import DummyVecEnv

    from gymsmith.envs import make_env
    from gymsmith.envs.reward_wrapper import GeneratedRewardVecEnv
    from gymsmith.schemas import TargetEnv

    program = _program()
    plain = DummyVecEnv([lambda: make_env(TargetEnv()) for _ in range(n_envs)])
    rewarded = GeneratedRewardVecEnv(
        DummyVecEnv([lambda: make_env(TargetEnv()) for _ in range(n_envs)]), program
    )
    actions = np.random.default_rng(seed).integers(0, 7, size=(steps, n_envs))

    def run(venv: Any) -> tuple[float, float]:
        venv.seed(seed)
        venv.reset()
        worker0 = rewarded._box.cpu_seconds if venv is rewarded else 0.0
        w0, c0 = time.perf_counter(), time.process_time()
        for action in actions:
            venv.step(action)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        return wall, cpu + (max(rewarded._box.cpu_seconds - worker0, 0.0) if venv is rewarded else 0.0)

    run(plain), run(rewarded)  # warm-up
    paired, walls, cpus = [], {"plain": 0.0, "rewarded": 0.0}, {"plain": 0.0, "rewarded": 0.0}
    load = os.getloadavg()[0]
    for i in range(rounds):
        arms = [("plain", plain), ("rewarded", rewarded)]
        result = {name: run(venv) for name, venv in (arms if i % 2 == 0 else arms[::-1])}
        paired.append(result["plain"][0] / result["rewarded"][0])
        for name, (wall, cpu) in result.items():
            walls[name] += wall
            cpus[name] += cpu
    rewarded.close()
    plain.close()
    return {
        "n_envs": n_envs,
        "paired_ratio": statistics.median(paired),
        "cpu_ratio": cpus["plain"] / cpus["rewarded"],
        "step_us": walls["plain"] / (rounds * steps) * 1e6,
        "overhead_us": (walls["rewarded"] - walls["plain"]) / (rounds * steps) * 1e6,
        "load": (load + os.getloadavg()[0]) / 2,
    }


def bench_corpus() -> dict[str, Any]:
    """Every hostile program must be rejected (at its expected layer); every benign one accepted."""
    from gymsmith.envs import family_for
    from gymsmith.generator.verify_reward import reward_fixtures, verify_reward_program
    from gymsmith.schemas import DEFAULT_TARGET

    fixtures = reward_fixtures(family_for(DEFAULT_TARGET))
    hostile = sorted(CORPUS.glob("*.py"))
    benign = sorted((CORPUS / "benign").glob("*.py"))
    rejected = at_layer = 0
    by_layer: dict[str, int] = {}
    escaped: list[str] = []
    for path in hostile:
        text = path.read_text()
        expected = re.search(r"^# expect: (\w+)", text, re.M).group(1)  # type: ignore[union-attr]
        verdict = verify_reward_program(text, fixtures)
        if verdict.accepted:
            escaped.append(path.stem)
            continue
        rejected += 1
        layer = verdict.rejections[0].layer
        by_layer[layer] = by_layer.get(layer, 0) + 1
        at_layer += layer == expected
    false_rejections = [p.stem for p in benign if not verify_reward_program(p.read_text(), fixtures).accepted]
    return {
        "hostile": len(hostile),
        "rejected": rejected,
        "at_expected_layer": at_layer,
        "by_layer": by_layer,
        "escaped": escaped,
        "benign": len(benign),
        "false_rejections": false_rejections,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500, help="steps per round and arm")
    parser.add_argument("--rounds", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=9, help="verifications for the median")
    parser.add_argument("--only", default="abcd", help="the figures to measure, e.g. --only bd")
    args = parser.parse_args()

    from gymsmith.sandbox import sandbox_layers

    layers = sandbox_layers()
    active = [k for k, v in layers.items() if v is True]
    print(f"sandbox launcher: {layers['launcher']}; active: {', '.join(active)}; load {os.getloadavg()[0]:.1f}")

    if "a" in args.only:
        v = bench_verification(args.repeats)
        print(
            f"(a) verification of one candidate: median {v['median_s'] * 1000:.0f} ms, max {v['max_s'] * 1000:.0f} "
            f"ms (benign corpus median {v['benign_median_s'] * 1000:.0f} ms; one-off: fixtures {v['fixtures_s']:.2f} "
            f"s, sandbox start {v['sandbox_start_s'] * 1000:.0f} ms)  "
            f"goal <= 1 s: {'OK' if v['median_s'] <= 1 else 'MISSED'}"
        )

    if "b" in args.only:
        t = bench_throughput(args.steps, args.rounds)
        step_us = 1e6 / t["plain_sps"]
        print(
            f"(b) MiniGrid-DoorKey-8x8 steps/s in a confined worker, runner={t['runner']}: best round without "
            f"{t['plain_sps']:.0f}, with the verified composed reward {t['rewarded_sps']:.0f}; ratio "
            f"{t['paired_ratio']:.3f}x (median of {args.rounds} paired rounds; best-round {t['best_ratio']:.3f}x, "
            f"CPU time {t['cpu_ratio']:.3f}x, all rounds {t['total_ratio']:.3f}x)  "
            f"goal >= 0.90x: {'OK' if t['paired_ratio'] >= 0.90 else 'MISSED'}"
        )
        print(
            f"    wrapper + program cost {t['overhead_us']:.1f} µs per step against a {step_us:.0f} µs env step "
            f"(-> {step_us / (step_us + t['overhead_us']):.3f}x expected)"
        )
        s = bench_sandbox_runner()
        print(
            f"    reference, unconfined process with the per-step sandbox runner: {s['sandbox_sps']:.0f} vs "
            f"{s['plain_sps']:.0f} steps/s -> {s['ratio']:.2f}x; pipe round trip {s['roundtrip_us']:.0f} µs, "
            f"64-row batch of the composed reward {s['batch64_us']:.0f} µs"
        )

    if "c" in args.only:
        c = bench_corpus()
        rate = 100.0 * c["rejected"] / max(c["hostile"], 1)
        print(
            f"(c) hostile corpus: {c['rejected']}/{c['hostile']} rejected ({rate:.0f} %), {c['at_expected_layer']} at "
            f"the expected layer, by layer {c['by_layer']}; benign false rejections: {len(c['false_rejections'])}/"
            f"{c['benign']}  goal 100 % / 0: {'OK' if rate == 100 and not c['false_rejections'] else 'MISSED'}"
        )
        if c["escaped"] or c["false_rejections"]:
            print(f"    escaped: {c['escaped']}  falsely rejected: {c['false_rejections']}")

    if "d" in args.only:
        b = bench_batched_vec(rounds=args.rounds)
        print(
            f"(d) the trainer's default vec: dummy, DummyVecEnv({b['n_envs']}) with GeneratedRewardVecEnv (the "
            f"reward in a Sandbox worker, one round trip per vectorised step): {b['paired_ratio']:.3f}x (median of "
            f"{args.rounds} paired rounds; CPU time incl. the worker {b['cpu_ratio']:.3f}x; {b['overhead_us']:.0f} "
            f"µs per vectorised step against {b['step_us']:.0f} µs; load {b['load']:.1f})  "
            f"goal >= 0.90x: {'OK' if b['paired_ratio'] >= 0.90 else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
