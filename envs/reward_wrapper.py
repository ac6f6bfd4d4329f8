"""Run a verified reward program during training, and log its components per episode.

Where the program runs (the design choice, measured in ``benchmarks/bench_reward.py``):

* ``inprocess`` — inside the env worker process, which confined itself first (``confined_env_factory``:
  seccomp, network namespace, rlimits; see ``gymsmith.sandbox.inprocess``). The call is a plain function call
  guarded by RestrictedPython and a per-call alarm. This is the default whenever the process is confined
  (SubprocVecEnv workers built with ``confined_env_factory``).
* ``sandbox`` — a persistent sandboxed worker process (``gymsmith.sandbox.Sandbox``), one pipe round trip per
  call. Used wherever the current process is *not* confined, because an unconfined trainer must never execute
  LLM code: ``GeneratedRewardVecEnv`` sends every sub-env's transition of a vectorised step in one round trip
  (DummyVecEnv training), ``GeneratedReward`` one per step.

Both wrappers take a `CompiledProgram` (or a `RewardProgram` / source, compiled once through it) and keep their
episodes in one `RewardEpisodes`, so they report identically. What the program sees is built from the env's
``info["features"]`` and ``info["events"]`` (gymsmith's MiniGrid wrapper puts them there every step).
"""

from __future__ import annotations

import multiprocessing
import operator
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

import gymnasium as gym
import numpy as np

from gymsmith.sandbox import (
    CompiledProgram,
    InProcessProgram,
    Sandbox,
    SandboxError,
    confine_current_process,
    process_confined,
)
from gymsmith.schemas import RewardProgram, Stat

Runner = Literal["auto", "inprocess", "sandbox"]
ProgramLike = CompiledProgram | RewardProgram | str

_SHARED_BOXES: dict[str, Sandbox] = {}


class RewardProgramError(RuntimeError):
    """The program failed during training and ``on_error='raise'`` was asked for."""


class RewardEpisodes:
    """The episodes in flight of ``n`` sub-envs, as a reward program sees them and as the trainer reads them.

    Per sub-env: the previous step's features, the step count and the events so far (the program's ``obs`` and
    ``state``), the per-component sums, the program's return and its faults. When an episode ends they go into
    that step's info (``reward_components``, ``reward_program_return``, ``reward_faults``) and into ``log``,
    which ``pop_episode_log`` hands to the trainer (Eureka-style reward reflection reads those numbers).
    """

    def __init__(self, n: int, max_logged_episodes: int = 10_000) -> None:
        self.features: list[Mapping[str, float] | None] = [None] * n
        self.steps = [0] * n
        self.events: list[tuple[str, ...]] = [()] * n
        #: Component names seen so far, and per sub-env their sums in this episode, in that order.
        self.names: list[str] = []
        self.sums: list[list[float]] = [[] for _ in range(n)]
        self.returns = [0.0] * n
        self.faults = [0] * n
        self.last_fault = ""
        self.log: deque[dict[str, float]] = deque(maxlen=max_logged_episodes)

    def start(self, i: int, info: Mapping[str, Any]) -> None:
        """A new episode of sub-env ``i`` begins with this reset info."""
        if "features" not in info:
            raise ValueError(
                "reward programs need info['features'] from the env at every reset and step; wrap MiniGrid envs "
                "with gymsmith.envs.minigrid_family.wrap_minigrid"
            )
        self.features[i] = info["features"]
        self.steps[i], self.events[i], self.sums[i], self.returns[i], self.faults[i] = 0, (), [], 0.0, 0

    def row(self, i: int, action: Any, info: Mapping[str, Any], env_reward: float, terminated: bool,
            truncated: bool) -> tuple[Any, int, Any, dict[str, Any], dict[str, Any]]:  # fmt: skip
        """The program's arguments for sub-env ``i``'s step: (obs, action, next_obs, info, state)."""
        program_info = {
            "events": tuple(info.get("events") or ()),
            "terminated": bool(terminated),
            "truncated": bool(truncated),
            "env_reward": float(env_reward),
        }
        state = {"episode_step": self.steps[i], "events_so_far": self.events[i]}
        return self.features[i], int(action), info["features"], program_info, state

    def _aligned(self, names: Sequence[str], values: Iterable[float]) -> list[float]:
        """``values`` in the order of ``self.names`` (0 where a name is missing); new names are added to it."""
        new = [name for name in names if name not in self.names]
        if new:  # a program may add components as it goes: what came before gets 0 for them
            self.names = self.names + new
        by_name = dict(zip(names, values, strict=True))
        return [by_name.get(name, 0.0) for name in self.names]

    def fault(self, i: int, exc: SandboxError) -> None:
        self.faults[i] += 1
        self.last_fault = f"{exc.kind}: {exc}"

    def step(self, i: int, row: tuple[Any, ...], total: float, names: Sequence[str], values: Iterable[float],
             done: bool, info: dict[str, Any]) -> bool:  # fmt: skip
        """Add the program's results for the step ``row`` described and move sub-env ``i`` past it; on the
        episode's last step report the episode in ``info`` (and ``log``). One call per sub-env and step."""
        if names != self.names:
            values = self._aligned(names, values)
        sums = self.sums[i]
        if len(sums) < len(self.names):  # a new episode, or components added since: they start at 0
            sums = sums + [0.0] * (len(self.names) - len(sums))
        self.sums[i] = list(map(operator.add, sums, values))
        self.returns[i] += total
        self.steps[i] += 1
        events = row[3]["events"]
        if events:
            self.events[i] = self.events[i] + events
        self.features[i] = row[2]
        if done:
            record = dict(zip(self.names, self.sums[i], strict=True))
            total = self.returns[i]
            info["reward_components"] = record
            info["reward_program_return"] = total
            info["reward_faults"] = self.faults[i]
            self.log.append({**record, "__return__": total, "__faults__": float(self.faults[i])})
        return done

    def pop_log(self) -> list[dict[str, float]]:
        out = list(self.log)
        self.log.clear()
        return out


class _SandboxRunner:
    """Adapter: one-row calls into a persistent Sandbox, shared per program within a process."""

    def __init__(self, program: CompiledProgram) -> None:
        box = _SHARED_BOXES.get(program.digest)
        if box is None:
            box = Sandbox()
            box.load(program)
            _SHARED_BOXES[program.digest] = box
        self._box = box

    def __call__(self, obs: Any, action: int, next_obs: Any, info: Any, state: Any) -> tuple[float, dict[str, float]]:
        names, flat, k = self._box.call_arrays([(obs, action, next_obs, info, state)], encoded=True)
        return flat[0], dict(zip(names, flat[1 : 1 + k], strict=True))


class GeneratedReward(gym.Wrapper):
    """Replaces (or adds to) the env reward with a verified reward program's output.

    Per episode it sums each component; at episode end ``info["reward_components"]`` holds those sums and
    ``pop_episode_log()`` hands them to the trainer, which summarises mean/min/max per component per cycle.
    """

    def __init__(
        self,
        env: gym.Env,
        program: ProgramLike,
        *,
        combine: Literal["replace", "add"] = "replace",
        runner: Runner = "auto",
        on_error: Literal["zero", "raise"] = "zero",
        timeout_s: float = 0.05,
        unconfined_ok: bool = False,
        max_logged_episodes: int = 10_000,
    ) -> None:
        super().__init__(env)
        self.program = CompiledProgram.of(program)
        self.combine = combine
        self.runner_kind: Runner = runner
        self.on_error = on_error
        self.timeout_s = timeout_s
        self.unconfined_ok = unconfined_ok
        self._runner: Callable[..., tuple[float, dict[str, float]]] | None = None
        self.episodes = RewardEpisodes(1, max_logged_episodes)

    @property
    def last_fault(self) -> str:
        return self.episodes.last_fault

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
            return InProcessProgram(self.program, timeout_s=self.timeout_s)
        self.runner_kind = "sandbox"
        return _SandboxRunner(self.program)

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self.episodes.start(0, info)
        if self._runner is None:
            self._runner = self._make_runner()
        return obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, env_reward, terminated, truncated, info = self.env.step(action)
        episodes = self.episodes
        row = episodes.row(0, action, info, env_reward, terminated, truncated)
        try:
            total, comps = self._runner(*row)  # type: ignore[misc]
        except SandboxError as exc:
            if self.on_error == "raise":
                raise RewardProgramError(f"reward program failed ({exc.kind}): {exc}") from exc
            episodes.fault(0, exc)
            total, comps = 0.0, {}
        episodes.step(0, row, total, list(comps), comps.values(), terminated or truncated, info)
        reward = total if self.combine == "replace" else float(env_reward) + total
        return obs, reward, terminated, truncated, info

    def pop_episode_log(self) -> list[dict[str, float]]:
        """Per-episode component sums since the last call (call through ``VecEnv.env_method``)."""
        return self.episodes.pop_log()


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
    from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

    class GeneratedRewardVecEnv(VecEnvWrapper):
        """Batched variant for vectorised envs stepped in the trainer's own (unconfined) process.

        One sandbox round trip per vectorised step carries every sub-env's transition, so the pipe cost is
        paid once per ``num_envs`` steps instead of once per step. Same logging contract as GeneratedReward.
        """

        def __init__(
            self,
            venv: VecEnv,
            program: ProgramLike,
            *,
            combine: Literal["replace", "add"] = "replace",
            on_error: Literal["zero", "raise"] = "zero",
            sandbox: Sandbox | None = None,
            max_logged_episodes: int = 10_000,
        ) -> None:
            super().__init__(venv)
            self.program = CompiledProgram.of(program)
            self.combine = combine
            self.on_error = on_error
            self._box = sandbox or Sandbox()
            self._box.load(self.program)
            self.episodes = RewardEpisodes(venv.num_envs, max_logged_episodes)
            self._actions: Any = None

        @property
        def last_fault(self) -> str:
            return self.episodes.last_fault

        def reset(self) -> Any:
            obs = self.venv.reset()
            for i, info in enumerate(self.venv.reset_infos):
                self.episodes.start(i, info)
            return obs

        def step_async(self, actions: Any) -> None:
            self._actions = np.asarray(actions).tolist()
            self.venv.step_async(actions)

        def step_wait(self) -> Any:
            obs, env_rewards, dones, infos = self.venv.step_wait()
            episodes, done_list = self.episodes, dones.tolist()
            steps = zip(self._actions, env_rewards.tolist(), done_list, infos, strict=True)
            rows = []
            for i, (action, reward, done, info) in enumerate(steps):
                truncated = info.get("TimeLimit.truncated", False)
                rows.append(episodes.row(i, action, info, reward, done and not truncated, truncated))
            try:
                names, flat, k = self._box.call_arrays(rows, encoded=True)  # [total, c1..ck] per row
            except SandboxError as exc:
                if self.on_error == "raise":
                    raise RewardProgramError(f"reward program failed ({exc.kind}): {exc}") from exc
                names, flat, k = [], array("d", bytes(8 * len(rows))), 0
                for i in range(len(rows)):
                    episodes.fault(i, exc)
            w = k + 1
            for i, info in enumerate(infos):
                b = i * w
                if episodes.step(i, rows[i], flat[b], names, flat[b + 1 : b + w], done_list[i], info):
                    episodes.start(i, self.venv.reset_infos[i])
            totals = np.frombuffer(flat, dtype=np.float64)[::w].astype(np.float32)
            rewards = totals if self.combine == "replace" else env_rewards + totals
            return obs, rewards, dones, infos

        def pop_episode_log(self) -> list[dict[str, float]]:
            return self.episodes.pop_log()

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
