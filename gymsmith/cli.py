"""The ``gymsmith`` command line: a thin layer over `gymsmith.api` with rich progress and tables."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from gymsmith.cli_progress import console, headline, make_sigint_handler, progress_callback, skills_text
from gymsmith.config import ConfigError, build_config
from gymsmith.schemas import DEFAULT_TARGET

app = typer.Typer(add_completion=False, help="LLM-written environments, rewards and curricula for RL.")


def _fail(message: str) -> None:
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code=2)


def _curriculum_help() -> str:
    from gymsmith.curricula.strategies import CURRICULA

    return " | ".join(CURRICULA.names())


@app.command()
def run(
    config: Path | None = typer.Option(None, "--config", help="YAML run config; flags override it"),
    target: str | None = typer.Option(None, "--target", help="target env id (MiniGrid-*, crafter, any Gymnasium id)"),
    curriculum: str | None = typer.Option(None, "--curriculum", help=_curriculum_help()),
    description: str | None = typer.Option(None, "--description", help="the task in words (default: the target's)"),
    param: list[str] | None = typer.Option(
        None, "--param", "-p", help="what may vary in the target's family: name=LO..HI, name=a|b, name=VALUE"
    ),
    reward: Path | None = typer.Option(
        None, "--reward", help="train with this reward program (reward.json or a .py file, e.g. gymsmith reward --out)"
    ),
    cycles: int | None = typer.Option(None, "--cycles", "-c"),
    steps: int | None = typer.Option(None, "--steps", help="env steps per cycle"),
    n_envs: int | None = typer.Option(None, "--n-envs"),
    k: int | None = typer.Option(None, "-k", help="levels per proposal (llm), reward candidates (llm-reward)"),
    goals: int | None = typer.Option(
        None, "--goals", help="llm: goals the LLM writes with its levels, probed every cycle as per-skill success"
    ),
    target_ratio: float | None = typer.Option(None, "--target-ratio"),
    generated_cycles: int | None = typer.Option(
        None, "--generated-cycles", help="llm: cycles on generated levels, then the target alone (EnvGen's schedule)"
    ),
    eval_episodes: int | None = typer.Option(None, "--eval-episodes"),
    seed: int | None = typer.Option(None, "--seed"),
    device: str | None = typer.Option(None, "--device", help="auto | cpu | cuda[:N]"),
    vec: str | None = typer.Option(
        None, "--vec", help="auto (subproc with 4+ cores) | dummy (one process) | subproc (a process per env)"
    ),
    policy: str | None = typer.Option(None, "--policy", help="image encoder: auto | nature-cnn | impala"),
    backend: str | None = typer.Option(None, "--backend", help="local | openai | replay"),
    model: str | None = typer.Option(None, "--model"),
    base_url: str | None = typer.Option(None, "--base-url"),
    cassette: str | None = typer.Option(None, "--cassette", help="recorded responses for --backend replay"),
    record: str | None = typer.Option(None, "--record", help="write every LLM response to this cassette"),
    prompts: str | None = typer.Option(None, "--prompts", help="directory of templates overriding prompts/"),
    runs_dir: str | None = typer.Option(None, "--runs-dir"),
    tensorboard: bool | None = typer.Option(None, "--tensorboard/--no-tensorboard", help="SB3 logs to TensorBoard"),
    resume: str | None = typer.Option(None, "--resume", help="continue RUN_ID after its last committed cycle"),
) -> None:
    """Run C cycles of decide → train → evaluate → feedback on the target."""
    from gymsmith import api
    from gymsmith.curricula.strategies import CURRICULA

    overrides = {
        "target_env": target, "description": description, "params": param or None, "curriculum": curriculum,
        "cycles": cycles, "steps_per_cycle": steps, "n_envs": n_envs, "k_levels": k, "target_ratio": target_ratio,
        "llm.generated_cycles": generated_cycles,
        "eval_episodes": eval_episodes, "seed": seed, "device": device, "vec": vec, "policy": policy,
        "backend": backend, "model": model, "base_url": base_url, "cassette": cassette, "record": record,
        "prompts_dir": prompts, "runs_dir": runs_dir, "tensorboard": tensorboard,
    }
    try:
        if reward is not None:
            overrides["reward"] = api.load_reward(reward)
        if goals is not None:
            overrides["llm"] = {"goals": goals}
        if resume:
            ignored = [k for k, v in overrides.items() if v is not None and k not in ("cycles", "runs_dir")]
            if ignored or config is not None:
                console.print("[yellow]--resume keeps the stored config; ignoring "
                              f"{', '.join(ignored + (['--config'] if config else []))}[/]")
            cfg = api.resumable_config(resume, runs_dir or "runs", cycles)
        else:
            cfg = build_config(config, overrides)
            api.check_config(cfg)
    except ConfigError as exc:
        _fail(escape(str(exc)))
    if CURRICULA.get(cfg.curriculum).needs_llm:
        _show_local_model(cfg.backend, cfg.model)
    progress = progress_callback(cfg.cycles)
    previous = signal.signal(signal.SIGINT, make_sigint_handler(progress))
    start = time.perf_counter()
    try:
        if resume:
            summary = api.resume(resume, cfg.runs_dir, cfg.cycles, callbacks=[progress])
        else:
            summary = api.run(cfg, callbacks=[progress])
    except (ConfigError, KeyError, ValueError, FileNotFoundError) as exc:
        _fail(escape(str(exc).strip("'\"")))
    except KeyboardInterrupt:
        run_id = progress.loop.run_id if progress.loop is not None else None
        hint = f"; continue with: gymsmith run --resume {run_id} --runs-dir {cfg.runs_dir}" if run_id else ""
        console.print(f"[red]aborted[/]: committed cycles are kept{hint}")
        raise typer.Exit(code=130) from None
    finally:
        signal.signal(signal.SIGINT, previous)
        progress.stop_bar()  # a stop mid-training leaves the bar running
    console.print(progress.table)
    for c in summary.cycles:
        headline = f"success {c['target_success']:.2f}" if c["metric"] == "success" else \
            f"{c['metric'].replace('_', ' ')} {c['score']:.2f}"
        console.print(f"cycle {c['cycle'] + 1}: target {headline}")
    if summary.llm_totals:
        t = summary.llm_totals
        console.print(
            f"LLM: {t['calls']} calls ({t['cached']} from cache), {t['prompt_tokens']} prompt + "
            f"{t['completion_tokens']} completion tokens, {t['latency_s']}s"
        )
        _print_structured(t)
    state = "stopped early (resume with --resume)" if summary.stopped_early else "finished"
    console.print(f"run [bold]{summary.run_id}[/] {state} in {time.perf_counter() - start:.0f}s")
    console.print(f"run store: {summary.store_path}")
    console.print(f"checkpoints: {summary.run_dir}/checkpoints")


def _print_llm_cost(totals: dict[str, Any], wall_s: float) -> None:
    console.print(
        f"LLM: {totals['calls']} calls ({totals['cached']} from cache, {totals['model_calls']} to the model), "
        f"{totals['prompt_tokens']} prompt + {totals['completion_tokens']} completion tokens, "
        f"{totals['latency_s']}s in LLM calls; wall time {wall_s:.1f}s"
    )
    _print_structured(totals)


def _print_structured(totals: dict[str, Any]) -> None:
    """Which structured-output mode the answers came in: a server may have refused the stronger ones."""
    if totals.get("structured"):
        console.print(f"structured output: {escape(totals['structured'])}")


def _show_local_model(backend: str | None, model: str | None) -> None:
    """A local model given by path is named by its content: show the sha256 that its records carry."""
    from gymsmith.generator.local_models import EMBEDDED_MODELS, resolve_local_model

    if (backend or "local") != "local" or model is None or model in EMBEDDED_MODELS:
        return
    try:
        resolved = resolve_local_model(model)
    except ValueError as exc:
        _fail(escape(str(exc)))
    console.print(f"model: {resolved.path} sha256 {resolved.sha256} (recorded as {resolved.model_id})")


@app.command()
def generate(
    prompt: str = typer.Argument(..., help="what the environments should be like, in words"),
    family: str = typer.Option("minigrid", "--family", "-f", help="minigrid | crafter | gym:<EnvId>"),
    n: int = typer.Option(3, "-n", min=1, max=16, help="how many environments to ask for"),
    out: Path = typer.Option(Path("generated"), "--out", "-o", help="output directory"),
    param: list[str] | None = typer.Option(
        None, "--param", "-p", help="what the LLM may set: name=LO..HI (ints or floats), name=a|b, name=VALUE"
    ),
    goals: int = typer.Option(2, "--goals", min=0, max=8, help="up to this many goals (0: none)"),
    backend: str = typer.Option("local", "--backend", help="local | openai | replay"),
    model: str | None = typer.Option(None, "--model"),
    base_url: str | None = typer.Option(None, "--base-url"),
    cassette: Path | None = typer.Option(None, "--cassette", help="recorded responses for --backend replay"),
    record: Path | None = typer.Option(None, "--record", help="write every LLM response to this cassette"),
    prompts: Path | None = typer.Option(None, "--prompts", help="directory of templates overriding prompts/"),
    seed: int = typer.Option(0, "--seed", help="LLM sampling seed"),
    temperature: float = typer.Option(0.7, "--temperature", min=0.0, max=2.0),
    max_tokens: int = typer.Option(1024, "--max-tokens", min=64, max=8192),
    cache: bool = typer.Option(True, "--cache/--no-cache", help="answer identical calls from the disk cache"),
    constrained: bool = typer.Option(
        True, "--constrained/--unconstrained", help="JSON-schema constrained output (the openai backend steps down "
        "to json_object or free text where a server refuses it)"
    ),
    check_constraints: bool = typer.Option(
        True, "--constraints/--no-constraints", help="list the request's checkable constraints first and check "
        "them on sampled levels (one repair naming what was missed)"
    ),
) -> None:
    """List the request's constraints, ask the LLM for N environment specs (and goals), verify them and check the
    constraints on sampled levels, write specs, renders and index.json."""
    from rich.markup import escape

    from gymsmith.envs import make_family
    from gymsmith.envs.params import FamilyError
    from gymsmith.generator.generate import generate as run_generate
    from gymsmith.generator.llm import BACKENDS, LLMClient, make_chat_model

    start = time.perf_counter()
    if backend not in BACKENDS:
        _fail(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if cassette is not None and not cassette.is_file():
        _fail(f"--cassette {cassette} does not exist")
    if prompts is not None and not prompts.is_dir():
        _fail(f"--prompts {prompts} is not a directory")
    try:
        fam = make_family(family, param or [])
        chat = make_chat_model(backend, model=model, base_url=base_url, cassette=cassette)
    except (FamilyError, ValueError) as exc:
        _fail(escape(str(exc)))
    _show_local_model(backend, model)
    client = LLMClient(chat=chat, backend=backend, use_cache=cache, record_path=record)
    try:
        result = run_generate(
            prompt, fam, client, n, out, goals=goals, prompts_dir=prompts, seed=seed, temperature=temperature,
            max_tokens=max_tokens, constrained=constrained, check_constraints=check_constraints,
        )
    except Exception as exc:  # an LLM backend, a cassette or a template failing: a message, not a traceback
        for call in client.calls:
            origin = "cache" if call.cached else call.model
            console.print(escape(f"LLM [{origin}] {call.template}: {call.latency_s:.1f}s"))
        _print_llm_cost(client.totals(), time.perf_counter() - start)
        _fail(escape(f"generate failed: {type(exc).__name__}: {str(exc).strip(chr(34) + chr(39))}"))
    for call in result.llm_calls:
        origin = "cache" if call.cached else call.model
        mode = f" ({call.structured})" if call.structured else ""
        console.print(escape(
            f"LLM [{origin}] {call.template}: {call.prompt_tokens} prompt + {call.completion_tokens} "
            f"completion tokens in {call.latency_s:.1f}s{mode}"
        ))
    if result.constraints:
        console.print("constraints (checked on sampled levels): "
                      + escape(", ".join(c.text() for c in result.constraints)))
    if result.proposal.rationale:
        console.print(f"rationale: {escape(result.proposal.rationale)}")
    table = Table(title=f"{len(result.accepted)} of {n} accepted ({fam.name})")
    for col in ("file", "renders", "constraints", "spec"):
        table.add_column(col)
    for entry in result.accepted:
        spec_text = {k: v for k, v in entry["spec"].items() if k not in ("family", "name")}
        renders = ", ".join(entry["renders"]) or f"[yellow]{escape(entry.get('render_error', '-'))}[/]"
        met = " ".join(f"{'[green]met[/]' if c['met'] else '[red]unmet[/]'} {escape(c['text'])}"
                       for c in entry["constraints"]) or "-"
        if entry.get("edited_from"):
            met += f" (edited from {escape(entry['edited_from'])})"
        elif entry.get("revised"):
            met += " (revised)"
        table.add_row(escape(entry["file"]), renders, met, escape(json.dumps(spec_text)))
    console.print(table)
    for goal in result.goals:
        console.print(f"goal [bold]{escape(goal.name)}[/]: {' + '.join(goal.events)} — {escape(goal.description)}")
    for rej in result.rejected:
        console.print(f"[yellow]rejected[/] {escape(json.dumps(rej.spec))}: {escape(rej.reason)}")
    for error in result.proposal.errors:
        console.print(f"[yellow]LLM answer:[/] {escape(error)}")
    console.print(f"index: {result.index_path}")
    _print_llm_cost(result.llm, time.perf_counter() - start)
    if not result.accepted:
        console.print(
            "[bold red]no environment was accepted[/]"
            + (" (the answer stayed invalid after one repair)" if result.proposal.repaired else "")
        )
        raise typer.Exit(code=1)


@app.command()
def show(
    spec: Path | None = typer.Argument(None, help="a JSON level/world spec (omit it with --beside: the family's "
                                       "own spec of that env)"),
    out: Path | None = typer.Option(None, "--out", help="PNG path (default: next to the spec)"),
    seed: int = typer.Option(0, "--seed"),
    gif: bool = typer.Option(False, "--gif", help="also record a random-policy rollout as a GIF next to the PNG"),
    steps: int = typer.Option(64, "--steps", min=1, max=2000, help="rollout length of --gif"),
    beside: str | None = typer.Option(None, "--beside", help="a registered env id: render the spec's level and "
                                      "that env side by side in one PNG (same seed)"),
) -> None:
    """Render one sampled level of a spec to PNG (and a short random rollout with --gif); with --beside ENV, next
    to the registered env (without a spec: the level language's spec of ENV, i.e. its reach)."""
    from gymsmith.api import ConfigError, load_spec

    if spec is None and beside is None:
        _fail("give a spec file, or --beside ENV to render that env's spec in its family's language")
    try:
        config = load_spec(spec if spec is not None else str(beside))
    except ConfigError as exc:
        _fail(escape(str(exc)))
    if spec is None:
        console.print(f"spec of {escape(str(beside))}: {escape(json.dumps(config.brief()))}")
    png = out or (spec.with_suffix(".png") if spec is not None else Path(f"{str(beside).replace('/', '_')}-beside.png"))
    from gymsmith.envs.render import save_beside, save_render, save_rollout_gif

    if beside is not None:
        try:
            path = save_beside(config, beside, png, seed=seed)
        except Exception as exc:  # an unknown env id, an env without rgb_array frames
            _fail(escape(f"cannot render {spec or beside} beside {beside}: {type(exc).__name__}: {exc}"))
        console.print(f"wrote {path} (left: the spec's level, right: {escape(beside)}; seed {seed})")
    else:
        path = save_render(config, png, seed=seed)
        console.print(f"wrote {path}")
    if gif:
        try:
            console.print(f"wrote {save_rollout_gif(config, png.with_suffix('.gif'), seed=seed, steps=steps)}")
        except Exception as exc:  # e.g. an env without rgb_array frames
            _fail(f"cannot record a rollout of {spec}: {type(exc).__name__}: {exc}")


@app.command()
def report(
    run_id: str = typer.Argument(..., help="the run to report on"),
    compare: list[str] | None = typer.Option(None, "--compare", help="another run to compare (repeatable)"),
    runs_dir: str = typer.Option("runs", "--runs-dir"),
    out: Path | None = typer.Option(None, "--out", help="output directory (default RUNS_DIR/RUN_ID/report)"),
    max_levels: int = typer.Option(6, "--max-levels", help="level renders per cycle and run"),
) -> None:
    """Write report.html with PNGs: success vs steps, skills over cycles, levels, LLM cost, rejections."""
    from gymsmith import api
    from gymsmith.curricula.report import write_report

    store_path = Path(runs_dir) / api.STORE_NAME
    if not store_path.exists():
        _fail(f"no run store at {store_path} (pass --runs-dir)")
    store = api.open_store(runs_dir)
    try:
        path = write_report(store, [run_id, *(compare or [])], out or Path(runs_dir) / run_id / "report", max_levels)
    except KeyError as exc:
        _fail(str(exc).strip("'\""))
    finally:
        store.close()
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
    except ImportError:
        table.add_row("llama-cpp-python", "[yellow]not installed (local backend: pip install 'gymsmith\\[local]')[/]")
    try:
        from gymsmith.sandbox import sandbox_layers

        for name, status in sandbox_layers().items():
            table.add_row(f"sandbox: {name}", str(status))
    except ImportError as exc:
        table.add_row("sandbox", f"[red]{exc}[/]")
    console.print(table)


@app.command()
def serve(
    model: str | None = typer.Option(None, "--model", help="embedded model name or path of a .gguf file"),
    port: int = typer.Option(8000, "--port", help="TCP port to listen on"),
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on (127.0.0.1: this machine only)"),
    n_ctx: int = typer.Option(4096, "--n-ctx", min=256, help="context size in tokens"),
    threads: int | None = typer.Option(None, "--threads", min=1, help="llama.cpp threads (GYMSMITH_LLM_THREADS)"),
) -> None:
    """Serve a local GGUF model over the OpenAI API (llama-cpp-python's server, loaded with the AMX fix)."""
    from gymsmith.generator.serve import plan, run_server

    try:
        serve_plan = plan(model, host=host, port=port, n_ctx=n_ctx, threads=threads)
    except (ValueError, RuntimeError) as exc:
        _fail(escape(str(exc)))
    console.print(
        f"serving {serve_plan.model.model_id} ({serve_plan.path}, sha256 {serve_plan.model.sha256}) "
        f"at {serve_plan.base_url} with {serve_plan.threads} threads"
    )
    console.print(
        f"use it with: --backend openai --base-url {serve_plan.base_url} --model {serve_plan.model.model_id}"
    )
    run_server(serve_plan)


@app.command()
def reward(
    description: str = typer.Argument(..., help="the task in words"),
    env: str = typer.Option(DEFAULT_TARGET, "--env", help="target env id (MiniGrid-*, crafter, any Gymnasium id)"),
    n: int = typer.Option(4, "-n", min=1, max=16, help="candidate programs per iteration"),
    iterations: int = typer.Option(2, "--iterations", min=1, max=20),
    mode: str = typer.Option("compose", "--mode", help="compose (typed catalogue) | code (LLM writes the body)"),
    steps: int = typer.Option(20_000, "--steps", min=128, help="training steps per candidate"),
    n_envs: int = typer.Option(4, "--n-envs", min=1),
    eval_episodes: int = typer.Option(20, "--eval-episodes", min=1),
    seed: int = typer.Option(0, "--seed"),
    baseline: bool = typer.Option(True, "--baseline/--no-baseline", help="also train the sparse env reward"),
    backend: str = typer.Option("local", "--backend", help="local | openai | replay"),
    model: str | None = typer.Option(None, "--model"),
    base_url: str | None = typer.Option(None, "--base-url"),
    cassette: str | None = typer.Option(None, "--cassette"),
    record: str | None = typer.Option(None, "--record"),
    cache: bool = typer.Option(True, "--cache/--no-cache"),
    executor: str = typer.Option("local", "--executor", help="local | ray"),
    ray_address: str | None = typer.Option(None, "--ray-address"),
    device: str = typer.Option("cpu", "--device"),
    runs_dir: str = typer.Option("runs", "--runs-dir"),
    out: str | None = typer.Option(None, "--out", help="write the best program here (reward.py, reward.json)"),
) -> None:
    """Design dense rewards: sample n programs per iteration, verify, train each briefly, keep the best, reflect."""
    from rich.markup import escape

    from gymsmith.agents.executors import make_executor
    from gymsmith.api import check_config, make_client, open_store
    from gymsmith.curricula.reward_search import run_reward_search
    from gymsmith.generator.reward_designer import RewardDesigner

    start = time.perf_counter()
    try:
        cfg = build_config(None, {
            "target_env": env, "description": description, "backend": backend, "model": model,
            "base_url": base_url, "cassette": cassette, "record": record, "use_cache": cache,
            "executor": executor, "ray_address": ray_address, "device": device, "seed": seed,
            "n_envs": n_envs, "runs_dir": runs_dir, "curriculum": "llm-reward",
        })
        family, task = check_config(cfg)
        designer = RewardDesigner(make_client(cfg), family=family, mode=mode, seed=seed)
    except (ConfigError, ValueError) as exc:
        _fail(escape(str(exc)))
    _show_local_model(backend, model)
    table = Table(title=f"reward candidates for {env}")
    for col in ("iter", "candidate", "verdict", "target", "skills", "components (mean per episode)"):
        table.add_column(col)

    def show(iteration: int, rows: list[Any]) -> None:
        for r in rows:
            ev = r.result.evaluation if r.result else None
            if r.result is not None and r.result.failed:
                verdict = f"[red]training failed[/]: {escape(r.result.failed)}"
            elif r.verdict.accepted:
                verdict = "[green]accepted[/]"
            else:
                verdict = f"[yellow]rejected[/] {escape(r.verdict.reason())}"
            skills = skills_text(ev.skills) if ev else ""
            comps = ", ".join(f"{k} {v.mean:.2f}" for k, v in (r.result.reward_components if r.result else {}).items())
            table.add_row(str(iteration), r.name, verdict, headline(ev) if ev else "-", skills, comps)
        console.print(f"iteration {iteration + 1}/{iterations} done")

    store = open_store(runs_dir)
    try:
        with make_executor(cfg) as pool:
            search = {"n": n, "iterations": iterations, "mode": mode, "steps": steps, "eval_episodes": eval_episodes,
                      "baseline": baseline}
            result, run_id = run_reward_search(
                task, designer, pool, store, {**cfg.model_dump(mode="json"), "search": search}, out_dir=out,
                on_iteration=show,
                n=n, iterations=iterations, steps=steps, eval_episodes=eval_episodes, n_envs=n_envs, seed=seed,
                device=device, baseline=baseline,
            )
    except Exception as exc:  # an LLM backend or cassette failing: a message, not a traceback
        _fail(escape(f"reward search failed: {type(exc).__name__}: {exc}"))
    finally:
        store.close()
    console.print(table)
    best = result.best
    if best is not None:
        console.print(f"best: {best.name} with target {headline(best.result.evaluation)}")
        if best.program is not None:
            console.print(escape(best.program.source))
    else:
        console.print("[yellow]no candidate was accepted and trained[/]")
    _print_llm_cost(designer.client.totals(), time.perf_counter() - start)
    console.print(f"run {run_id} in {runs_dir}/gymsmith.sqlite" + (f"; best program in {out}" if out and best else ""))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
