"""The run configuration: one object (or YAML file) fully describes a run, and is stored with it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator

from gymsmith.schemas import TaskSpec, _Model

CURRICULA = ("llm", "llm-reward", "plr", "lp", "dr", "target")


class ConfigError(ValueError):
    """A bad config value, reported with the field name before any training starts."""


class RunConfig(_Model):
    task: TaskSpec = Field(default_factory=TaskSpec)
    curriculum: Literal["llm", "llm-reward", "plr", "lp", "dr", "target"] = "llm"
    cycles: int = Field(default=3, ge=1, le=1000)
    steps_per_cycle: int = Field(default=40_000, ge=128)
    n_envs: int = Field(default=8, ge=1, le=256)
    seed: int = 0
    device: str = "auto"
    vec: Literal["dummy", "subproc"] = "dummy"
    eval_episodes: int = Field(default=50, ge=1)
    #: Share of training episodes on the unmodified target (EnvGen trained on both).
    target_ratio: float = Field(default=0.25, ge=0.0, le=1.0)
    # LLM
    backend: Literal["local", "openai", "replay"] = "local"
    model: str | None = None
    base_url: str | None = None
    cassette: str | None = None
    record: str | None = None
    k_levels: int = Field(default=3, ge=1, le=8)
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    max_tokens: int = Field(default=700, ge=64, le=8192)
    use_cache: bool = True
    constrained: bool = True
    prompts_dir: str | None = None
    # output
    runs_dir: str = "runs"
    tensorboard: bool = False
    ppo: dict[str, Any] = Field(default_factory=dict)

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        if value not in ("auto", "cpu") and not value.startswith("cuda"):
            raise ValueError("device must be auto, cpu or cuda[:N]")
        return value

    def check(self) -> None:
        """Cross-field checks that need the filesystem; run before any training."""
        if self.backend == "replay" and not self.cassette:
            raise ConfigError("backend=replay needs cassette: the path of a recorded cassette")
        if self.cassette and not Path(self.cassette).exists():
            raise ConfigError(f"cassette: file {self.cassette} does not exist")
        if self.prompts_dir and not Path(self.prompts_dir).is_dir():
            raise ConfigError(f"prompts_dir: {self.prompts_dir} is not a directory")


def _format_errors(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())


def build_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> RunConfig:
    """YAML file first, then CLI overrides (None means 'not given'); errors name the field."""
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
            data.setdefault("task", {})
            data["task"] = {**(data["task"] or {}), key: value}
        else:
            data[key] = value
    try:
        config = RunConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"invalid run config: {_format_errors(exc)}") from exc
    config.check()
    return config
