"""Where gymsmith's time goes, and whether scaling out pays: one run prints every figure with its command.

Sections (``--only env,ppo,exec,llm``; all by default):

* ``env``  — MiniGrid DoorKey-8x8 steps/s as gymsmith wraps it, random actions, raw vs under the reward wrapper
  running a verified composed reward (in a confined env worker, as in training). Goal: wrapper >= 0.90x raw.
* ``ppo``  — SB3 PPO steps/s, plain SB3 (``bench_loop.plain_target`` where benchmarks/bench_loop.py exists)
  vs inside ``gymsmith.run`` (curriculum ``target``; same policy, PPO settings, envs, torch threads and steps),
  construction included, the loop's evaluation on the target timed apart (plain PPO does not evaluate).
  Goal: loop >= 0.90x plain.
* ``exec`` — wall time of N=2 candidate trainings: serial in-process vs the ``local`` executor vs the ``ray``
  executor on a local Ray instance (``ray.init(num_cpus=2)``). Every candidate is single-threaded (DummyVecEnv,
  one torch thread), so two of them can use two cores. Goal: parallel >= 1.6x faster than serial.
* ``llm``  — completion tokens/s of the local llama.cpp backend (default model), one short grammar-constrained
  proposal, model load excluded.

Run: ``.venv/bin/python benchmarks/bench_scale.py`` (about 6-10 minutes on 2 cores). Arms alternate within
each round and medians are reported, because the CPUs may be shared; the load average is printed with each
section so that a reader can judge how disturbed a figure was.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

SCRIPT = "benchmarks/bench_scale.py"
TARGET = "MiniGrid-DoorKey-8x8-v0"


def load() -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "load n/a"
    return f"load avg {one:.1f}/{five:.1f} (1/5 min) on {os.cpu_count()} cores"


def cpu_times() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, to show how much CPU was left idle during an arm."""
    try:
        fields = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0.0, 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
    return sum(fields) - idle, sum(fields)


def idle_share(before: tuple[float, float], after: tuple[float, float]) -> float:
    total = after[1] - before[1]
    return 1.0 - (after[0] - before[0]) / total if total > 0 else float("nan")


def command(only: str, **flags: Any) -> str:
    parts = [".venv/bin/python", SCRIPT, "--only", only]
    for key, value in flags.items():
        parts += [f"--{key.replace('_', '-')}", str(value)]
    return shlex.join(parts)


def verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


# ------------------------------------------------------------------------------------------------ env


def bench_env(steps: int, rounds: int) -> None:
    import bench_reward  # the same confined-worker measurement bench_reward.py prints as (b)

    print(f"\n== env: MiniGrid DoorKey-8x8 as gymsmith wraps it, random actions [{load()}]")
    t = bench_reward.bench_throughput(steps=steps, rounds=rounds)
    cmd = command("env", env_steps=steps, env_rounds=rounds)
    print(f"raw env steps/s (confined env worker, best of {rounds} rounds): {t['plain_sps']:.0f}   [{cmd}]")
    print(
        f"env steps/s under the reward wrapper (verified composed reward, runner={t['runner']}): "
        f"{t['rewarded_sps']:.0f}; ratio {t['paired_ratio']:.3f}x (median of {rounds} paired rounds; CPU-time "
        f"ratio {t['cpu_ratio']:.3f}x)  goal >= 0.90x: {verdict(t['paired_ratio'] >= 0.90)}   [{cmd}]"
    )


# ------------------------------------------------------------------------------------------------ ppo


class _TimingHooks:
    """Loop hooks that time the training phase of every cycle."""

    def __init__(self) -> None:
        self.train_s = 0.0
        self._t0 = 0.0

    def attach(self, loop: Any) -> None:
        pass

    def cycle_started(self, cycle: int, total: int) -> None:
        pass

    def mixture_chosen(self, cycle: int, mixture: Any, strategy: Any) -> None:
        pass

    def training_started(self, cycle: int, steps: int) -> None:
        self._t0 = time.perf_counter()

    def train_progress(self, steps: int) -> None:
        pass

    def evaluation_started(self, cycle: int, episodes: int) -> None:
        self.train_s += time.perf_counter() - self._t0

    def cycle_finished(self, cycle: int, outcome: Any, record: Any) -> None:
        pass


def _ppo_plain_own(steps: int, n_envs: int, seed: int) -> dict[str, float]:
    """Fallback when benchmarks/bench_loop.py is absent: SB3 PPO on the wrapped target, nothing else."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv

    from gymsmith.agents.policies import policy_for
    from gymsmith.agents.train import DEFAULT_PPO, configure_threads
    from gymsmith.envs.mixture import make_source_env
    from gymsmith.schemas import TargetEnv

    configure_threads(1)  # what Trainer(vec="dummy") does
    start = time.perf_counter()
    venv = DummyVecEnv([lambda: make_source_env(TargetEnv(env_id=TARGET)) for _ in range(n_envs)])
    policy, policy_kwargs = policy_for(venv.observation_space)
    model = PPO(policy, venv, policy_kwargs=policy_kwargs, seed=seed, device="cpu", verbose=0, **DEFAULT_PPO)
    model.learn(total_timesteps=steps)
    wall = time.perf_counter() - start
    venv.close()
    return {"steps": float(model.num_timesteps), "wall_s": wall}


def _ppo_loop(steps: int, n_envs: int, seed: int, cycles: int, eval_episodes: int, runs_dir: str) -> dict[str, float]:
    """``gymsmith.run`` with the target curriculum; evaluation (which plain PPO does not do) timed apart."""
    from bench_loop import timed_evaluation

    import gymsmith

    config = gymsmith.RunConfig(
        curriculum="target",
        cycles=cycles,
        steps_per_cycle=steps // cycles,
        n_envs=n_envs,
        seed=seed,
        device="cpu",
        vec="dummy",
        eval_episodes=eval_episodes,
        runs_dir=runs_dir,
    )
    hooks = _TimingHooks()
    with timed_evaluation() as eval_s:
        start = time.perf_counter()
        summary = gymsmith.run(config, hooks=hooks)
        wall = time.perf_counter() - start
    steps_done = float(summary.cycles[-1]["total_steps"])
    return {"steps": steps_done, "wall_s": wall, "eval_s": eval_s[0], "train_s": hooks.train_s}


def _pin_torch_threads(threads: int) -> None:
    """Both arms call ``configure_threads`` (plain via bench_loop, the loop via Trainer): make it pin ``threads``.

    On a CPU shared with other jobs, torch's OpenMP threads spin-wait on each other and a small op can take
    milliseconds (seen here: orthogonal init 6 s per QR); one thread per arm keeps the comparison about the loop.
    """
    import torch

    from gymsmith.agents import train as train_module

    os.environ["GYMSMITH_TORCH_THREADS"] = str(threads)  # read by configure_threads where supported

    def pinned(n_envs_processes: int = 1) -> None:
        torch.set_num_threads(threads)

    train_module.configure_threads = pinned  # type: ignore[assignment]  # and where it is not
    torch.set_num_threads(threads)


def bench_ppo(steps: int, n_envs: int, cycles: int, rounds: int, eval_episodes: int, threads: int) -> None:
    print(
        f"\n== ppo: SB3 PPO on DoorKey-8x8, {n_envs} envs (DummyVecEnv), {steps} steps per arm, "
        f"{threads or 'default'} torch thread(s) [{load()}]"
    )
    if threads:
        _pin_torch_threads(threads)
    try:
        import bench_loop

        def plain(seed: int) -> dict[str, float]:
            return bench_loop.plain_target(TARGET, steps, n_envs, seed, "cpu")

        bench_loop.warm_imports()
        baseline = "bench_loop.plain_target: PPO on ImgObsWrapper(gym.make(target)), construct + learn"
    except ImportError:
        plain = partial(_ppo_plain_own, steps, n_envs)
        baseline = "PPO on the env as gymsmith wraps it, construct + learn"
    import torch._dynamo  # noqa: F401  (torch's optimisers import it lazily: a one-off cost, not throughput)

    rates: dict[str, list[float]] = {"plain": [], "loop": [], "loop_train": [], "loop_eval": []}
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as runs_dir:
        for i in range(rounds):
            for arm in ("plain", "loop") if i % 2 == 0 else ("loop", "plain"):
                if arm == "plain":
                    r = plain(i)
                    rates["plain"].append(r["steps"] / r["wall_s"])
                else:
                    r = _ppo_loop(steps, n_envs, i, cycles, eval_episodes, runs_dir)
                    rates["loop"].append(r["steps"] / (r["wall_s"] - r["eval_s"]))
                    rates["loop_train"].append(r["steps"] / r["train_s"])
                    rates["loop_eval"].append(r["steps"] / r["wall_s"])
            print(
                f"  round {i + 1}: plain {rates['plain'][-1]:.0f} steps/s, loop {rates['loop'][-1]:.0f} steps/s "
                f"without evaluation ({rates['loop_train'][-1]:.0f} training phases only, "
                f"{rates['loop_eval'][-1]:.0f} with evaluation)  [{load()}]",
                flush=True,
            )
    med = {k: statistics.median(v) for k, v in rates.items()}
    ratio = statistics.median(b / a for a, b in zip(rates["plain"], rates["loop"], strict=True))
    cmd = command(
        "ppo",
        ppo_steps=steps,
        n_envs=n_envs,
        cycles=cycles,
        rounds=rounds,
        eval_episodes=eval_episodes,
        torch_threads=threads,
    )
    print(f"SB3 PPO plain ({baseline}): {med['plain']:.0f} steps/s (median of {rounds})   [{cmd}]")
    print(
        f"SB3 PPO inside gymsmith.run (curriculum target, {cycles} cycles; setup, store, checkpoints included, "
        f"evaluation excluded): {med['loop']:.0f} steps/s (training phases alone {med['loop_train']:.0f}, with "
        f"{eval_episodes} eval episode(s) per cycle {med['loop_eval']:.0f}); ratio {ratio:.3f}x (median of paired "
        f"rounds)  goal >= 0.90x: {verdict(ratio >= 0.90)}   [{cmd}]"
    )


# ----------------------------------------------------------------------------------------------- exec


def _candidates(n: int, steps: int, n_envs: int) -> list[Any]:
    from gymsmith.schemas import CandidateSpec

    return [
        CandidateSpec(name=f"c{i}", target_env=TARGET, steps=steps, n_envs=n_envs, seed=i, eval_episodes=2)
        for i in range(n)
    ]


def _warmup_candidates(n: int) -> list[Any]:
    from gymsmith.schemas import CandidateSpec

    ppo = {"n_steps": 32, "batch_size": 64, "n_epochs": 1}
    return [CandidateSpec(name=f"w{i}", steps=64, n_envs=2, eval_episodes=1, ppo=ppo) for i in range(n)]


def _check(results: list[Any]) -> None:
    failed = [r.failed for r in results if r.failed]
    if failed:
        raise RuntimeError(f"candidate training failed: {failed}")


def bench_exec(n: int, steps: int, n_envs: int, rounds: int) -> None:
    import ray

    from gymsmith.agents.candidates import set_worker_threads, train_candidate
    from gymsmith.agents.executors import LocalExecutor, RayExecutor

    print(f"\n== exec: {n} candidate trainings of {steps} steps, {n_envs} envs each, one core each [{load()}]")
    specs = _candidates(n, steps, n_envs)
    t0 = time.perf_counter()
    local = LocalExecutor(max_workers=n, cpus_per_job=1)
    _check(local.map(_warmup_candidates(n)))
    local_start = time.perf_counter() - t0
    t0 = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    remote = RayExecutor(address=None, cpus_per_job=1)
    _check(remote.map(_warmup_candidates(n)))
    ray_start = time.perf_counter() - t0
    print(
        f"  one-off start costs (excluded below): local forkserver + first jobs {local_start:.1f} s, "
        f"ray.init(num_cpus=2) + first tasks {ray_start:.1f} s"
    )
    set_worker_threads(1)
    times: dict[str, list[float]] = {"serial": [], "local": [], "ray": []}
    idle: dict[str, list[float]] = {"serial": [], "local": [], "ray": []}

    def serial() -> None:
        for spec in specs:
            result = train_candidate(spec, vec="dummy", threads=1)
            _check([result])

    arms = {"serial": serial, "local": lambda: _check(local.map(specs)), "ray": lambda: _check(remote.map(specs))}
    order = list(arms)
    try:
        for i in range(rounds):
            for name in order if i % 2 == 0 else order[::-1]:
                t0, c0 = time.perf_counter(), cpu_times()
                arms[name]()
                times[name].append(time.perf_counter() - t0)
                idle[name].append(idle_share(c0, cpu_times()))
            print(
                f"  round {i + 1}: "
                + ", ".join(f"{k} {v[-1]:.1f} s (machine {idle[k][-1]:.0%} idle)" for k, v in times.items())
                + f"  [{load()}]",
                flush=True,
            )
    finally:
        ray.shutdown()
    cmd = command("exec", n=n, exec_steps=steps, exec_envs=n_envs, exec_rounds=rounds)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"serial (in-process, one after the other): {med['serial']:.1f} s wall (median of {rounds})   [{cmd}]")
    if statistics.median(idle["serial"]) < 0.25:
        print(
            "  note: the machine had little idle CPU even during the serial arm: other processes hold the second "
            "core, so a parallel speedup cannot show (with sched_autogroup a session's jobs share one CPU share)"
        )
    for name in ("local", "ray"):
        speedup = med["serial"] / med[name]
        print(
            f"{name} executor, {n} in parallel: {med[name]:.1f} s wall -> {speedup:.2f}x serial  goal >= 1.6x: "
            f"{verdict(speedup >= 1.6)}   [{cmd}]"
        )


# ------------------------------------------------------------------------------------------------ llm


def bench_llm(max_tokens: int, threads: int | None) -> None:
    from gymsmith.generator.llm import DEFAULT_LOCAL_MODEL, LLMClient, make_chat_model
    from gymsmith.generator.proposer import Proposer
    from gymsmith.schemas import TaskSpec

    print(f"\n== llm: local llama.cpp backend, {DEFAULT_LOCAL_MODEL}, one grammar-constrained proposal [{load()}]")
    chat = make_chat_model("local")
    if threads is not None:
        chat.n_threads = threads  # type: ignore[attr-defined]
    client = LLMClient(chat, backend="local", use_cache=False)
    t0 = time.perf_counter()
    client.chat._load()
    load_s = time.perf_counter() - t0
    proposal = Proposer(client, k=1, max_tokens=max_tokens, seed=0).propose(TaskSpec())
    calls = [c for c in proposal.llm_calls if not c.cached]
    tokens = sum(c.completion_tokens for c in calls)
    latency = sum(c.latency_s for c in calls)
    prompt = sum(c.prompt_tokens for c in calls)
    flags: dict[str, Any] = {"llm_max_tokens": max_tokens}
    if threads is not None:
        flags["llm_threads"] = threads
    cmd = command("llm", **flags)
    print(
        f"LLM {DEFAULT_LOCAL_MODEL}: {tokens} completion tokens in {latency:.2f} s = {tokens / max(latency, 1e-9):.1f} "
        f"tokens/s (prompt {prompt} tokens, prefill included in the latency; {len(calls)} call(s); model load "
        f"{load_s:.1f} s excluded; {chat.n_threads or os.cpu_count()} threads; valid specs: "  # type: ignore[attr-defined]
        f"{len(proposal.env_configs)})   [{cmd}]"
    )


# ----------------------------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="env,ppo,exec,llm", help="comma-separated sections")
    parser.add_argument("--env-steps", type=int, default=500)
    parser.add_argument("--env-rounds", type=int, default=16)
    parser.add_argument("--ppo-steps", type=int, default=8192)
    parser.add_argument("--n-envs", type=int, default=8)
    parser.add_argument("--cycles", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="paired rounds of the ppo section")
    parser.add_argument("--eval-episodes", type=int, default=1, help="per cycle in the loop (timed apart)")
    parser.add_argument("--torch-threads", type=int, default=1, help="ppo section; 0 = what Trainer picks")
    parser.add_argument("--n", type=int, default=2, help="candidates in the exec section")
    parser.add_argument("--exec-steps", type=int, default=8192)
    parser.add_argument("--exec-envs", type=int, default=4)
    parser.add_argument("--exec-rounds", type=int, default=2)
    parser.add_argument("--llm-max-tokens", type=int, default=300)
    parser.add_argument("--llm-threads", type=int, default=None, help="llama.cpp threads (default: all cores)")
    args = parser.parse_args()
    sections = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = sections - {"env", "ppo", "exec", "llm"}
    if unknown:
        parser.error(f"unknown sections: {sorted(unknown)}")
    print(f"gymsmith scale benchmark; {load()}; python {sys.version.split()[0]}")
    if "env" in sections:
        bench_env(args.env_steps, args.env_rounds)
    if "ppo" in sections:
        bench_ppo(args.ppo_steps, args.n_envs, args.cycles, args.rounds, args.eval_episodes, args.torch_threads)
    if "exec" in sections:
        bench_exec(args.n, args.exec_steps, args.exec_envs, args.exec_rounds)
    if "llm" in sections:
        bench_llm(args.llm_max_tokens, args.llm_threads)


if __name__ == "__main__":
    main()
