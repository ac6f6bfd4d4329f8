"""Crafter PPO steps/s on each device: what a GPU buys gymsmith's image agents.

gymsmith's MiniGrid agents are tiny (a CPU trains them as fast as the envs step); Crafter's 64x64x3 images
go through SB3's CnnPolicy (NatureCNN), where the PPO update is the cost a GPU removes. This trains the real
`Trainer` (SubprocVecEnv envs, PPO defaults of gymsmith) on ``gymsmith/Crafter-v0`` for a short budget per
device and prints steps/s, after one untimed warm-up rollout + update per device (CUDA context, cuDNN
autotuning and env worker start-up are one-off costs, not throughput).

Usually run through ``benchmarks/gpu_check.sh`` (see its header). Directly:

    python benchmarks/gpu_train.py --device cpu,cuda --n-envs 16 --steps 32768
    python benchmarks/gpu_train.py --device cpu --n-envs 2 --steps 512      # smoke test without a GPU
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

TARGET = "gymsmith/Crafter-v0"


def train_on(
    device: str, n_envs: int, steps: int, vec: str, threads: int | None, seed: int, policy: str = "auto"
) -> dict[str, Any]:
    """Steps/s of PPO on Crafter on one device, warm-up excluded."""
    import torch

    from gymsmith.agents.train import DEFAULT_PPO, Trainer, target_mixture

    trainer = Trainer(TARGET, n_envs=n_envs, seed=seed, device=device, vec=vec, policy=policy)
    try:
        if threads is not None:
            torch.set_num_threads(threads)
        mixture = target_mixture(TARGET)
        rollout = DEFAULT_PPO["n_steps"] * n_envs
        t0 = time.perf_counter()
        trainer.train(mixture, rollout)  # warm-up: one rollout and one update
        warmup_s = time.perf_counter() - t0
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        result, _ = trainer.train(mixture, steps)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        policy = trainer.model.policy
        return {
            "device": trainer.device,
            "steps": result.steps,
            "wall_s": result.wall_time_s,
            "steps_per_s": result.steps_per_s,
            "warmup_s": warmup_s,
            "torch_threads": torch.get_num_threads(),
            "policy": type(policy).__name__,
            "extractor": type(policy.features_extractor).__name__,
            "params": sum(p.numel() for p in policy.parameters()),
        }
    finally:
        trainer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu,cuda", help="comma-separated: cpu, cuda, cuda:N, auto")
    parser.add_argument("--n-envs", type=int, default=16)
    parser.add_argument("--steps", type=int, default=32768, help="timed steps per device (after warm-up)")
    parser.add_argument("--vec", choices=("subproc", "dummy"), default="subproc")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: the Trainer's choice)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--policy", default="auto", help="image encoder: auto (NatureCNN), nature-cnn, impala")
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args()

    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    print(
        f"torch {torch.__version__}, CUDA available: {torch.cuda.is_available()} ({gpu}); "
        f"{os.cpu_count()} CPU cores; python {platform.python_version()}"
    )
    print(f"Crafter PPO ({args.policy} encoder), {args.n_envs} envs ({args.vec}), {args.steps} timed steps per device")
    results = []
    for device in [d.strip() for d in args.device.split(",") if d.strip()]:
        r = train_on(device, args.n_envs, args.steps, args.vec, args.threads, args.seed, args.policy)
        results.append(r)
        print(
            f"  {r['device']:8s} {r['steps_per_s']:8.0f} steps/s  ({r['steps']} steps in {r['wall_s']:.1f} s; "
            f"warm-up {r['warmup_s']:.1f} s; {r['policy']}/{r['extractor']}, {r['params']:,} params, "
            f"{r['torch_threads']} torch threads)",
            flush=True,
        )
    by_device = {r["device"].split(":")[0]: r["steps_per_s"] for r in results}
    if "cpu" in by_device and "cuda" in by_device:
        print(f"cuda / cpu: {by_device['cuda'] / by_device['cpu']:.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps({"gpu": gpu, "torch": torch.__version__, "results": results}, indent=1))


if __name__ == "__main__":
    main()
