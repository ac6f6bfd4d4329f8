"""Verified reward programs during training: they reach the learner, never run in the trainer's process, and their
components reach the feedback."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError
from stable_baselines3 import PPO

from gymsmith.agents.candidates import train_candidate
from gymsmith.agents.train import Trainer, target_mixture
from gymsmith.envs import family_for, make_env
from gymsmith.generator.reward_catalogue import default_program
from gymsmith.schemas import CandidateSpec, EnvMixture, RewardProgram, TargetEnv

TARGET = "MiniGrid-DoorKey-5x5-v0"
#: The family's hand-written dense reward for the target (key, door and goal bonuses, shaping, time cost).
DEFAULT = default_program(family_for(TARGET))

#: Pays for something the sparse reward never does: MiniGrid's action 0 (turn left).
TURN_LEFT = RewardProgram(
    name="turn-left",
    mode="code",
    source=(
        "def reward(obs, action, next_obs, info, state):\n"
        "    left = 1.0 if action == 0 else 0.0\n"
        "    return left, {'turn_left': left}\n"
    ),
)


def left_share(model: PPO, steps: int = 400, seed: int = 0) -> float:
    """Share of sampled actions that turn left on the unmodified target."""
    env = make_env(TargetEnv(env_id=TARGET))
    obs, _ = env.reset(seed=seed)
    actions = []
    for _ in range(steps):
        action, _ = model.predict(obs[None], deterministic=False)
        actions.append(int(action[0]))
        obs, _, terminated, truncated, _ = env.step(int(action[0]))
        if terminated or truncated:
            obs, _ = env.reset()
    env.close()
    return float(np.mean(np.asarray(actions) == 0))


@pytest.mark.parametrize("vec", ["dummy", "subproc"])
def test_trainer_runs_reward_program_and_logs_components(vec):
    program = DEFAULT
    trainer = Trainer(TARGET, n_envs=2, vec=vec, device="cpu", reward_program=program)
    try:
        result, log = trainer.train(target_mixture(TARGET), 512)
        assert result.reward == f"{program.name}@{program.digest()}"
        assert set(result.reward_components) == set(program.components)
        assert all(s.n == len(log.returns) for s in result.reward_components.values())
        # the time cost is paid on every step: its per-episode sum is -0.001 x episode length
        lengths = log.lengths
        assert result.reward_components["time_cost"].mean == pytest.approx(-0.001 * sum(lengths) / len(lengths))
        # a mixture without a program keeps the trainer's: nothing the caller set is dropped by a default
        again, _ = trainer.train(target_mixture(TARGET), 1024)
        assert again.reward == result.reward and set(again.reward_components) == set(program.components)
        # going back to the env's own reward is explicit
        trainer.set_reward(None)
        plain, _ = trainer.train(target_mixture(TARGET), 256)
        assert plain.reward_components == {} and plain.reward is None
        assert trainer.reward_program is None
    finally:
        trainer.close()


@pytest.mark.parametrize("vec", ["dummy", "subproc"])
def test_a_reward_the_sparse_one_lacks_changes_what_the_agent_learns(vec):
    """Same seed, same budget: paying for left turns makes a policy that turns left most of the time."""
    shares = {}
    for name, program in (("sparse", None), ("left", TURN_LEFT)):
        trainer = Trainer(TARGET, n_envs=4, vec=vec, device="cpu", seed=0, reward_program=program)
        try:
            result, _ = trainer.train(target_mixture(TARGET), 3072)
            shares[name] = left_share(trainer.model)
        finally:
            trainer.close()
        if program is not None:
            assert result.reward_components["turn_left"].mean > 0
    assert shares["left"] > max(2 * shares["sparse"], shares["sparse"] + 0.2), shares


def test_a_mixture_program_replaces_the_trainers(tmp_path):
    sparse_default = DEFAULT
    trainer = Trainer(TARGET, n_envs=2, device="cpu", reward_program=sparse_default)
    try:
        result, _ = trainer.train(target_mixture(TARGET).model_copy(update={"reward": TURN_LEFT}), 1024)
        assert result.reward == f"turn-left@{TURN_LEFT.digest()}"
        assert set(result.reward_components) == {"turn_left"}
        assert trainer.reward_program == TURN_LEFT
    finally:
        trainer.close()


def test_candidate_trains_on_its_reward_program(tmp_path):
    spec = CandidateSpec(name="left", target_env=TARGET, steps=3072, n_envs=4, eval_episodes=4, seed=0,
                         reward=TURN_LEFT)
    sparse = spec.model_copy(update={"name": "sparse", "reward": None})
    shaped = train_candidate(spec, checkpoint_dir=str(tmp_path))
    plain = train_candidate(sparse, checkpoint_dir=str(tmp_path))
    assert shaped.reward == f"turn-left@{TURN_LEFT.digest()}" and plain.reward is None
    assert set(shaped.reward_components) == {"turn_left"} and plain.reward_components == {}
    left = left_share(PPO.load(shaped.checkpoint, device="cpu"))
    base = left_share(PPO.load(plain.checkpoint, device="cpu"))
    assert left > max(2 * base, base + 0.2), (left, base)


def test_candidate_reward_given_in_one_place():
    mixture = EnvMixture(entries=target_mixture(TARGET).entries, reward=TURN_LEFT)
    # inside the mixture only: that is the candidate's reward
    assert CandidateSpec(name="a", target_env=TARGET, mixture=mixture).training_mixture().reward == TURN_LEFT
    # both, the same program: fine
    assert CandidateSpec(name="b", target_env=TARGET, mixture=mixture, reward=TURN_LEFT).training_mixture().reward
    # both, different programs: refused instead of silently preferring one
    with pytest.raises(ValidationError, match="give the reward in one place"):
        CandidateSpec(name="c", target_env=TARGET, mixture=mixture, reward=DEFAULT)
