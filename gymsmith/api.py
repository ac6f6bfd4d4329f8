"""The Python API the CLI is a thin layer over, for notebooks and scripts.

>>> import gymsmith
>>> summary = gymsmith.run(gymsmith.RunConfig(cycles=2, steps_per_cycle=20_000))
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gymsmith.config import ConfigError, RunConfig

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


def make_strategy(config: RunConfig, client: Any = None) -> Any:
    """Build the curriculum named in the config; LLM strategies get the shared LLM client."""
    from gymsmith.curricula import strategies

    return strategies.build(config, client)


def open_store(runs_dir: str | Path) -> Any:
    from gymsmith.curricula.store import RunStore

    return RunStore(Path(runs_dir) / STORE_NAME)


def run(config: RunConfig, hooks: Any = None, resume: str | None = None) -> Any:
    """Run (or resume) a curriculum; returns a `RunSummary` with per-cycle target success."""
    from gymsmith.agents.train import Trainer
    from gymsmith.curricula.loop import CurriculumLoop, SilentHooks

    store = open_store(config.runs_dir)
    if resume:
        stored = RunConfig.model_validate(store.run_config(resume))
        # a resumed run keeps its stored config; only the cycle count may be raised to extend it
        config = stored.model_copy(update={"cycles": max(stored.cycles, config.cycles)})
        run_id = resume
    else:
        config.check()
        run_id = store.create_run(config.model_dump(mode="json"))
    client = make_client(config) if config.curriculum.startswith("llm") else None
    strategy = make_strategy(config, client)
    tb = str(Path(config.runs_dir) / run_id / "tensorboard") if config.tensorboard else None
    trainer = Trainer(
        config.task.target_env,
        n_envs=config.n_envs,
        seed=config.seed,
        device=config.device,
        vec=config.vec,
        ppo_kwargs=config.ppo,
        tensorboard_dir=tb,
    )
    loop = CurriculumLoop(config, store, run_id, strategy, trainer, hooks=hooks or SilentHooks())
    try:
        summary = loop.run()
    finally:
        trainer.close()
    if client is not None:
        summary.llm_totals = client.totals()
    store.close()
    return summary


__all__ = ["ConfigError", "RunConfig", "run", "make_client", "make_strategy", "open_store"]
