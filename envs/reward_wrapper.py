"""Run a verified reward program during training, and log its components per episode.

Where the program runs (the design choice, measured in ``benchmarks/bench_reward.py``):

* ``inprocess`` — inside the env worker process, which confined itself first (``confined_env_factory``:
  seccomp, network namespace, rlimits; see ``gymsmith.generator.sandbox.confine_current_process``). The call
  is a plain function call guarded by RestrictedPython and a per-call alarm, so the overhead is a few
  microseconds per step and the >= 0.90x steps/s goal holds with room to spare. This is the default whenever
  the process is confined (SubprocVecEnv workers built with ``confined_env_factory``).
* ``sandbox`` — one persistent sandboxed worker process (shared per program within a process), one pipe
  round trip per step. Used automatically where the current process is *not* confined (e.g. a DummyVecEnv in
  the trainer's own process), because an unconfined trainer must never execute LLM code. It is correct but
  several times slower per step; train with subprocess workers for speed.

Observation/info convention (what the program sees) is built from the env's ``info["features"]`` and
``info["events"]`` (gymsmith's MiniGrid wrapper puts them there every step).
"""

from __future__ import annotations

import hashlib
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

import gymnasium as gym

from gymsmith.generator.sandbox import (
    InProcessProgram,
    Sandbox,
    SandboxError,
    compile_program,
    confine_current_process,
    process_confined,
)
from gymsmith.schemas import RewardProgram, Stat

Runner = Literal["auto", "inprocess", "sandbox"]

_SHARED_BOXES: dict[str, Sandbox] = {}


class RewardProgramError(RuntimeError):
    """The program failed during training and ``on_error='raise'`` was asked for."""


class _SandboxRunner:
    """Adapter: one-row calls into a (shared) persistent Sandbox."""

    def __init__(self, source: str, code: Any) -> None:
        key = hashlib.sha256(source.encode()).hexdigest()
        box = _SHARED_BOXES.get(key)
        if box is None:
            box = Sandbox()
            box.load(code)
            _SHARED_BOXES[key] = box
        self._box = box

    def __call__(self, obs: Any, action: int, next_obs: Any, info: Any, state: Any) -> tuple[float, dict[str, float]]:
        names, flat, k = self._box.call_arrays([(obs, action, next_obs, info, state)], encoded=True)
        return flat[0], dict(zip(names, flat[1 : 1 + k], strict=True))


class GeneratedReward(gym.Wrapper):
    """Replaces (or adds to) the env reward with a verified reward program's output.

    Per episode it sums each component; at episode end ``info["reward_components"]`` holds those sums and
    ``pop_episode_log()`` hands them to the trainer, which summarises mean/min/max per component per cycle
    (Eureka-style reward reflection feeds those numbers back to the LLM).
    """

    def __init__(
        self,
        env: gym.Env,
        program: RewardProgram | str,
        *,
        combine: Literal["replace", "add"] = "replace",
        runner: Runner = "auto",
        on_error: Literal["zero", "raise"] = "zero",
        timeout_s: float = 0.05,
        unconfined_ok: bool = False,
        max_logged_episodes: int = 10_000,
    ) -> None:
        super().__init__(env)
        from gymsmith.generator.verify_reward import static_check

        self.program = program if isinstance(program, RewardProgram) else RewardProgram(mode="code", source=program)
        reasons = static_check(self.program.source)
        if reasons:
            raise ValueError("reward program refused by the static layer: " + "; ".join(reasons))
        self._code = compile_program(self.program.source)
        self.combine = combine
        self.runner_kind: Runner = runner
        self.on_error = on_error
        self.timeout_s = timeout_s
        self.unconfined_ok = unconfined_ok
        self._runner: Callable[..., tuple[float, dict[str, float]]] | None = None
        self._features: Mapping[str, float] | None = None
        self._step = 0
        self._events: tuple[str, ...] = ()
        self._sums: dict[str, float] = {}
        self._return = 0.0
        self._faults = 0
        self.last_fault = ""
        self.episode_log: deque[dict[str, float]] = deque(maxlen=max_logged_episodes)

    # -- runner choice is lazy: env factories build the wrapper before the worker confines itself

    def _make_runner(self) -> Callable[..., tuple[float, dict[str, float]]]:
        kind = self.runner_kind
        if kind == "auto":
            kind = "inprocess" if process_confined() else "sandbox"
        if kind == "inprocess":
            if not process_confined() and not self.unconfined_ok:
                raise RuntimeError(
                    "runner='inprocess' needs a confined process (build envs with confined_env_factory) "
                    "or unconfined_ok=True for programs you trust"
                )
            self.runner_kind = "inprocess"
            return InProcessProgram(self._code, timeout_s=self.timeout_s)
        self.runner_kind = "sandbox"
        return _SandboxRunner(self.program.source, self._code)

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        if "features" not in info:
            raise ValueError(
                "GeneratedReward needs info['features'] from the env; wrap MiniGrid envs with "
                "gymsmith.envs.minigrid_family.wrap_minigrid"
            )
        if self._runner is None:
            self._runner = self._make_runner()
        self._features = info["features"]
        self._step = 0
        self._events = ()
        self._sums = {}
        self._return = 0.0
        self._faults = 0
        return obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, env_reward, terminated, truncated, info = self.env.step(action)
        features = info["features"]
        events = info.get("events") or ()
        program_info = {
            "events": tuple(events),
            "terminated": bool(terminated),
            "truncated": bool(truncated),
            "env_reward": float(env_reward),
        }
        state = {"episode_step": self._step, "events_so_far": self._events}
        try:
            total, comps = self._runner(self._features, int(action), features, program_info, state)  # type: ignore[misc]
        except SandboxError as exc:
            if self.on_error == "raise":
                raise RewardProgramError(f"reward program failed ({exc.kind}): {exc}") from exc
            self._faults += 1
            self.last_fault = f"{exc.kind}: {exc}"
            total, comps = 0.0, {}
        sums = self._sums
        for name, value in comps.items():
            sums[name] = sums.get(name, 0.0) + value
        self._return += total
        self._step += 1
        if events:
            self._events = self._events + tuple(events)
        self._features = features
        reward = total if self.combine == "replace" else float(env_reward) + total
        if terminated or truncated:
            record = dict(sums)
            info["reward_components"] = record
            info["reward_program_return"] = self._return
            info["reward_faults"] = self._faults
            self.episode_log.append({**record, "__return__": self._return, "__faults__": float(self._faults)})
        return obs, reward, terminated, truncated, info

    def pop_episode_log(self) -> list[dict[str, float]]:
        """Per-episode component sums since the last call (call through ``VecEnv.env_method``)."""
        out = list(self.episode_log)
        self.episode_log.clear()
        return out


def summarise_components(episodes: Iterable[Mapping[str, float]]) -> dict[str, Stat]:
    """mean/std/min/max of each component's per-episode sum, over all episodes of a cycle."""
    values: dict[str, list[float]] = {}
    episodes = list(episodes)
    names = sorted({k for ep in episodes for k in ep})
    for name in names:
        values[name] = [float(ep.get(name, 0.0)) for ep in episodes]
    return {name.strip("_") if name.startswith("__") else name: Stat.of(v) for name, v in values.items()}


def _vec_wrapper_class() -> type:
    """Build the VecEnv wrapper class on first use, so importing this module does not import SB3 (and torch)."""
    cls = globals().get("_VEC_CLASS")
    if cls is not None:
        return cls
    import numpy as np
    from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

    class GeneratedRewardVecEnv(VecEnvWrapper):
        """Batched variant for vectorised envs stepped in the trainer's own (unconfined) process.

        One sandbox round trip per vectorised step carries every sub-env's transition, so the pipe cost is
        paid once per ``num_envs`` steps instead of once per step. Same logging contract as GeneratedReward.
        """

        def __init__(
            self,
            venv: VecEnv,
            program: RewardProgram | str,
            *,
            combine: Literal["replace", "add"] = "replace",
            on_error: Literal["zero", "raise"] = "zero",
            sandbox: Sandbox | None = None,
            max_logged_episodes: int = 10_000,
        ) -> None:
            super().__init__(venv)
            from gymsmith.generator.verify_reward import static_check

            self.program = program if isinstance(program, RewardProgram) else RewardProgram(mode="code", source=program)
            reasons = static_check(self.program.source)
            if reasons:
                raise ValueError("reward program refused by the static layer: " + "; ".join(reasons))
            self.combine = combine
            self.on_error = on_error
            self._box = sandbox or Sandbox()
            self._box.load(compile_program(self.program.source))
            n = venv.num_envs
            self._prev: list[Mapping[str, float] | None] = [None] * n
            self._steps = [0] * n
            self._events: list[tuple[str, ...]] = [()] * n
            self._sums: list[dict[str, float]] = [{} for _ in range(n)]
            self._returns = [0.0] * n
            self._faults = [0] * n
            self._actions: Any = None
            self.last_fault = ""
            self.episode_log: deque[dict[str, float]] = deque(maxlen=max_logged_episodes)

        def _start_episode(self, i: int, info: Mapping[str, Any]) -> None:
            if "features" not in info:
                raise ValueError("GeneratedRewardVecEnv needs info['features'] from every sub-env at reset")
            self._prev[i] = info["features"]
            self._steps[i], self._events[i], self._sums[i] = 0, (), {}
            self._returns[i], self._faults[i] = 0.0, 0

        def reset(self) -> Any:
            obs = self.venv.reset()
            for i, info in enumerate(self.venv.reset_infos):
                self._start_episode(i, info)
            return obs

        def step_async(self, actions: Any) -> None:
            self._actions = actions
            self.venv.step_async(actions)

        def step_wait(self) -> Any:
            obs, env_rewards, dones, infos = self.venv.step_wait()
            rows = []
            for i, info in enumerate(infos):
                truncated = bool(info.get("TimeLimit.truncated", False))
                rows.append(
                    (
                        self._prev[i],
                        int(self._actions[i]),
                        info["features"],
                        {
                            "events": tuple(info.get("events") or ()),
                            "terminated": bool(dones[i]) and not truncated,
                            "truncated": truncated,
                            "env_reward": float(env_rewards[i]),
                        },
                        {"episode_step": self._steps[i], "events_so_far": self._events[i]},
                    )
                )
            n = len(rows)
            try:
                names, flat, k = self._box.call_arrays(rows, encoded=True)
            except SandboxError as exc:
                if self.on_error == "raise":
                    raise RewardProgramError(f"reward program failed ({exc.kind}): {exc}") from exc
                self.last_fault = f"{exc.kind}: {exc}"
                names, k = [], 0
                flat = [0.0] * n
                for i in range(n):
                    self._faults[i] += 1
            width = k + 1
            totals = np.asarray(flat[0::width], dtype=np.float32)
            rewards = totals if self.combine == "replace" else env_rewards + totals
            for i, info in enumerate(infos):
                sums = self._sums[i]
                base = i * width
                for j, name in enumerate(names):
                    sums[name] = sums.get(name, 0.0) + flat[base + 1 + j]
                self._returns[i] += flat[base]
                self._steps[i] += 1
                events = rows[i][3]["events"]
                if events:
                    self._events[i] = self._events[i] + events
                if dones[i]:
                    record = dict(sums)
                    info["reward_components"] = record
                    info["reward_program_return"] = self._returns[i]
                    info["reward_faults"] = self._faults[i]
                    self.episode_log.append(
                        {**record, "__return__": self._returns[i], "__faults__": float(self._faults[i])}
                    )
                    self._start_episode(i, self.venv.reset_infos[i])
                else:
                    self._prev[i] = info["features"]
            return obs, rewards, dones, infos

        def pop_episode_log(self) -> list[dict[str, float]]:
            out = list(self.episode_log)
            self.episode_log.clear()
            return out

        def close(self) -> None:
            self._box.close()
            self.venv.close()

    globals()["_VEC_CLASS"] = GeneratedRewardVecEnv
    return GeneratedRewardVecEnv


def __getattr__(name: str) -> Any:
    if name == "GeneratedRewardVecEnv":
        return _vec_wrapper_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class confined_env_factory:  # noqa: N801 - used like a function: confined_env_factory(make_env)
    """Env factory for subprocess workers: builds the env, then confines the worker process for good.

    Picklable (SubprocVecEnv ships factories to workers). In the main process (DummyVecEnv) it does not
    confine — a trainer must not lose its network or files — and GeneratedReward then uses the sandbox runner.
    """

    def __init__(self, env_fn: Callable[[], gym.Env]) -> None:
        self.env_fn = env_fn

    def __call__(self) -> gym.Env:
        env = self.env_fn()
        if multiprocessing.parent_process() is not None:
            confine_current_process()
        return env
