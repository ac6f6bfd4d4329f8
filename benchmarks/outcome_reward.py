"""Reward-design outcome: does a designed reward make PPO learn where the sparse reward fails?

At an equal step budget and the same seeds, four ways to reward the same target:

* ``sparse``: the env's own reward;
* ``default``: the target family's hand-written dense reward (`Family.default_reward`);
* ``searched``: the best program of a `gymsmith reward` search (its search budget is counted separately);
* ``llm-reward``: the Eureka-style curriculum that evolves the reward every cycle.

Every variant trains ``--steps`` env steps on the unmodified target (cycles of ``--cycle-steps``), and the final
policy is evaluated over ``--final-episodes`` fixed seeds. Results are appended to
``benchmarks/results/reward-<target>.csv`` as each (variant, seed) pair finishes; an interrupted pair resumes
from its last committed cycle, and the search is kept in ``search.json`` once done.

    .venv/bin/python benchmarks/outcome_reward.py --target MiniGrid-DoorKey-8x8-v0 --steps 150000 --seeds 3
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path
from typing import Any

from gymsmith import api
from gymsmith.agents.executors import LocalExecutor
from gymsmith.agents.train import evaluate
from gymsmith.config import RunConfig
from gymsmith.curricula.reward_search import reward_search
from gymsmith.envs import family_for
from gymsmith.generator.reward_catalogue import default_program
from gymsmith.generator.reward_designer import RewardDesigner
from gymsmith.schemas import RewardProgram, Stat

RESULTS = Path(__file__).parent / "results"
FIELDS = ["target", "variant", "seed", "steps", "final_success", "final_episodes", "wall_s", "run_id", "reward",
          "llm_calls", "llm_tokens"]


def search(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """Run (once) the `gymsmith reward` search and keep its best program and its cost."""
    path = out / "search.json"
    if path.exists():
        return json.loads(path.read_text())
    family = family_for(args.target)
    config = RunConfig.model_validate({"task": {"target_env": args.target}, "curriculum": "llm-reward",
                                       "backend": args.backend, "seed": 0})
    designer = RewardDesigner(api.make_client(config), family=family, mode=args.mode, seed=0)
    start = time.perf_counter()
    with LocalExecutor(max_workers=args.search_parallel) as pool:
        result = reward_search(family.task(), designer, pool, n=args.search_n, iterations=args.search_iterations,
                               steps=args.search_steps, eval_episodes=args.search_episodes, n_envs=args.n_envs,
                               seed=0, baseline=False)
    best = result.best
    trained = [r for r in result.rows if r.result is not None]
    record = {
        "best": best.program.model_dump(mode="json") if best and best.program else None,
        "best_name": best.name if best else None,
        "best_search_success": best.success if best else None,
        "candidates": len(result.rows),
        "accepted": sum(r.verdict.accepted for r in result.rows),
        "trained": len(trained),
        "steps": sum(r.result.steps for r in trained if r.result),
        "llm_calls": len(result.calls),
        "llm_tokens": sum(c.prompt_tokens + c.completion_tokens for c in result.calls),
        "wall_s": round(time.perf_counter() - start, 1),
        "rows": [{"name": r.name, "accepted": r.verdict.accepted, "reason": r.verdict.reason(),
                  "success": r.success, "terms": [t.model_dump(exclude_none=True) for t in r.program.terms]
                  if r.program else []} for r in result.rows],
    }
    path.write_text(json.dumps(record, indent=1))
    return record


def _config(args: argparse.Namespace, variant: str, seed: int, runs_dir: Path, reward: RewardProgram | None
            ) -> RunConfig:
    return RunConfig.model_validate({
        "task": {"target_env": args.target},
        "curriculum": "llm-reward" if variant == "llm-reward" else "target",
        "reward": reward.model_dump(mode="json") if reward is not None else None,
        "cycles": max(1, -(-args.steps // args.cycle_steps)),
        "steps_per_cycle": args.cycle_steps,
        "n_envs": args.n_envs,
        "seed": seed,
        "device": "cpu",
        "eval_episodes": args.curve_episodes,
        "backend": args.backend,
        "reward_mode": args.mode,
        "k_levels": args.k if variant == "llm-reward" else 3,
        "runs_dir": str(runs_dir),
    })


def run_pair(args: argparse.Namespace, variant: str, seed: int, runs_dir: Path, state: dict,
             reward: RewardProgram | None) -> dict[str, Any]:
    key = f"{variant}/{seed}"
    config = _config(args, variant, seed, runs_dir, reward)
    start = time.perf_counter()
    run_id = state.get(key)
    if run_id is None:
        api.prepare(config)  # verifies the reward program before a run is stored
        store = api.open_store(runs_dir)
        run_id = store.create_run(config.model_dump(mode="json"))
        store.close()
        state[key] = run_id
        (runs_dir / "pairs.json").write_text(json.dumps(state, indent=1))
    summary = api.resume(run_id, runs_dir, config.cycles)
    store = api.open_store(runs_dir)
    last = store.cycles(summary.run_id)[-1]
    calls = store.table("llm_calls", summary.run_id)
    store.close()
    from stable_baselines3 import PPO

    model = PPO.load(last["checkpoint"], device="cpu")
    final = evaluate(model, family_for(args.target), episodes=args.final_episodes, seed=50_000)
    return {
        "target": args.target, "variant": variant, "seed": seed, "steps": last["total_steps"],
        "final_success": round(final.success_rate, 4), "final_episodes": final.episodes,
        "wall_s": round(time.perf_counter() - start, 1), "run_id": summary.run_id,
        "reward": reward.name if reward is not None else ("evolved" if variant == "llm-reward" else "env"),
        "llm_calls": len(calls), "llm_tokens": sum(c["prompt_tokens"] + c["completion_tokens"] for c in calls),
    }


def _read(path: Path) -> dict[tuple[str, int], dict[str, Any]]:
    if not path.exists():
        return {}
    with path.open() as fh:
        return {(r["variant"], int(r["seed"])): r for r in csv.DictReader(fh)}


def _write(path: Path, rows: dict[tuple[str, int], dict[str, Any]]) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows.values())
    tmp.replace(path)


def table(rows: dict[tuple[str, int], dict[str, Any]], variants: list[str], found: dict[str, Any] | None) -> str:
    lines = ["| reward | final success, mean ± std (per seed) | steps | wall min per pair | LLM calls per pair |",
             "|---|---|---|---|---|"]
    for variant in variants:
        mine = sorted((r for (v, _), r in rows.items() if v == variant), key=lambda r: int(r["seed"]))
        if not mine:
            continue
        finals = [float(r["final_success"]) for r in mine]
        stat = Stat.of(finals)
        wall = sum(float(r["wall_s"]) for r in mine) / len(mine) / 60
        calls = sum(int(r["llm_calls"]) for r in mine) / len(mine)
        lines.append(f"| `{variant}` | **{stat.mean:.2f} ± {stat.std:.2f}** ({', '.join(f'{v:.2f}' for v in finals)};"
                     f" n={len(finals)}) | {int(mine[0]['steps']) // 1000}k | {wall:.1f} | {calls:.0f} |")
    if found is not None:
        lines.append("")
        lines.append(f"Search cost (counted apart from the pairs): {found['candidates']} candidates, "
                     f"{found['accepted']} accepted by the verifier, {found['trained']} trained for "
                     f"{found['steps']:,} env steps in all, {found['llm_calls']} LLM calls "
                     f"({found['llm_tokens']:,} tokens), {found['wall_s'] / 60:.1f} min; best "
                     f"`{found['best_name']}` (search success {found['best_search_success']}).")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", default="MiniGrid-DoorKey-8x8-v0")
    parser.add_argument("--steps", type=int, default=150_000)
    parser.add_argument("--cycle-steps", type=int, default=25_000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--variants", default="sparse,default,searched,llm-reward")
    parser.add_argument("--n-envs", type=int, default=8)
    parser.add_argument("--k", type=int, default=2, help="reward candidates per cycle of llm-reward")
    parser.add_argument("--mode", default="compose", choices=["compose", "code"])
    parser.add_argument("--backend", default="local")
    parser.add_argument("--search-n", type=int, default=4)
    parser.add_argument("--search-iterations", type=int, default=2)
    parser.add_argument("--search-steps", type=int, default=30_000)
    parser.add_argument("--search-episodes", type=int, default=30)
    parser.add_argument("--search-parallel", type=int, default=1)
    parser.add_argument("--curve-episodes", type=int, default=20)
    parser.add_argument("--final-episodes", type=int, default=100)
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args()
    name = f"reward-{args.target}"
    runs_dir = RESULTS / "runs" / name
    runs_dir.mkdir(parents=True, exist_ok=True)
    csv_path = RESULTS / f"{name}.csv"
    state_file = runs_dir / "pairs.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    rows = _read(csv_path)
    variants = args.variants.split(",")
    found = json.loads((runs_dir / "search.json").read_text()) if (runs_dir / "search.json").exists() else None
    if not args.table_only:
        family = family_for(args.target)
        if "searched" in variants:
            found = search(args, runs_dir)
            print(json.dumps({k: v for k, v in found.items() if k != "rows"}), flush=True)
        rewards: dict[str, RewardProgram | None] = {
            "sparse": None,
            "default": default_program(family, name="default"),
            "searched": RewardProgram.model_validate(found["best"]) if found and found["best"] else None,
            "llm-reward": None,
        }
        for seed in range(args.seeds):
            for variant in variants:
                if (variant, seed) in rows and int(rows[(variant, seed)]["steps"]) >= args.steps:
                    continue
                if variant == "searched" and rewards["searched"] is None:
                    print("the search found no trainable program: no 'searched' pairs", flush=True)
                    continue
                row = run_pair(args, variant, seed, runs_dir, state, rewards[variant])
                rows[(variant, seed)] = row
                _write(csv_path, rows)
                print(json.dumps(row), flush=True)
    print(table(rows, variants, found))


if __name__ == "__main__":
    main()
