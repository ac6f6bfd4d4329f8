"""What `gymsmith run` shows while a loop runs: a `LoopCallback` with a training bar, the LLM's cost and choices,
and a per-cycle table; the Ctrl-C handler that stops at a safe point. Part of the CLI (the front door)."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

console = Console()


#: Mixture entries printed per cycle; PLR mixtures hold one entry per replayed level.
SHOW_ENTRIES = 8


def _describe(source: Any) -> str:
    return source.env_id if source.family == "target" else json.dumps(source.brief())  # the form the LLM writes


def progress_callback(total_cycles: int) -> Any:
    """The CLI's `LoopCallback`: a training progress bar, the LLM's cost and choices, a per-cycle table."""
    from gymsmith.curricula.loop import LoopCallback

    class RichProgress(LoopCallback):
        def __init__(self) -> None:
            self.table = Table(title="cycles")
            for col in ("cycle", "trained on", "rejected", "steps/s", "target", "skills"):
                self.table.add_column(col)
            self.progress: Progress | None = None
            self.task: Any = None
            self.loop: Any = None

        def on_run_start(self, loop: Any) -> None:
            self.loop = loop

        def on_cycle_start(self, cycle: int, total: int) -> None:
            console.rule(f"cycle {cycle + 1}/{total}")

        def on_decision(self, cycle: int, decision: Any) -> None:
            mixture, artifacts = decision.mixture, decision.artifacts
            for call in artifacts.llm_calls:
                origin = "cache" if call.cached else call.model
                console.print(
                    f"LLM \\[{origin}] {call.template}: {call.prompt_tokens} prompt + {call.completion_tokens} "
                    f"completion tokens in {call.latency_s:.1f}s"
                )
            ranked = sorted(zip(mixture.probabilities(), mixture.entries, strict=True), key=lambda pe: -pe[0])
            for p, entry in ranked[:SHOW_ENTRIES]:
                pinned = f"  (seeds: {len(entry.seeds)})" if entry.seeds else ""
                console.print(f"  {p:5.1%}  {escape(_describe(entry.source))}{pinned}")
            if len(ranked) > SHOW_ENTRIES:
                rest = sum(p for p, _ in ranked[SHOW_ENTRIES:])
                console.print(f"  {rest:5.1%}  … {len(ranked) - SHOW_ENTRIES} more entries")
            for rej in artifacts.rejected:
                console.print(f"  [yellow]rejected[/] {escape(json.dumps(rej.spec))}: {escape(rej.reason)}")

        def on_training_start(self, cycle: int, steps: int) -> None:
            self.progress = Progress(
                TextColumn("training"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
            )
            self.progress.start()
            self.task = self.progress.add_task("train", total=steps)

        def on_training_step(self, steps: int) -> None:
            if self.progress is not None:
                self.progress.advance(self.task, steps)

        def stop_bar(self) -> None:
            if self.progress is not None:
                self.progress.stop()
                self.progress = None

        def on_evaluation_start(self, cycle: int, episodes: int) -> None:
            self.stop_bar()
            console.print(f"evaluating on the target ({episodes} episodes)")

        def on_cycle_end(self, cycle: int, outcome: Any, record: Any) -> None:
            self.stop_bar()
            ev = outcome.evaluation
            skills = skills_text(ev.skills)
            names = list(dict.fromkeys(
                e.source.env_id if e.source.family == "target" else e.source.name for e in outcome.mixture.entries
            ))
            trained = ", ".join(names) if len(names) <= 4 else f"{', '.join(names[:3])} + {len(names) - 3} more"
            line = headline(ev)
            self.table.add_row(
                str(cycle + 1), trained, str(len(outcome.feedback.rejected)),
                f"{outcome.training.steps_per_s:.0f}", line, skills,
            )
            console.print(f"cycle {cycle + 1}: {line} over {ev.episodes} episodes ({skills})")

    return RichProgress()


#: Skills listed one by one in a cycle's line; beyond this (Crafter's 22 achievements) only the best ones are.
SHOW_SKILLS = 6


def skills_text(skills: dict[str, Any]) -> str:
    """Per-skill success for one line: all of a few skills, or how many of many were ever reached and the best."""
    if len(skills) <= SHOW_SKILLS:
        return ", ".join(f"{k} {v.mean:.2f}" for k, v in skills.items())
    reached = sorted(((v.mean, k) for k, v in skills.items() if v.mean > 0), reverse=True)
    best = ", ".join(f"{k} {mean:.2f}" for mean, k in reached[:SHOW_SKILLS])
    return f"{len(reached)}/{len(skills)} reached" + (f": {best}" if best else "")


def headline(ev: Any) -> str:
    """The evaluation's headline number as the family defines it (success rate, or e.g. the Crafter score)."""
    if ev.metric == "success":
        return f"success {ev.success_rate:.2f}"
    return f"{ev.metric.replace('_', ' ')} {ev.score:.2f}"


def make_sigint_handler(progress: Any) -> Any:
    """First Ctrl-C: stop at the next safe point, keeping every committed cycle. Second: abort at once.

    A first Ctrl-C during training drops the unfinished cycle (it was never written); during evaluation or
    saving, the cycle is committed first. Before the loop exists there is nothing to save, so it aborts.
    """

    def handler(signum: int, frame: Any) -> None:
        loop = progress.loop
        if loop is None or loop.stop_requested:
            console.print("[red]aborted[/]")
            raise KeyboardInterrupt
        loop.stop_requested = True
        console.print("[yellow]stopping: committed cycles are kept (resume with --resume); Ctrl-C again to abort[/]")

    return handler


