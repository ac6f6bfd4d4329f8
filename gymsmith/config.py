"""The run configuration: one object (or YAML file) fully describes a run, and is stored with it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator

from gymsmith.schemas import RewardProgram, TaskSpec, _Model


class ConfigError(ValueError):
    """A bad config value, reported with the field name before any training starts."""


class PLRSettings(_Model):
    """Prioritized Level Replay (Jiang et al. 2021); defaults are the paper's Procgen values where it has one."""

    #: Size of the fixed training set of levels, each a (family source, seed) pair drawn once from the run seed.
    num_levels: int = Field(default=200, ge=1, le=100_000)
    #: Probability p of replaying a seen level rather than exploring an unseen one (the paper's P_D).
    replay_prob: float = Field(default=0.5, ge=0.0, le=1.0)
    #: Temperature beta of the rank prioritisation h(S_i)^(1/beta), h = 1/rank.
    beta: float = Field(default=0.1, gt=0.0, le=10.0)
    #: Mixing coefficient rho of the staleness distribution: P = (1 - rho) P_S + rho P_C.
    rho: float = Field(default=0.1, ge=0.0, le=1.0)
    #: Score update S <- (1 - alpha) S + alpha s; 1.0 keeps the latest episode's score as in the paper.
    score_alpha: float = Field(default=1.0, gt=0.0, le=1.0)


class LPSettings(_Model):
    """Learning progress over a fixed ladder of level buckets."""

    #: Smoothing of |delta success| per bucket (exponential moving average weight of the newest cycle).
    alpha: float = Field(default=0.5, gt=0.0, le=1.0)
    #: Share of episodes spread uniformly over all buckets, so that stalled buckets are still measured.
    eps: float = Field(default=0.2, ge=0.0, le=1.0)


class DRSettings(_Model):
    """Domain randomisation over the target family's ranges."""

    #: Random valid specs drawn per cycle; each is itself a distribution (positions re-sampled per episode).
    levels_per_cycle: int = Field(default=8, ge=1, le=64)


class LLMCurriculumSettings(_Model):
    """How the LLM's proposals become the training distribution."""

    #: ``latest``: train on the newest proposal's levels only, equal weights (EnvGen). ``archive``: keep every
    #: accepted level and weight it by learnability 4p(1-p) of its training success p, so levels the agent
    #: already masters (or cannot touch) give way to those it is learning, whatever the LLM repeats.
    mixture: Literal["latest", "archive"] = "latest"
    #: Levels trained on per cycle in ``archive`` mode (the newest proposal's levels are always among them).
    archive_size: int = Field(default=6, ge=1, le=64)
    #: Weight floor for tried levels, so a level is never dropped on one noisy estimate.
    floor: float = Field(default=0.05, ge=0.0, le=1.0)
    #: ``archive`` mode: levels at or above this training success count as mastered: the prompt lists them and
    #: their weight drops to ``floor``.
    mastered: float = Field(default=0.9, ge=0.0, le=1.0)
    #: Goals the LLM writes with its levels (0: none); they are probed in every cycle's evaluation and shown
    #: back to it as per-goal success.
    goals: int = Field(default=0, ge=0, le=8)
    #: EnvGen's schedule: the first ``generated_cycles`` cycles train on the LLM's levels (plus the run's
    #: ``target_ratio`` of episodes on the target) and every later cycle on the target alone, without an LLM call
    #: (EnvGen on Crafter: 4 cycles with generated worlds, then the real game). None: generated levels every cycle.
    generated_cycles: int | None = Field(default=None, ge=0)


class PaceSettings(_Model):
    """How far ahead of the agent an LLM curriculum's levels may be, measured on the built levels.

    Asked for easy levels, the small local models still write ones as long as the target (the demo's target
    success fell 0.14 -> 0.00 on them). While the agent's target success is below ``until``, a
    proposed level the family's solver needs more than ``target's steps x (start + success)`` steps for trains as
    the hardest of its own easier versions that fits (`Family.easier`); one with none is sent back once as too
    hard, then rejected. Families without a solver are not paced.
    """

    until: float = Field(default=0.5, ge=0.0, le=1.0)
    start: float = Field(default=0.5, ge=0.0, le=1.0)
    #: Level seeds the solver is run on, per level and for the target.
    seeds: int = Field(default=4, ge=1, le=64)
    #: Keep the target's skills: a too-hard level trains as the hardest fitting version that still needs the
    #: target skills it needs (a smaller locked room before a lock-free one; where none fits, the smallest that
    #: still needs them), and one level of an answer whose levels never need a skill the solver uses on the
    #: target is sent back. Off by default: on, the demo (`make demo`) reached 0.60 instead of 0.96-1.00 (one
    #: run), and on the suite's key-and-corridor target it changed nothing (BENCHMARKS.md: the default model
    #: wrote no lock even when asked, and replay gives an unsolved locked level little weight).
    cover_skills: bool = False


class ReplaySettings(_Model):
    """The ``llm-replay`` hybrid: the LLM writes level generators rarely, level replay works inside them."""

    #: Ask the LLM for new generators every this many cycles (the first cycle always asks).
    llm_every: int = Field(default=4, ge=1, le=100)
    #: ...or sooner, when target success has not risen by ``stall_delta`` over this many cycles (0: never).
    stall_cycles: int = Field(default=2, ge=0, le=100)
    stall_delta: float = Field(default=0.05, ge=0.0, le=1.0)
    #: Level seeds drawn per generator: a level is a (generator, seed) pair, as in PLR.
    seeds_per_generator: int = Field(default=16, ge=1, le=1000)
    #: ACCEL-style edits per cycle: small changes of the most learnable generators' parameters.
    edits_per_cycle: int = Field(default=2, ge=0, le=16)
    #: An edit is kept while its measured learnability 4p(1-p) is at least this (after it has been tried).
    keep_learnability: float = Field(default=0.1, ge=0.0, le=1.0)
    #: Start the pool from the family's own level generators (the ones `plr` replays: easier variants of the
    #: target's structure, and the target's): the LLM's generators then add to what level replay has instead of
    #: replacing it, and edits start from the target's shape as in ACCEL. These stay in the pool.
    family_sources: bool = True
    #: Most generators kept at once besides the family's (the least learnable tried ones go first; the LLM's
    #: newest never do).
    max_generators: int = Field(default=24, ge=2, le=256)
    #: PLR's knobs for replay inside the generators (Jiang et al. 2021): replay probability, rank temperature,
    #: staleness mix.
    replay_prob: float = Field(default=0.5, ge=0.0, le=1.0)
    beta: float = Field(default=0.1, gt=0.0, le=10.0)
    rho: float = Field(default=0.1, ge=0.0, le=1.0)


class RunConfig(_Model):
    """Everything a run needs; names (curricula, families) are checked against their registries by
    `gymsmith.api.check_config` before anything is stored or trained."""

    task: TaskSpec = Field(default_factory=TaskSpec)
    #: A registered curriculum (``gymsmith run --help`` lists them).
    curriculum: str = "llm"
    #: What may vary in the target's family: ``name=LO..HI``, ``name=a|b`` or ``name=VALUE`` (``--param``);
    #: needed by the generating curricula on Gymnasium envs without a dedicated family.
    params: list[str] = Field(default_factory=list)
    #: A reward program to train with instead of the env's reward (e.g. the best one ``gymsmith reward`` found);
    #: verified before the run starts, like every program.
    reward: RewardProgram | None = None
    cycles: int = Field(default=3, ge=1, le=1000)
    steps_per_cycle: int = Field(default=40_000, ge=128)
    n_envs: int = Field(default=8, ge=1, le=256)
    seed: int = 0
    device: str = "auto"
    #: ``auto``: a process per env (SubprocVecEnv) on machines with 4 or more cores, else the trainer's own
    #: process (`gymsmith.agents.train.resolve_vec`, measured in BENCHMARKS.md).
    vec: Literal["auto", "dummy", "subproc"] = "auto"
    #: The image encoder for RGB observations (``auto``, ``nature-cnn``, ``impala``; checked by
    #: `gymsmith.api.check_config`); other observations ignore ``auto`` and refuse the rest.
    policy: str = "auto"
    #: Where independent candidate trainings run: local processes, or Ray tasks (see agents/executors.py).
    executor: Literal["local", "ray"] = "local"
    #: Ray cluster to join: "auto" (the one `ray start` began on this node), "HOST:PORT", or None for a local
    #: Ray instance started and stopped with the run.
    ray_address: str | None = None
    #: Candidate trainings at once; None means as many as the cores (local) or the cluster (ray) allow.
    parallel: int | None = Field(default=None, ge=1, le=4096)
    eval_episodes: int = Field(default=50, ge=1)
    #: Share of training episodes on the unmodified target (EnvGen trained on both).
    target_ratio: float = Field(default=0.25, ge=0.0, le=1.0)
    # LLM
    backend: Literal["local", "openai", "replay"] = "local"
    model: str | None = None
    base_url: str | None = None
    cassette: str | None = None
    record: str | None = None
    #: Levels per proposal (llm), or reward candidates per cycle (llm-reward).
    k_levels: int = Field(default=3, ge=1, le=8)
    reward_mode: Literal["compose", "code"] = "compose"
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    max_tokens: int = Field(default=700, ge=64, le=8192)
    use_cache: bool = True
    constrained: bool = True
    prompts_dir: str | None = None
    # output
    runs_dir: str = "runs"
    tensorboard: bool = False
    ppo: dict[str, Any] = Field(default_factory=dict)
    # classic curricula
    plr: PLRSettings = Field(default_factory=PLRSettings)
    lp: LPSettings = Field(default_factory=LPSettings)
    dr: DRSettings = Field(default_factory=DRSettings)
    llm: LLMCurriculumSettings = Field(default_factory=LLMCurriculumSettings)
    replay: ReplaySettings = Field(default_factory=ReplaySettings)
    pace: PaceSettings = Field(default_factory=PaceSettings)

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        if value not in ("auto", "cpu") and not value.startswith("cuda"):
            raise ValueError("device must be auto, cpu or cuda[:N]")
        return value

    @field_validator("ray_address")
    @classmethod
    def _ray_address(cls, value: str | None) -> str | None:
        return None if value is None or value.strip().lower() in ("", "none", "local") else value.strip()


def _format_errors(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())


def build_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> RunConfig:
    """YAML file first, then CLI overrides (None means 'not given'); errors name the field.

    Only the values' shapes are checked here; `gymsmith.api.check_config` checks names and files."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read config {path}: {exc}") from exc
        if not isinstance(loaded, dict):
            raise ConfigError(f"config {path} must be a mapping of field: value")
        data.update(loaded)
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key in ("target_env", "description"):
            data["task"] = {**(data.get("task") or {}), key: value}
        elif "." in key:  # a nested setting (``llm.generated_cycles``): the file's other values in it stay
            section, name = key.split(".", 1)
            data[section] = {**(data.get(section) or {}), name: value}
        elif isinstance(value, dict) and isinstance(data.get(key), dict):
            # a flag setting one field of a section keeps the section's other fields from the file
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"invalid run config: {_format_errors(exc)}") from exc
