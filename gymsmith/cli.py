"""The ``gymsmith`` command line: a thin layer over `gymsmith.api` with rich progress and tables."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gymsmith.config import ConfigError, build_config

app = typer.Typer(add_completion=False, help="LLM-written environments, rewards and curricula for RL.")
console = Console()


def _fail(message: str) -> None:
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code=2)


class RichHooks:
    """Training progress bar and a per-cycle results table."""

    def __init__(self, total_cycles: int) -> None:
        self.table = Table(title="cycles")
        for col in ("cycle", "trained on", "rejected", "steps/s", "target success", "skills"):
            self.table.add_column(col)
        self.progress: Progress | None = None
        self.task: Any = None
        self.total_cycles = total_cycles
        self.loop: Any = None

    def attach(self, loop: Any) -> None:
        self.loop = loop

    def cycle_started(self, cycle: int, total: int) -> None:
        console.rule(f"cycle {cycle + 1}/{total}")

    def mixture_chosen(self, cycle: int, mixture: Any, strategy: Any) -> None:
        for call in strategy.artifacts.llm_calls:
            origin = "cache" if call.cached else call.model
            console.print(
                f"LLM [{origin}] {call.template}: {call.prompt_tokens} prompt + {call.completion_tokens} "
                f"completion tokens in {call.latency_s:.1f}s"
            )
        for entry, p in zip(mixture.entries, mixture.probabilities(), strict=True):
            src = entry.source
            desc = src.env_id if src.family == "target" else json.dumps(src.model_dump(exclude={"family"}))
            console.print(f"  {p:5.0%}  {desc}")
        for rej in strategy.artifacts.rejected:
            console.print(f"  [yellow]rejected[/] {json.dumps(rej.spec)}: {rej.reason}")

    def training_started(self, cycle: int, steps: int) -> None:
        self.progress = Progress(
            TextColumn("training"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        )
        self.progress.start()
        self.task = self.progress.add_task("train", total=steps)

    def train_progress(self, steps: int) -> None:
        if self.progress is not None:
            self.progress.advance(self.task, steps)

    def cycle_finished(self, cycle: int, outcome: Any, record: Any) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
        ev = outcome.evaluation
        skills = ", ".join(f"{k} {v.mean:.2f}" for k, v in ev.skills.items())
        trained = ", ".join(
            e.source.env_id if e.source.family == "target" else e.source.name for e in outcome.mixture.entries
        )
        self.table.add_row(
            str(cycle + 1), trained, str(len(outcome.feedback.rejected)),
            f"{outcome.training.steps_per_s:.0f}", f"{ev.success_rate:.2f}", skills,
        )
        console.print(
            f"cycle {cycle + 1}: target success [bold]{ev.success_rate:.2f}[/] over {ev.episodes} episodes ({skills})"
        )


def _install_sigint(hooks: RichHooks) -> None:
    """First Ctrl-C: stop at the next step; the last committed cycle is kept. Second: abort at once."""

    def handler(signum: int, frame: Any) -> None:
        loop = hooks.loop
        if loop is None or loop.stop_requested:
            console.print("[red]aborted[/]")
            raise KeyboardInterrupt
        loop.stop_requested = True
        console.print("[yellow]stopping after saving the last committed cycle; Ctrl-C again to abort[/]")

    signal.signal(signal.SIGINT, handler)


@app.command()
def run(
    config: Path | None = typer.Option(None, "--config", help="YAML run config; flags override it"),
    target: str | None = typer.Option(None, "--target", help="target Gymnasium env id"),
    curriculum: str | None = typer.Option(None, "--curriculum", help="llm | llm-reward | plr | lp | dr | target"),
    cycles: int | None = typer.Option(None, "--cycles", "-c"),
    steps: int | None = typer.Option(None, "--steps", help="env steps per cycle"),
    n_envs: int | None = typer.Option(None, "--n-envs"),
    k: int | None = typer.Option(None, "-k", help="levels per proposal"),
    target_ratio: float | None = typer.Option(None, "--target-ratio"),
    eval_episodes: int | None = typer.Option(None, "--eval-episodes"),
    seed: int | None = typer.Option(None, "--seed"),
    device: str | None = typer.Option(None, "--device", help="auto | cpu | cuda[:N]"),
    backend: str | None = typer.Option(None, "--backend", help="local | openai | replay"),
    model: str | None = typer.Option(None, "--model"),
    base_url: str | None = typer.Option(None, "--base-url"),
    cassette: str | None = typer.Option(None, "--cassette", help="recorded responses for --backend replay"),
    record: str | None = typer.Option(None, "--record", help="write every LLM response to this cassette"),
    prompts: str | None = typer.Option(None, "--prompts", help="directory of templates overriding prompts/"),
    runs_dir: str | None = typer.Option(None, "--runs-dir"),
    resume: str | None = typer.Option(None, "--resume", help="continue RUN_ID after its last committed cycle"),
) -> None:
    """Run C cycles of propose → verify → train → evaluate → feedback."""
    from gymsmith import api

    overrides = {
        "target_env": target, "curriculum": curriculum, "cycles": cycles, "steps_per_cycle": steps,
        "n_envs": n_envs, "k_levels": k, "target_ratio": target_ratio, "eval_episodes": eval_episodes,
        "seed": seed, "device": device, "backend": backend, "model": model, "base_url": base_url,
        "cassette": cassette, "record": record, "prompts_dir": prompts, "runs_dir": runs_dir,
    }
    try:
        cfg = build_config(config, overrides)
    except ConfigError as exc:
        _fail(str(exc))
    hooks = RichHooks(cfg.cycles)
    _install_sigint(hooks)
    start = time.perf_counter()
    try:
        summary = api.run(cfg, hooks=hooks, resume=resume)
    except (ConfigError, KeyError, ValueError, FileNotFoundError) as exc:
        _fail(str(exc).strip("'\""))
    console.print(hooks.table)
    for c in summary.cycles:
        console.print(f"cycle {c['cycle'] + 1}: target success {c['target_success']:.2f}")
    if summary.llm_totals:
        t = summary.llm_totals
        console.print(
            f"LLM: {t['calls']} calls ({t['cached']} from cache), {t['prompt_tokens']} prompt + "
            f"{t['completion_tokens']} completion tokens, {t['latency_s']}s"
        )
    state = "stopped early (resume with --resume)" if summary.stopped_early else "finished"
    console.print(f"run [bold]{summary.run_id}[/] {state} in {time.perf_counter() - start:.0f}s")
    console.print(f"run store: {summary.store_path}")
    console.print(f"checkpoints: {summary.run_dir}/checkpoints")


@app.command()
def show(
    spec: Path = typer.Argument(..., help="a JSON level/world spec"),
    out: Path | None = typer.Option(None, "--out", help="PNG path (default: next to the spec)"),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Render one sampled level of a spec to PNG."""
    from pydantic import TypeAdapter, ValidationError

    from gymsmith.schemas import EnvConfig

    try:
        data = json.loads(spec.read_text())
        config = TypeAdapter(EnvConfig).validate_python(data.get("spec", data))
    except (OSError, json.JSONDecodeError, ValidationError) as exc:
        _fail(f"cannot read spec {spec}: {exc}")
    from gymsmith.envs.render import save_render

    path = save_render(config, out or spec.with_suffix(".png"), seed=seed)
    console.print(f"wrote {path}")


@app.command()
def doctor() -> None:
    """Report which optional layers work on this machine (LLM build, sandbox layers, GPU)."""
    import torch

    table = Table(title="gymsmith doctor")
    table.add_column("check")
    table.add_column("status")
    table.add_row("python", sys.version.split()[0])
    table.add_row("torch", f"{torch.__version__} (cuda: {torch.cuda.is_available()})")
    try:
        import llama_cpp

        table.add_row("llama-cpp-python", llama_cpp.__version__)
    except ImportError as exc:
        table.add_row("llama-cpp-python", f"[red]missing: {exc}[/]")
    try:
        from gymsmith.generator.sandbox import sandbox_layers

        for name, status in sandbox_layers().items():
            table.add_row(f"sandbox: {name}", str(status))
    except ImportError as exc:
        table.add_row("sandbox", f"[red]{exc}[/]")
    console.print(table)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
