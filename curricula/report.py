"""`gymsmith report`: one HTML page plus PNGs that compare runs from the run store.

Everything is read back from SQLite (nothing from the live objects), so a report can be written for any run
at any time, including a stopped or killed one, and for runs made by older versions of gymsmith.
Figures use matplotlib's Agg canvas directly: no display, no global pyplot state, safe inside a CLI or tests.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from gymsmith.curricula.store import RunStore

#: Levels rendered per cycle and run (the highest-weight entries): PLR mixtures can hold hundreds of levels.
MAX_LEVELS_PER_CYCLE = 6


@dataclass
class RunData:
    """One run as the report needs it, loaded once from the store."""

    id: str
    config: dict[str, Any]
    status: str
    cycles: list[dict[str, Any]]
    evaluations: list[dict[str, Any]]
    trainings: list[dict[str, Any]]
    llm_calls: list[dict[str, Any]]
    verdicts: list[dict[str, Any]]
    proposals: list[dict[str, Any]]
    files: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.id} ({self.config.get('curriculum', '?')})"

    @property
    def target_env(self) -> str:
        return str(self.config.get("task", {}).get("target_env", ""))


def load_run(store: RunStore, run_id: str) -> RunData:
    info = store.run_info(run_id)
    return RunData(
        id=run_id,
        config=info["config"],
        status=info["status"],
        cycles=store.cycles(run_id),
        evaluations=[{**row, "body": json.loads(row["body"])} for row in store.table("evaluations", run_id)],
        trainings=[{**row, "body": json.loads(row["body"])} for row in store.table("trainings", run_id)],
        llm_calls=store.table("llm_calls", run_id),
        verdicts=store.table("verdicts", run_id),
        proposals=[{**row, "body": json.loads(row["body"])} for row in store.table("proposals", run_id)],
    )


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _figure(width: float = 7.0, height: float = 4.0) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path)
    return path


def _empty(ax: Any, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


# --------------------------------------------------------------------------------------------- figures


def metric_of(runs: list[RunData]) -> str:
    """The headline metric the runs share (the family's: success rate, or e.g. the Crafter score)."""
    metrics = {c["metric"] for run in runs for c in run.cycles if c.get("metric")}
    return metrics.pop() if len(metrics) == 1 else "success"


def headline(cycle: dict[str, Any], metric: str) -> float | None:
    return cycle["target_success"] if metric == "success" else cycle["score"]


def plot_success(runs: list[RunData], path: Path) -> Path:
    """The target's headline metric against cumulative env steps: the curve every curriculum is judged by."""
    metric = metric_of(runs)
    fig = _figure()
    ax = fig.add_subplot()
    plotted = False
    for run in runs:
        steps = [c["total_steps"] or 0 for c in run.cycles]
        values = [headline(c, metric) or 0.0 for c in run.cycles]
        if steps:
            ax.plot(steps, values, marker="o", label=run.label)
            plotted = True
    label = "target success rate" if metric == "success" else metric.replace("_", " ")
    if plotted:
        ax.set_xlabel("env steps")
        ax.set_ylabel(label)
        if metric == "success":
            ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    else:
        _empty(ax, "no committed cycles yet")
    ax.set_title(f"{label} vs env steps")
    return _save(fig, path)


def skill_matrix(run: RunData) -> tuple[list[str], np.ndarray]:
    """Skills x cycles of evaluation success; skills in the task's order, then any others measured."""
    skills: list[str] = list(run.config.get("task", {}).get("skills") or [])
    for ev in run.evaluations:
        skills.extend(name for name in ev["body"].get("skills", {}) if name not in skills)
    matrix = np.full((len(skills), len(run.evaluations)), np.nan)
    for j, ev in enumerate(run.evaluations):
        for i, name in enumerate(skills):
            stat = ev["body"].get("skills", {}).get(name)
            if stat is not None:
                matrix[i, j] = stat["mean"]
    return skills, matrix


def skill_noun(run: RunData) -> str:
    """What the run's target calls a skill (Crafter: an achievement); 'skill' for targets no family handles now."""
    import gymsmith.envs  # noqa: F401  (registers the families)
    from gymsmith.envs.family import family_for
    from gymsmith.envs.params import FamilyError

    try:
        return family_for(run.target_env).skill_noun
    except (FamilyError, ValueError):
        return "skill"


def plot_skills(run: RunData, path: Path) -> Path:
    """Skills x cycles heatmap of evaluation success; where the headline metric is not the success rate (the
    Crafter score, computed from exactly these rates) each cycle's label carries it."""
    skills, matrix = skill_matrix(run)
    metric = metric_of([run])
    fig = _figure(max(5.0, 1.0 + 0.6 * matrix.shape[1]), max(2.5, 1.2 + 0.45 * len(skills)))
    ax = fig.add_subplot()
    if matrix.size == 0:
        _empty(ax, "no evaluations yet")
    else:
        image = ax.imshow(matrix, vmin=0.0, vmax=1.0, cmap="viridis", aspect="auto")
        labels = [str(ev["cycle"] + 1) for ev in run.evaluations]
        if metric != "success":
            scores = {c["cycle"]: headline(c, metric) for c in run.cycles}
            labels = [f"{label}\n{scores[ev['cycle']]:.1f}" if scores.get(ev["cycle"]) is not None else label
                      for label, ev in zip(labels, run.evaluations, strict=True)]
        ax.set_xticks(range(matrix.shape[1]), labels)
        ax.set_yticks(range(len(skills)), skills)
        ax.set_xlabel("cycle" if metric == "success" else f"cycle / {metric.replace('_', ' ')}")
        for (i, j), value in np.ndenumerate(matrix):
            if not np.isnan(value):
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8,
                        color="white" if value < 0.6 else "black")
        fig.colorbar(image, ax=ax, fraction=0.05)
    ax.set_title(f"per-{skill_noun(run)} success on the target\n{run.label}", fontsize=9)
    return _save(fig, path)


def llm_by_cycle(run: RunData) -> dict[int, dict[str, float]]:
    out: dict[int, dict[str, float]] = {}
    for call in run.llm_calls:
        row = out.setdefault(call["cycle"], {"calls": 0, "cached": 0, "prompt": 0, "completion": 0, "latency": 0.0})
        row["calls"] += 1
        row["cached"] += int(call["cached"] or 0)
        row["prompt"] += call["prompt_tokens"] or 0
        row["completion"] += call["completion_tokens"] or 0
        row["latency"] += call["latency_s"] or 0.0
    return out


def plot_llm(runs: list[RunData], path: Path) -> Path:
    """Tokens and latency per cycle: what the LLM curriculum costs next to what it buys."""
    fig = _figure(9.0, 3.6)
    tokens_ax, latency_ax = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    any_calls = False
    for run in runs:
        per_cycle = llm_by_cycle(run)
        if not per_cycle:
            continue
        any_calls = True
        cycles = sorted(per_cycle)
        x = [c + 1 for c in cycles]
        tokens_ax.plot(x, [per_cycle[c]["prompt"] for c in cycles], marker="o", label=f"{run.id} prompt")
        tokens_ax.plot(x, [per_cycle[c]["completion"] for c in cycles], marker="s", ls="--",
                       label=f"{run.id} completion")
        latency_ax.plot(x, [per_cycle[c]["latency"] for c in cycles], marker="o", label=run.id)
    if any_calls:
        tokens_ax.set(xlabel="cycle", ylabel="tokens", title="LLM tokens per cycle")
        latency_ax.set(xlabel="cycle", ylabel="seconds", title="LLM latency per cycle")
        for ax in (tokens_ax, latency_ax):
            ax.set_ylim(bottom=0)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.legend(fontsize=7)
    else:
        _empty(tokens_ax, "no LLM calls in these runs")
        _empty(latency_ax, "no LLM calls in these runs")
    return _save(fig, path)


def normalise_reason(reason: str) -> str:
    """Group rejections that differ only in numbers (seeds, sizes) under one reason."""
    reason = re.sub(r"^seed \d+: ", "", reason.strip())
    reason = re.sub(r"\d+(\.\d+)?", "N", reason)
    return reason if len(reason) <= 90 else reason[:87] + "..."


def rejection_counts(run: RunData) -> dict[str, int]:
    """Verifier rejections plus items the proposer dropped at parse/schema time, keyed '[layer] reason'."""
    counts: dict[str, int] = {}
    for verdict in run.verdicts:
        if verdict["accepted"]:
            continue
        for rejection in json.loads(verdict["body"]).get("rejections", []) or [{"layer": "?", "reason": "unknown"}]:
            key = f"[{rejection['layer']}] {normalise_reason(rejection['reason'])}"
            counts[key] = counts.get(key, 0) + 1
    for proposal in run.proposals:
        for rejected in proposal["body"].get("rejected", []):
            key = f"[schema] {normalise_reason(rejected.get('reason', 'unknown'))}"
            counts[key] = counts.get(key, 0) + 1
        for error in proposal["body"].get("errors", []):
            key = f"[proposal] {normalise_reason(error)}"
            counts[key] = counts.get(key, 0) + 1
    return counts


def plot_rejections(runs: list[RunData], path: Path) -> tuple[Path, dict[str, dict[str, int]]]:
    per_run = {run.id: rejection_counts(run) for run in runs}
    reasons = sorted({r for counts in per_run.values() for r in counts},
                     key=lambda r: -sum(c.get(r, 0) for c in per_run.values()))[:15]
    fig = _figure(9.0, max(2.5, 1.0 + 0.35 * len(reasons)))
    ax = fig.add_subplot()
    if reasons:
        height = 0.8 / max(1, len(runs))
        for k, run in enumerate(runs):
            values = [per_run[run.id].get(r, 0) for r in reasons]
            ax.barh(np.arange(len(reasons)) + k * height, values, height=height, label=run.id)
        ax.set_yticks(np.arange(len(reasons)) + 0.4 - height / 2, [r[:70] for r in reasons], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel("rejections")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=7)
    else:
        _empty(ax, "no rejections in these runs")
    ax.set_title("verifier rejections by reason")
    return _save(fig, path), per_run


# ---------------------------------------------------------------------------------------------- levels


def render_levels(run: RunData, out_dir: Path, max_per_cycle: int = MAX_LEVELS_PER_CYCLE) -> list[list[dict[str, Any]]]:
    """PNGs of the highest-weight levels of each cycle; identical (spec, seed) pairs are rendered once."""
    from pydantic import TypeAdapter

    import gymsmith.envs  # noqa: F401  (registers the families' spec models)
    from gymsmith.envs.render import save_render
    from gymsmith.schemas import AnySpec

    adapter = TypeAdapter(AnySpec)
    level_dir = out_dir / "levels" / _safe(run.id)
    level_dir.mkdir(parents=True, exist_ok=True)
    rendered: dict[tuple[str, int], list[str]] = {}
    per_cycle: list[list[dict[str, Any]]] = []
    for cycle in run.cycles:
        entries = cycle["mixture"].get("entries", [])
        total = sum(e["weight"] for e in entries) or 1.0
        ranked = sorted(entries, key=lambda e: -e["weight"])[:max_per_cycle]
        items = []
        for entry in ranked:
            source = adapter.validate_python(entry["source"])
            seeds = entry.get("seeds") or []
            seed = int(seeds[0]) if seeds else 0
            name = source.env_id if source.family == "target" else source.name
            key = (source.digest(), seed)
            if key not in rendered:
                stem = level_dir / f"{source.family}_{source.digest()}_{seed}.png"
                try:
                    rendered[key] = [str(p.relative_to(out_dir)) for p in save_render(source, stem, seed=seed)]
                except Exception as exc:  # an env without an RGB render must not sink the whole report
                    rendered[key] = []
                    name += f" (no render: {type(exc).__name__})"
            items.append({
                "name": name,
                "share": entry["weight"] / total,
                "seeds": len(seeds),
                "seed": seed,
                "images": rendered[key],
            })
        per_cycle.append(items)
    return per_cycle


# ------------------------------------------------------------------------------------------------ HTML

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1200px; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.levels td { text-align: center; font-size: 0.8em; }
.levels img { width: 96px; image-rendering: pixelated; display: block; margin: 0 auto; }
pre { background: #f7f7f7; padding: 0.6em; font-size: 0.8em; overflow-x: auto; }
"""


def _table(headers: list[str], rows: list[list[Any]], cls: str = "") -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><tr>{head}</tr>{body}</table>'


def _run_rows(runs: list[RunData], metric: str) -> list[list[Any]]:
    rows = []
    for run in runs:
        steps = run.cycles[-1]["total_steps"] if run.cycles else 0
        final = headline(run.cycles[-1], metric) if run.cycles else None
        best = max((headline(c, metric) or 0.0 for c in run.cycles), default=None)
        train_s = sum(t["wall_time_s"] or 0.0 for t in run.trainings)
        rows.append([
            html.escape(run.id), html.escape(str(run.config.get("curriculum"))), html.escape(run.target_env),
            html.escape(run.status), f"{len(run.cycles)}/{run.config.get('cycles', '?')}", f"{steps or 0:,}",
            "–" if final is None else f"{final:.2f}", "–" if best is None else f"{best:.2f}", f"{train_s:.0f}",
        ])
    return rows


def write_report(
    store: RunStore, run_ids: list[str], out_dir: str | Path, max_levels: int = MAX_LEVELS_PER_CYCLE
) -> Path:
    """Write ``report.html`` and its PNGs into ``out_dir``; the first run is the subject, the rest compare."""
    if not run_ids:
        raise ValueError("report needs at least one run id")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    runs = [load_run(store, run_id) for run_id in dict.fromkeys(run_ids)]
    metric = metric_of(runs)
    title = "success" if metric == "success" else metric.replace("_", " ")
    parts = [f"<h1>gymsmith report: {html.escape(runs[0].label)}</h1>"]
    parts.append(_table(
        ["run", "curriculum", "target", "status", "cycles", "env steps", f"final {title}", "best", "train s"],
        _run_rows(runs, metric),
    ))

    plot_success(runs, out / "success.png")
    parts.append(f'<h2>Target {html.escape(title)}</h2><img src="success.png" alt="target {html.escape(title)} vs '
                 'env steps">')

    nouns = {skill_noun(run) for run in runs}
    noun = nouns.pop() if len(nouns) == 1 else "skill"
    parts.append(f"<h2>Per-{noun} success over cycles</h2>")
    if metric != "success":
        parts.append(f"<p>Share of evaluation episodes on the target that reached each {noun}; the "
                     f"{html.escape(title)} of a cycle (under its number) is computed from these rates.</p>")
    for run in runs:
        name = f"skills_{_safe(run.id)}.png"
        plot_skills(run, out / name)
        run.files["skills"] = name
        parts.append(f'<img src="{name}" alt="skills of {html.escape(run.id)}">')

    parts.append("<h2>Levels trained on</h2>")
    parts.append(f"<p>The {max_levels} highest-weight mixture entries of each cycle, with their share of the "
                 "cycle's episodes (a render of the pinned seed, or seed 0 of a spec's distribution).</p>")
    for run in runs:
        per_cycle = render_levels(run, out, max_levels)
        rows = []
        for cycle, items in zip(run.cycles, per_cycle, strict=True):
            cells = []
            for item in items:
                imgs = "".join(f'<img src="{html.escape(p)}" alt="">' for p in item["images"])
                pinned = f", {item['seeds']} seeds" if item["seeds"] else ""
                cells.append(f"{imgs}{html.escape(item['name'])}<br>{item['share']:.0%}{pinned}")
            entries = len(cycle["mixture"].get("entries", []))
            rows.append([str(cycle["cycle"] + 1), f"{entries}", *cells])
        parts.append(f"<h3>{html.escape(run.label)}</h3>")
        parts.append(_table(["cycle", "entries", "levels (by weight)"], rows, cls="levels") if rows
                     else "<p>no committed cycles</p>")

    plot_llm(runs, out / "llm.png")
    parts.append('<h2>LLM calls</h2><img src="llm.png" alt="LLM tokens and latency">')
    llm_rows = []
    for run in runs:
        calls = run.llm_calls
        latency = sum(c["latency_s"] or 0.0 for c in calls)
        llm_rows.append([
            html.escape(run.id), len(calls), sum(int(c["cached"] or 0) for c in calls),
            sum(c["prompt_tokens"] or 0 for c in calls), sum(c["completion_tokens"] or 0 for c in calls),
            f"{latency:.1f}", f"{latency / len(calls):.2f}" if calls else "–",
        ])
    parts.append(_table(["run", "calls", "cached", "prompt tokens", "completion tokens", "latency s",
                         "mean latency s"], llm_rows))

    _, per_run = plot_rejections(runs, out / "rejections.png")
    parts.append('<h2>Verifier rejections</h2><img src="rejections.png" alt="rejections by reason">')
    reasons = sorted({r for counts in per_run.values() for r in counts})
    if reasons:
        parts.append(_table(["reason", *[run.id for run in runs]],
                            [[html.escape(r), *[per_run[run.id].get(r, 0) for run in runs]] for r in reasons]))

    parts.append("<h2>Configs</h2>")
    for run in runs:
        tb = Path(str(run.config.get("runs_dir", ""))) / run.id / "tensorboard"
        note = f"<p>TensorBoard logs: <code>{html.escape(str(tb))}</code></p>" if run.config.get("tensorboard") else ""
        parts.append(f"<details><summary>{html.escape(run.label)}</summary>{note}"
                     f"<pre>{html.escape(json.dumps(run.config, indent=2))}</pre></details>")

    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>gymsmith report {html.escape(runs[0].id)}"
            f"</title><style>{_CSS}</style></head><body>{''.join(parts)}</body></html>")
    path = out / "report.html"
    path.write_text(page)
    return path
