"""The Python API the CLI is a thin layer over, for notebooks and scripts.

>>> import gymsmith
>>> summary = gymsmith.run(gymsmith.RunConfig(cycles=2, steps_per_cycle=20_000))
>>> summary = gymsmith.resume(summary.run_id, cycles=4)  # extend it

This module is the front door: it composes the rooms (families, strategies, trainer, loop, store), so it is the
one ground-floor module allowed to import the rooms above it. Everything a run needs is checked here, before a
run row is stored or a step is trained, and every problem is a `ConfigError` naming the field.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gymsmith.config import ConfigError, RunConfig
from gymsmith.schemas import TaskSpec

STORE_NAME = "gymsmith.sqlite"


def make_client(config: RunConfig) -> Any:
    from gymsmith.generator.llm import LLMClient, make_chat_model

    chat = make_chat_model(config.backend, model=config.model, base_url=config.base_url, cassette=config.cassette)
    return LLMClient(
        chat=chat,
        backend=config.backend,
        use_cache=config.use_cache,
        record_path=Path(config.record) if config.record else None,
    )


def open_store(runs_dir: str | Path) -> Any:
    from gymsmith.curricula.store import RunStore

    return RunStore(Path(runs_dir) / STORE_NAME)


@dataclass
class Prepared:
    """A checked config with everything built from it: the family, the resolved task, the strategy."""

    config: RunConfig
    family: Any
    task: TaskSpec
    strategy: Any
    client: Any


def check_config(config: RunConfig) -> tuple[Any, TaskSpec]:
    """Names against their registries, files on disk, devices; returns the target's family and resolved task."""
    import gymsmith.envs  # noqa: F401  (registers the families)
    from gymsmith.agents.policies import POLICY_CHOICES
    from gymsmith.agents.train import resolve_device
    from gymsmith.curricula.strategies import CURRICULA, unread_settings
    from gymsmith.envs.family import family_for
    from gymsmith.envs.params import FamilyError
    from gymsmith.registry import UnknownName

    try:
        CURRICULA.entry(config.curriculum)
    except UnknownName as exc:
        raise ConfigError(f"curriculum: {exc}") from None
    unread = unread_settings(config)
    if unread:
        raise ConfigError(
            f"{', '.join(unread)}: set but not used by curriculum {config.curriculum}; remove "
            f"{'it' if len(unread) == 1 else 'them'} or choose a curriculum that uses "
            f"{'it' if len(unread) == 1 else 'them'}"
        )
    try:
        family = family_for(config.task.target_env, config.params)
        task = family.task(config.task)
    except FamilyError as exc:
        raise ConfigError(f"task.target_env: {exc}") from None
    try:
        resolve_device(config.device)
    except ValueError as exc:
        raise ConfigError(f"device: {exc}") from None
    if config.policy not in POLICY_CHOICES:
        raise ConfigError(f"policy: {config.policy!r} is unknown; choose one of {', '.join(POLICY_CHOICES)}")
    if config.executor == "ray" and importlib.util.find_spec("ray") is None:
        raise ConfigError("executor: ray needs Ray installed (pip install 'gymsmith[ray]'); or use local")
    if config.backend == "local" and CURRICULA.get(config.curriculum).needs_llm:
        from gymsmith.generator.local_models import require_llama_cpp, resolve_local_model

        try:
            require_llama_cpp()
        except ValueError as exc:
            raise ConfigError(f"backend: {exc}") from None
        try:
            resolve_local_model(config.model)
        except ValueError as exc:
            raise ConfigError(f"model: {exc}") from None
    if config.backend == "replay" and not config.cassette:
        raise ConfigError("backend=replay needs cassette: the path of a recorded cassette")
    if config.cassette and not Path(config.cassette).exists():
        raise ConfigError(f"cassette: file {config.cassette} does not exist")
    if config.prompts_dir and not Path(config.prompts_dir).is_dir():
        raise ConfigError(f"prompts_dir: {config.prompts_dir} is not a directory")
    return family, task


def prepare(config: RunConfig) -> Prepared:
    """Check the config and build the strategy for it (a family that cannot serve it is a ConfigError)."""
    from gymsmith.curricula.strategies import CURRICULA, build
    from gymsmith.envs.params import FamilyError

    family, task = check_config(config)
    if config.reward is not None:
        from gymsmith.generator.verify_reward import reward_fixtures, verify_reward_program

        verdict = verify_reward_program(config.reward, reward_fixtures(family))
        if not verdict.accepted:
            raise ConfigError(f"reward: the verifier rejected {config.reward.name!r}: {verdict.reason()}")
    client = make_client(config) if CURRICULA.get(config.curriculum).needs_llm else None
    try:
        strategy = build(config, family, task, client)
    except FamilyError as exc:
        raise ConfigError(f"curriculum: {exc}") from None
    return Prepared(config, family, task, strategy, client)


def _execute(prepared: Prepared, run_id: str, callbacks: Any) -> Any:
    from gymsmith.agents.train import Trainer
    from gymsmith.curricula.loop import CallbackList, CurriculumLoop

    config = prepared.config
    tb = str(Path(config.runs_dir) / run_id / "tensorboard") if config.tensorboard else None
    trainer = Trainer(
        config.task.target_env,
        n_envs=config.n_envs,
        seed=config.seed,
        device=config.device,
        vec=config.vec,
        ppo_kwargs=config.ppo,
        tensorboard_dir=tb,
        reward_program=config.reward,
        family=prepared.family,
        policy=config.policy,
    )
    store = open_store(config.runs_dir)
    if not isinstance(callbacks, CallbackList):
        callbacks = CallbackList(list(callbacks or []))
    loop = CurriculumLoop(config, prepared.task, store, run_id, prepared.strategy, trainer, callbacks=callbacks)
    try:
        summary = loop.run()
    finally:
        trainer.close()
        store.close()
    if prepared.client is not None:
        summary.llm_totals = prepared.client.totals()
    return summary


def run(config: RunConfig, callbacks: Any = None) -> Any:
    """Start a run; returns a `RunSummary` with per-cycle results. ``callbacks``: `LoopCallback`s to observe it."""
    prepared = prepare(config)
    store = open_store(config.runs_dir)
    try:
        run_id = store.create_run(config.model_dump(mode="json"))
    finally:
        store.close()
    return _execute(prepared, run_id, callbacks)


def resumable_config(run_id: str, runs_dir: str | Path = "runs", cycles: int | None = None) -> RunConfig:
    """The stored config of ``run_id``, with its cycle count raised to ``cycles`` when given (to extend it).

    A resumed run keeps everything else it was started with: the history it resumes from was produced by it.
    """
    store_path = Path(runs_dir) / STORE_NAME
    if not store_path.exists():
        raise ConfigError(f"resume {run_id}: no run store at {store_path} (pass the runs directory)")
    store = open_store(runs_dir)
    try:
        info = store.run_info(run_id)
    except KeyError as exc:
        raise ConfigError(str(exc).strip("'\"")) from None
    finally:
        store.close()
    if info["kind"] != "curriculum":
        raise ConfigError(f"resume {run_id}: it is a {info['kind']} run, not a curriculum run")
    stored = info["config"]
    try:
        config = RunConfig.model_validate({**stored, "runs_dir": str(runs_dir)})
    except ValueError as exc:
        raise ConfigError(f"stored config of {run_id} is no longer valid: {exc}") from None
    if cycles is not None:
        if cycles < config.cycles:
            raise ConfigError(f"cycles: {cycles} is fewer than the {config.cycles} the run was started with")
        config = config.model_copy(update={"cycles": cycles})
    return config


def resume(run_id: str, runs_dir: str | Path = "runs", cycles: int | None = None, callbacks: Any = None) -> Any:
    """Continue ``run_id`` after its last committed cycle (and up to ``cycles`` to extend it)."""
    config = resumable_config(run_id, runs_dir, cycles)
    return _execute(prepare(config), run_id, callbacks)


__all__ = ["ConfigError", "RunConfig", "check_config", "make_client", "open_store", "prepare", "resume", "run"]


def load_spec(source: str | Path) -> Any:
    """A level/world spec from a JSON file (a bare spec or a `gymsmith generate` entry), or, given a registered
    env id, that env's spec in its family's language (what `gymsmith show --beside` compares against)."""
    import json

    from pydantic import TypeAdapter, ValidationError

    from gymsmith.envs import family_for
    from gymsmith.envs.params import FamilyError
    from gymsmith.schemas import AnySpec

    if isinstance(source, str):
        try:
            return family_for(source).target_spec()
        except FamilyError as exc:
            raise ConfigError(str(exc)) from None
    try:
        data = json.loads(source.read_text())
        return TypeAdapter(AnySpec).validate_python(data.get("spec", data) if isinstance(data, dict) else data)
    except (OSError, json.JSONDecodeError, ValidationError) as exc:
        raise ConfigError(f"cannot read spec {source}: {exc}") from None


def load_reward(path: Path) -> dict[str, Any]:
    """A reward program file: the JSON `gymsmith reward --out` writes, or Python source (code mode)."""
    import json

    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"reward: cannot read {path}: {exc.strerror}") from None
    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"reward: {path} is not valid JSON ({exc.msg})") from None
        return data if isinstance(data, dict) else {}
    return {"name": path.stem, "mode": "code", "source": text}
