"""Learning-outcome benchmark: does a curriculum make PPO learn the target within a fixed step budget?

Every (curriculum, seed) pair gets the same PPO settings and the same number of env steps (steps in generated
envs count), then the final policy is evaluated on the unmodified target over fixed seeds. Results are appended
to ``benchmarks/results/<target>.csv`` as each pair finishes, so an interrupted benchmark resumes where it
stopped (an unfinished run is resumed from its last committed cycle).

    .venv/bin/python benchmarks/outcome.py --target MiniGrid-DoorKey-8x8-v0 --steps 300000 --seeds 3 \
        --curricula target,dr,plr,llm
    .venv/bin/python benchmarks/outcome.py --target crafter --steps 200000 --cycle-steps 25000 --seeds 2 \
        --curricula target,dr,llm --generated-cycles 4 --curve-episodes 20 --final-episodes 50

On a target whose family has another headline metric (Crafter: the Crafter score) the table, curves and CSV
report that metric, plus each skill's final success. ``benchmarks/gpu_crafter.sh`` runs EnvGen's budget.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

from gymsmith import api
from gymsmith.agents.train import evaluate
from gymsmith.api import open_store
from gymsmith.config import RunConfig
from gymsmith.curricula.report import headline
from gymsmith.curricula.strategies import CURRICULA
from gymsmith.envs import family_for
from gymsmith.schemas import Stat

RESULTS = Path(__file__).parent / "results"
FIELDS = ["target", "curriculum", "seed", "steps", "final_success", "final_episodes", "wall_s", "run_id",
          "llm_calls", "llm_tokens", "metric", "final_score", "final_skills"]


def _results_name(target: str, tag: str) -> str:
    """Stem shared by a tag's CSV, PNG and runs directory."""
    return target + (f"-{tag}" if tag else "")


def _rows(csv_path: Path) -> dict[tuple[str, int], dict]:
    if not csv_path.exists():
        return {}
    with csv_path.open() as fh:
        return {(row["curriculum"], int(row["seed"])): row for row in csv.DictReader(fh)}


def _write_rows(csv_path: Path, rows: dict[tuple[str, int], dict]) -> None:
    """Rewrite the whole file (via a temporary) so an extended pair replaces its shorter row."""
    tmp = csv_path.with_suffix(".tmp")
    with tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows.values())
    tmp.replace(csv_path)


def run_pair(
    args: argparse.Namespace, curriculum: str, seed: int, runs_dir: Path, state: dict, earlier_wall_s: float = 0.0
) -> dict:
    """Run one pair to the budget; a pair finished at a smaller budget is extended (its run resumes with more
    cycles) rather than restarted, so raising ``--steps`` reuses the steps already trained."""
    key = f"{curriculum}/{seed}"
    cycles = max(1, -(-args.steps // args.cycle_steps))
    reads = CURRICULA.get(curriculum).reads  # a strategy setting given to a curriculum that ignores it is an error
    llm: dict = {"mixture": args.llm_mixture}
    if args.generated_cycles is not None:
        llm["generated_cycles"] = args.generated_cycles
    strategy = {"target_ratio": args.target_ratio, "k_levels": args.k, "llm": llm}
    if args.cover_skills:
        strategy["pace"] = {"cover_skills": True}
    config = RunConfig.model_validate({
        "task": {"target_env": args.target},
        "curriculum": curriculum,
        "cycles": cycles,
        "steps_per_cycle": args.cycle_steps,
        "n_envs": args.n_envs,
        "seed": seed,
        "device": args.device,
        "vec": args.vec,
        "policy": args.policy,
        "eval_episodes": args.curve_episodes,
        "backend": args.backend,
        "runs_dir": str(runs_dir),
        **{name: value for name, value in strategy.items() if name in reads},
    })
    start = time.perf_counter()
    resume = state.get(key)
    if resume is None:
        store = open_store(runs_dir)
        resume = store.create_run(config.model_dump(mode="json"))
        store.close()
        state[key] = resume
        (runs_dir / "pairs.json").write_text(json.dumps(state, indent=1))
    summary = api.resume(resume, runs_dir, cycles)
    store = open_store(runs_dir)
    last = store.cycles(summary.run_id)[-1]
    calls = store.table("llm_calls", summary.run_id)
    store.close()
    from stable_baselines3 import PPO

    family = family_for(args.target)
    model = PPO.load(last["checkpoint"], device=args.device)
    final = evaluate(model, family, episodes=args.final_episodes, seed=50_000, skills=list(family.task().skills))
    return {
        "target": args.target,
        "curriculum": curriculum,
        "seed": seed,
        "steps": last["total_steps"],
        "final_success": round(final.success_rate, 4),
        "final_episodes": final.episodes,
        "wall_s": round(earlier_wall_s + time.perf_counter() - start, 1),
        "run_id": summary.run_id,
        "llm_calls": len(calls),
        "llm_tokens": sum(c["prompt_tokens"] + c["completion_tokens"] for c in calls),
        "metric": final.metric,
        "final_score": round(final.score, 4),
        "final_skills": json.dumps({name: round(stat.mean, 4) for name, stat in final.skills.items()}),
    }


def _picks(spec: str, tag: str, specs: list[str]) -> bool:
    """``name@tag`` takes that curriculum from one tag's results only (e.g. ``llm@archive`` beside ``llm``);
    a plain name takes it from every source whose tag no ``name@tag`` entry claims."""
    _, _, wanted = spec.partition("@")
    if wanted:
        return tag == wanted
    return tag not in {s.partition("@")[2] for s in specs if "@" in s}


def learning_curves(
    args: argparse.Namespace, sources: list[tuple[Path, dict, str]]
) -> dict[str, list[list[tuple]]]:
    """Per curriculum, one [(total_steps, headline metric), ...] curve per seed, read back from the run stores."""
    metric = family_for(args.target).metric
    out: dict[str, list[list[tuple]]] = {}
    specs = args.curricula.split(",")
    for spec in specs:
        curriculum = spec.partition("@")[0]
        curves = []
        for runs_dir, state, tag in sources:
            if not _picks(spec, tag, specs):
                continue
            store = open_store(runs_dir)
            for seed in range(args.seeds):
                run_id = state.get(f"{curriculum}/{seed}")
                cycles = store.cycles(run_id) if run_id else []
                if cycles:
                    curves.append([(c["total_steps"], headline(c, metric)) for c in cycles])
            store.close()
        out[spec] = curves
    return out


def plot(args: argparse.Namespace, curves_by: dict[str, list[list[tuple]]], png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    metric = family_for(args.target).metric
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for curriculum, curves in curves_by.items():
        if not curves:
            continue
        n = min(len(c) for c in curves)
        steps = np.array([p[0] for p in curves[0][:n]])
        values = np.array([[p[1] for p in c[:n]] for c in curves])
        mean, std = values.mean(0), values.std(0)
        ax.plot(steps, mean, label=f"{curriculum} (n={len(curves)})")
        top = 1 if metric == "success" else None
        ax.fill_between(steps, np.clip(mean - std, 0, top), np.clip(mean + std, 0, top), alpha=0.2)
    ax.set_xlabel("env steps (generated + target)")
    ax.set_ylabel(f"{metric.replace('_', ' ')} on {args.target}")
    if metric == "success":
        ax.set_ylim(0, 1.02)
    else:
        ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    print(f"wrote {png}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", default="MiniGrid-DoorKey-8x8-v0")
    parser.add_argument("--steps", type=int, default=300_000)
    parser.add_argument("--cycle-steps", type=int, default=30_000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--curricula", default="target,dr,plr,llm")
    parser.add_argument("--n-envs", type=int, default=8)
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--target-ratio", type=float, default=0.25)
    parser.add_argument("--backend", default="local")
    parser.add_argument("--llm-mixture", default="latest", choices=["latest", "archive"],
                        help="how the llm curriculum turns proposals into a mixture (RunConfig.llm.mixture)")
    parser.add_argument("--generated-cycles", type=int, default=None,
                        help="llm only: cycles on generated levels, then the target alone (EnvGen's schedule)")
    parser.add_argument("--cover-skills", action="store_true",
                        help="pacing keeps the target skills a level teaches (pace.cover_skills)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--vec", default="auto", choices=["auto", "dummy", "subproc"])
    parser.add_argument("--policy", default="auto", help="image encoder: auto, nature-cnn, impala")
    parser.add_argument("--curve-episodes", type=int, default=30)
    parser.add_argument("--final-episodes", type=int, default=100)
    parser.add_argument("--tag", default="", help="suffix for the results files (before/after comparisons)")
    parser.add_argument("--only-seeds", default="", help="comma-separated seeds to run of range(--seeds) (two "
                        "processes with their own --tag run seeds side by side; --merge joins their tables)")
    parser.add_argument("--plot-only", action="store_true")
    parser.add_argument("--results", default=str(RESULTS), help="where the CSV, PNG and run stores go")
    parser.add_argument("--merge", default="", help="comma-separated tags whose results join this plot and table")
    args = parser.parse_args()
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    name = _results_name(args.target, args.tag)
    csv_path = results / f"{name}.csv"
    runs_dir = results / "runs" / name
    runs_dir.mkdir(parents=True, exist_ok=True)
    state_file = runs_dir / "pairs.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    if not args.plot_only:
        done = _rows(csv_path)
        chosen = {int(x) for x in args.only_seeds.split(",") if x} or set(range(args.seeds))
        for seed in sorted(chosen & set(range(args.seeds))):
            for curriculum in args.curricula.split(","):
                earlier = done.get((curriculum, seed))
                if earlier is not None and int(earlier["steps"]) >= args.steps:
                    continue
                wall = float(earlier["wall_s"]) if earlier is not None else 0.0
                row = run_pair(args, curriculum, seed, runs_dir, state, earlier_wall_s=wall)
                done[(curriculum, seed)] = row
                _write_rows(csv_path, done)
                print(json.dumps(row), flush=True)
    sources = [(runs_dir, state, args.tag)]
    rows: list[dict] = []
    for tag in [t for t in args.merge.split(",") if t]:
        other = results / "runs" / _results_name(args.target, tag)
        sources.append((other, json.loads((other / "pairs.json").read_text()), tag))
    for _, _, tag in sources:
        tag_csv = results / f"{_results_name(args.target, tag)}.csv"
        if tag_csv.exists():
            with tag_csv.open() as fh:
                rows += [dict(r, tag=tag) for r in csv.DictReader(fh) if int(r["seed"]) < args.seeds]
    curves_by = learning_curves(args, sources)
    plot(args, curves_by, results / f"{name}.png")
    print(markdown_table(args, rows, curves_by))


def _final(row: dict, metric: str) -> float:
    """A pair's final headline number (rows written before the score column hold only the success rate)."""
    return float(row["final_success"]) if metric == "success" else float(row["final_score"])


def _at(curve: list[tuple], step: float) -> float | None:
    """The value of the first point at or past ``step`` env steps (curves are per-cycle evaluations)."""
    return next((v for s, v in curve if s >= step), None)


def markdown_table(args: argparse.Namespace, rows: list[dict], curves_by: dict[str, list[list[tuple]]]) -> str:
    """The BENCHMARKS.md table: the final headline metric over seeds, the mean curve at 25/50/75 % of the budget,
    cost per pair; for a metric other than success (the Crafter score) also each skill's final success."""
    metric = family_for(args.target).metric
    words = "success" if metric == "success" else metric.replace("_", " ")
    fractions = (0.25, 0.5, 0.75)
    lines = [
        f"| curriculum | final {words}, mean ± std (per seed) | mean {words} at 25 / 50 / 75 % of the budget "
        "| steps | wall min per pair | LLM calls, tokens per pair |",
        "|---|---|---|---|---|---|",
    ]
    skills: dict[str, dict[str, float]] = {}
    specs = args.curricula.split(",")
    for curriculum in specs:
        name = curriculum.partition("@")[0]
        mine = [r for r in rows if r["curriculum"] == name and _picks(curriculum, r["tag"], specs)]
        if not mine:
            continue
        mine.sort(key=lambda r: int(r["seed"]))
        finals = [_final(r, metric) for r in mine]
        final = Stat.of(finals)
        per_seed = [json.loads(r["final_skills"]) for r in mine if r.get("final_skills")]
        if per_seed:
            skills[curriculum] = {k: sum(p[k] for p in per_seed) / len(per_seed) for k in per_seed[0]}
        curves = curves_by.get(curriculum, [])
        points = []
        for fraction in fractions:
            vals = [v for c in curves if (v := _at(c, fraction * args.steps)) is not None]
            points.append(f"{sum(vals) / len(vals):.2f}" if vals else "–")
        wall = sum(float(r["wall_s"]) for r in mine) / len(mine) / 60
        calls = sum(int(r["llm_calls"]) for r in mine) / len(mine)
        tokens = sum(int(r["llm_tokens"]) for r in mine) / len(mine)
        steps = sorted({int(r["steps"]) for r in mine})
        lines.append(
            f"| `{curriculum}` | **{final.mean:.2f} ± {final.std:.2f}** ({', '.join(f'{v:.2f}' for v in finals)}; "
            f"n={len(finals)}) | {' / '.join(points)} | {', '.join(f'{s // 1000}k' for s in steps)} "
            f"| {wall:.1f} | {f'{calls:.0f}, {tokens:,.0f}' if calls else '—'} |"
        )
    if metric != "success" and skills:
        names = list(skills)
        lines += ["", f"Final success per skill (mean over seeds, {args.final_episodes} episodes each):", "",
                  f"| skill | {' | '.join(f'`{n}`' for n in names)} |", f"|---|{'---|' * len(names)}"]
        for skill in next(iter(skills.values())):
            lines.append(f"| {skill} | {' | '.join(f'{skills[n].get(skill, 0.0):.2f}' for n in names)} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
