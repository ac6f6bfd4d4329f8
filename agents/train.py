"""SB3 PPO training on an env mixture and evaluation on the unmodified target.

One `Trainer` lives for a whole run: the policy keeps learning across cycles (that is what a curriculum is),
and only the mixture its vectorised envs sample from changes between cycles.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv, VecMonitor

from gymsmith.agents.executors import available_cores
from gymsmith.agents.policies import policy_for
from gymsmith.envs.family import Family, family_for, make_env
from gymsmith.envs.goals import goal_success
from gymsmith.envs.mixture import MixtureEnv
from gymsmith.sandbox import CompiledProgram
from gymsmith.schemas import EnvMixture, EvalResult, Goal, MixtureEntry, RewardProgram, Stat, TargetEnv, TrainResult

#: PPO settings that learn small MiniGrid key-and-door tasks on small budgets (close to rl-starter-files' defaults).
DEFAULT_PPO: dict[str, Any] = {
    "n_steps": 128,
    "batch_size": 256,
    "n_epochs": 4,
    "learning_rate": 7e-4,
    "gamma": 0.99,
    "gae_lambda": 0.95,
    "ent_coef": 0.01,
    "clip_range": 0.2,
    "max_grad_norm": 0.5,
}


def resolve_device(device: str = "auto") -> str:
    """``auto`` means CUDA when present; an explicit ``cuda`` without a GPU is an error, not a silent CPU run."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but torch sees no CUDA device")
    if device != "cpu" and not device.startswith("cuda"):
        raise ValueError(f"device must be auto, cpu or cuda[:N], not {device!r}")
    return device


#: Below this many cores ``vec: auto`` keeps the envs in the trainer's process (see `resolve_vec`).
SUBPROC_MIN_CORES = 4


def resolve_vec(vec: str, n_envs: int) -> str:
    """``auto``: a process per env (SubprocVecEnv) where there are cores to run them, else one process.

    Measured on Crafter (``benchmarks/bench_crafter.py``, BENCHMARKS.md): on 2 shared cores 8 envs in worker
    processes trained slower than in the trainer's process (190 vs 234 steps/s): the workers only take turns
    with the learner on the same cores and add pipe traffic. With 4 or more cores the env steps run in parallel.
    """
    if vec == "auto":
        return "subproc" if n_envs > 1 and available_cores() >= SUBPROC_MIN_CORES else "dummy"
    if vec not in ("dummy", "subproc"):
        raise ValueError(f"vec must be auto, dummy or subproc, not {vec!r}")
    return vec


def configure_threads(n_envs_processes: int = 1) -> None:
    """Leave cores to env worker processes: small policies gain nothing from many torch threads.

    ``GYMSMITH_TORCH_THREADS`` pins the count: on a shared or oversubscribed machine (CI, parallel test
    runs) intra-op threads spin against each other and a single thread is several times faster.
    """
    pinned = os.environ.get("GYMSMITH_TORCH_THREADS", "").strip()
    if pinned.isdigit() and int(pinned) > 0:
        torch.set_num_threads(int(pinned))
        return
    cores = os.cpu_count() or 1
    torch.set_num_threads(max(1, min(4, cores // max(1, n_envs_processes))))


def _digest(program: RewardProgram | None) -> str:
    return program.digest() if program is not None else ""


def reward_label(program: RewardProgram | None) -> str | None:
    """How a training names the reward it ran: the program's name and digest, or None for the env's own."""
    return None if program is None else f"{program.name}@{program.digest()}"


def target_mixture(env_id: str) -> EnvMixture:
    return EnvMixture(entries=[MixtureEntry(source=TargetEnv(env_id=env_id), weight=1.0)])


@dataclass
class EpisodeLog:
    """Finished training episodes of one cycle: what curricula and feedback need from training."""

    returns: list[float] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    sources: list[int] = field(default_factory=list)
    level_seeds: list[int] = field(default_factory=list)
    #: The family's per-episode success in [0, 1] (``info["success"]`` on the episode's last step).
    successes: list[float] = field(default_factory=list)
    events: list[set[str]] = field(default_factory=list)
    components: dict[str, list[float]] = field(default_factory=dict)
    #: PLR's score per episode: mean over its steps of max(GAE advantage, 0) (NaN if its rollout never ended).
    value_losses: list[float] = field(default_factory=list)


class PositiveValueLoss:
    """Per-episode positive value loss, (1/T) sum_t max(A_t, 0), from the GAE advantages of each rollout.

    Advantages only exist once a rollout is complete, and an episode can span several rollouts: its steps in
    an earlier rollout are summed with that rollout's (bootstrapped) advantages and carried over, which is
    how the reference PLR implementation averages partial episodes.
    """

    def __init__(self, n_envs: int) -> None:
        self.sums = np.zeros(n_envs)
        self.counts = np.zeros(n_envs, dtype=int)

    def rollout(self, advantages: np.ndarray, finished: list[tuple[int, int, int]]) -> list[tuple[int, float]]:
        """``finished`` holds (buffer row of the episode's last step, env, episode id); returns (id, score)."""
        positive = np.clip(np.asarray(advantages, dtype=float), 0.0, None)
        per_env: dict[int, list[tuple[int, int]]] = {}
        for row, env, episode in finished:
            per_env.setdefault(env, []).append((row, episode))
        scores: list[tuple[int, float]] = []
        for env in range(positive.shape[1]):
            start = 0
            for row, episode in sorted(per_env.get(env, [])):
                segment = positive[start : row + 1, env]
                total = self.sums[env] + segment.sum()
                steps = self.counts[env] + len(segment)
                scores.append((episode, float(total / max(steps, 1))))
                self.sums[env], self.counts[env] = 0.0, 0
                start = row + 1
            rest = positive[start:, env]
            self.sums[env] += rest.sum()
            self.counts[env] += len(rest)
        return scores


class _CycleCallback(BaseCallback):
    """Collects per-episode stats from infos and drives the progress display."""

    def __init__(self, log: EpisodeLog, n_envs: int, on_step: Callable[[int], None] | None) -> None:
        super().__init__()
        self.log = log
        self._ret = np.zeros(n_envs)
        self._len = np.zeros(n_envs, dtype=int)
        self._events: list[set[str]] = [set() for _ in range(n_envs)]
        self._progress = on_step
        self._value_loss = PositiveValueLoss(n_envs)
        self._finished: list[tuple[int, int, int]] = []

    def _on_step(self) -> bool:  # type: ignore[override]
        rewards = self.locals["rewards"]
        dones = self.locals["dones"]
        infos = self.locals["infos"]
        row = self.model.rollout_buffer.pos  # this step is added to the buffer right after the callback
        self._ret += rewards
        self._len += 1
        for i, info in enumerate(infos):
            self._events[i].update(info.get("events", ()))
            for name, value in info.get("reward_components", {}).items():
                self.log.components.setdefault(name, []).append(float(value))
            if dones[i]:
                self.log.returns.append(float(self._ret[i]))
                self.log.lengths.append(int(self._len[i]))
                self.log.sources.append(int(info.get("source", 0)))
                self.log.level_seeds.append(int(info.get("level_seed", -1)))
                self.log.events.append(self._events[i])
                self.log.successes.append(float(info.get("success", 0.0)))
                self.log.value_losses.append(float("nan"))
                self._finished.append((row, i, len(self.log.value_losses) - 1))
                self._ret[i], self._len[i], self._events[i] = 0.0, 0, set()
        if self._progress is not None:
            self._progress(self.training_env.num_envs)
        return True

    def _on_rollout_end(self) -> None:
        advantages = self.model.rollout_buffer.advantages  # (n_steps, n_envs): not yet flattened by get()
        for episode, score in self._value_loss.rollout(advantages, self._finished):
            self.log.value_losses[episode] = score
        self._finished = []


def _reward_worker_env(payload: dict[str, Any], seed: int, program: CompiledProgram) -> Any:
    """Subprocess env with the mixture's reward program (compiled once, by the trainer), run in-process in the
    (confined) worker."""
    from gymsmith.envs.reward_wrapper import GeneratedReward

    env = _worker_env(payload, seed)
    return GeneratedReward(env, program)


def _worker_env(payload: dict[str, Any], seed: int) -> MixtureEnv:
    """Env factory run inside SubprocVecEnv workers: they ignore Ctrl-C, which the main process handles.

    A terminal Ctrl-C reaches the whole process group; a worker dying on it would break the clean stop.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return MixtureEnv(payload, seed=seed)


class MixtureVecEnv(DummyVecEnv):
    """DummyVecEnv for `MixtureEnv`s: their every step returns fresh info dicts, so the per-step ``deepcopy`` of
    the infos SB3 makes (to protect envs that reuse theirs) is a list copy here; it was 6 % of a MiniGrid run."""

    def step_wait(self) -> Any:
        for i in range(self.num_envs):
            obs, self.buf_rews[i], terminated, truncated, self.buf_infos[i] = self.envs[i].step(self.actions[i])
            self.buf_dones[i] = terminated or truncated
            self.buf_infos[i]["TimeLimit.truncated"] = truncated and not terminated
            if self.buf_dones[i]:
                self.buf_infos[i]["terminal_observation"] = obs
                obs, self.reset_infos[i] = self.envs[i].reset()
            self._save_obs(i, obs)
        return self._obs_from_buf(), np.copy(self.buf_rews), np.copy(self.buf_dones), list(self.buf_infos)


class Trainer:
    """PPO on a mixture; the target env fixes the observation/action spaces for every cycle.

    Which reward a training uses has one source of truth, `reward_for`: a mixture that carries a program trains
    with it (and it stays the trainer's program afterwards); a mixture without one keeps the trainer's current
    program. Nothing the caller set is dropped by a default: going back to the env's own reward is an explicit
    ``set_reward(None)`` (or a mixture carrying an env-reward program, as the reward search's sparse baseline).
    """

    def __init__(
        self,
        target_env: str,
        n_envs: int = 8,
        seed: int = 0,
        device: str = "auto",
        vec: str = "auto",
        ppo_kwargs: dict[str, Any] | None = None,
        tensorboard_dir: str | None = None,
        reward_program: RewardProgram | None = None,
        family: Family | None = None,
        policy: str = "auto",
    ) -> None:
        self.target_env = target_env
        #: What success and the headline metric mean on this target (evaluation asks it).
        self.family = family or family_for(target_env)
        self.n_envs = n_envs
        self.seed = seed
        self.device = resolve_device(device)
        self.vec = resolve_vec(vec, n_envs)
        #: The program the current envs run (None: the env's own reward); see `reward_for`.
        self.reward_program = reward_program
        #: The mixture the envs sample from now (its ``reward`` field aside: see `reward_program`).
        self.mixture = target_mixture(target_env)
        self.vec_env = self._make_vec(self.mixture.model_copy(update={"reward": reward_program}))
        policy_name, policy_kwargs = policy_for(self.vec_env.observation_space, self.family.obs_categories, policy)
        kwargs = {**DEFAULT_PPO, **(ppo_kwargs or {})}
        configure_threads(n_envs if self.vec == "subproc" else 1)
        self.model = PPO(
            policy_name,
            self.vec_env,
            policy_kwargs=policy_kwargs,
            seed=seed,
            device=self.device,
            verbose=0,
            tensorboard_log=tensorboard_dir,
            **kwargs,
        )
        self.total_steps = 0

    def _make_vec(self, mixture: EnvMixture) -> VecEnv:
        """Build the vectorised envs; a reward program never runs in this (the trainer's) process.

        With ``subproc`` each worker confines itself (network namespace, seccomp, rlimits) and runs the program
        in-process; with ``dummy`` the program runs in one persistent sandboxed worker, one batch per step.
        """
        payload = mixture.model_dump(mode="json")
        if self.vec == "subproc":
            if mixture.reward is not None:
                from gymsmith.envs.reward_wrapper import confined_env_factory

                program = CompiledProgram.of(mixture.reward)  # the workers receive the code, not the source
                fns = [
                    confined_env_factory(partial(_reward_worker_env, payload, self.seed * 1000 + i, program))
                    for i in range(self.n_envs)
                ]
            else:
                fns = [partial(_worker_env, payload, self.seed * 1000 + i) for i in range(self.n_envs)]
            venv: VecEnv = SubprocVecEnv(fns, start_method="forkserver")
        elif self.vec == "dummy":
            venv = MixtureVecEnv(
                [lambda i=i: MixtureEnv(payload, seed=self.seed * 1000 + i) for i in range(self.n_envs)]
            )
            if mixture.reward is not None:
                from gymsmith.envs.reward_wrapper import GeneratedRewardVecEnv

                venv = GeneratedRewardVecEnv(venv, mixture.reward)
        else:
            raise ValueError(f"vec must be dummy or subproc, not {self.vec!r}")
        # episode returns/lengths for SB3's rollout/* logs (TensorBoard); does not touch any random state
        return VecMonitor(venv)

    def reward_for(self, mixture: EnvMixture) -> RewardProgram | None:
        """The reward a training on ``mixture`` uses: the mixture's program, else the trainer's current one."""
        return mixture.reward if mixture.reward is not None else self.reward_program

    def set_reward(self, program: RewardProgram | None) -> None:
        """Switch the reward the envs run (None: the env's own reward); rebuilds the envs only on a change."""
        if _digest(program) != _digest(self.reward_program):
            self._rebuild(program)
            self._restart_episodes()

    def _rebuild(self, program: RewardProgram | None) -> None:
        # a new reward program means new (confined) workers: swap the whole vectorised env
        old = self.vec_env
        self.vec_env = self._make_vec(self.mixture.model_copy(update={"reward": program}))
        self.model.set_env(self.vec_env)
        self.reward_program = program
        old.close()

    def set_mixture(self, mixture: EnvMixture) -> None:
        program = self.reward_for(mixture)
        self.mixture = mixture
        if _digest(program) != _digest(self.reward_program):
            self._rebuild(program)
        else:
            self.model.get_env().env_method("set_mixture", mixture)
        self._restart_episodes()

    def _restart_episodes(self) -> None:
        """Episodes in flight belong to the old mixture or reward: start the next rollout afresh."""
        env = self.model.get_env()  # SB3's wrapped view (image transposition) of self.vec_env
        self.model._last_obs = env.reset()  # type: ignore[assignment]
        self.model._last_episode_starts = np.ones((self.n_envs,), dtype=bool)

    def train(
        self, mixture: EnvMixture, steps: int, on_step: Callable[[int], None] | None = None
    ) -> tuple[TrainResult, EpisodeLog]:
        self.set_mixture(mixture)
        self._close_logger()  # learn() opens a new TensorBoard writer per call; flush and close the last one
        log = EpisodeLog()
        start = time.perf_counter()
        before = self.model.num_timesteps
        self.model.learn(
            total_timesteps=steps,
            reset_num_timesteps=False,
            callback=_CycleCallback(log, self.n_envs, on_step),
            tb_log_name="ppo",
        )
        done = self.model.num_timesteps - before
        self.total_steps += done
        wall = time.perf_counter() - start
        result = TrainResult(
            steps=done,
            wall_time_s=wall,
            steps_per_s=done / max(wall, 1e-9),
            device=self.device,
            episode_returns=Stat.of(log.returns) if log.returns else None,
            reward_components={k: Stat.of(v) for k, v in log.components.items()},
            reward=reward_label(self.reward_program),
        )
        return result, log

    def log_scalars(self, values: dict[str, float]) -> None:
        """Per-cycle numbers (target success, skills) next to SB3's curves in TensorBoard, at the current step."""
        logger = getattr(self.model, "_logger", None)
        if logger is None:
            return
        for key, value in values.items():
            logger.record(key, float(value))
        logger.dump(step=self.model.num_timesteps)

    def _close_logger(self) -> None:
        logger = getattr(self.model, "_logger", None)
        if logger is not None:
            logger.close()

    def evaluate(
        self, episodes: int = 50, seed: int = 10_000, skills: list[str] | None = None, goals: list[Goal] | None = None
    ) -> EvalResult:
        return evaluate(self.model, self.family, episodes=episodes, seed=seed, skills=skills, goals=goals)

    def save(self, path: str | Path) -> str:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.model.save(str(path))
        return str(path.with_suffix(".zip")) if path.suffix != ".zip" else str(path)

    def load(self, path: str | Path) -> None:
        self.model = PPO.load(str(path), env=self.vec_env, device=self.device)

    def close(self) -> None:
        self._close_logger()
        self.vec_env.close()


def evaluate(
    model: PPO,
    family: Family,
    episodes: int = 50,
    seed: int = 10_000,
    skills: list[str] | None = None,
    goals: list[Goal] | None = None,
    n_envs: int = 32,
) -> EvalResult:
    """Success, the family's headline metric, per-skill and per-goal success on the unmodified target, over fixed
    seeds for comparability.

    Actions are sampled (not argmax): greedy MiniGrid policies tend to loop in place, which would measure the
    evaluation protocol rather than what the agent learned. Goals (e.g. the ones an LLM wrote) are scored from
    the same episodes' event sets, so they are probes, not a second evaluation. Up to ``n_envs`` episodes run
    side by side, one policy call for all of them per step: an untrained policy runs every episode to the step
    limit, and batching is what keeps that affordable.
    """
    n_envs = min(n_envs, episodes)
    envs = [make_env(TargetEnv(env_id=family.target_env)) for _ in range(n_envs)]
    seeds = iter(range(seed, seed + episodes))
    obs_list, active = [], []
    for env in envs:
        s = next(seeds, None)
        active.append(s is not None)
        obs_list.append(env.reset(seed=s)[0] if s is not None else None)
    returns, lengths, events, successes = [], [], [], []
    ep_ret = [0.0] * n_envs
    ep_len = [0] * n_envs
    ep_events: list[set[str]] = [set() for _ in range(n_envs)]
    while any(active):
        idx = [i for i in range(n_envs) if active[i]]
        batch = np.stack([obs_list[i] for i in idx])
        actions, _ = model.predict(batch, deterministic=False)
        for j, i in enumerate(idx):
            obs, reward, terminated, truncated, info = envs[i].step(int(actions[j]))
            ep_ret[i] += float(reward)
            ep_len[i] += 1
            ep_events[i].update(info.get("events", ()))
            obs_list[i] = obs
            if terminated or truncated:
                returns.append(ep_ret[i])
                lengths.append(ep_len[i])
                events.append(ep_events[i])
                successes.append(float(info.get("success", 0.0)))
                ep_ret[i], ep_len[i], ep_events[i] = 0.0, 0, set()
                s = next(seeds, None)
                if s is None:
                    active[i] = False
                else:
                    obs_list[i] = envs[i].reset(seed=s)[0]
    for env in envs:
        env.close()
    skill_stats = {name: Stat.of([float(name in ev) for ev in events]) for name in skills or []}
    return EvalResult(
        env_id=family.target_env,
        episodes=len(returns),
        success_rate=float(np.mean(successes)) if successes else 0.0,
        score=family.score(events, successes, returns),
        metric=family.metric,
        mean_return=float(np.mean(returns)) if returns else 0.0,
        mean_length=float(np.mean(lengths)) if lengths else 0.0,
        skills=skill_stats,
        goals=goal_success(goals or [], events),
    )
