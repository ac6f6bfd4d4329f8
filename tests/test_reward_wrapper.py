"""The reward wrappers' contract: a program compiled once and shipped as a value, and one episode bookkeeping
(RewardEpisodes) behind both wrappers, so a DummyVecEnv trainer and a single env report the same numbers."""

from __future__ import annotations

import pickle
import random

import numpy as np
import pytest
from stable_baselines3.common.vec_env import DummyVecEnv

from gymsmith.envs import family_for, make_env
from gymsmith.envs.reward_wrapper import GeneratedReward, GeneratedRewardVecEnv, RewardEpisodes
from gymsmith.generator.reward_catalogue import default_program
from gymsmith.sandbox import CompiledProgram, ProgramRefused, Sandbox
from gymsmith.schemas import RewardProgram, TargetEnv

TARGET = TargetEnv(env_id="MiniGrid-DoorKey-5x5-v0")
REPORT = ("reward_components", "reward_program_return", "reward_faults")


def test_compiled_program_is_a_value_compiled_once() -> None:
    program = default_program(family_for(TARGET.env_id))
    compiled = CompiledProgram.of(program)
    assert CompiledProgram.of(program) is compiled  # the same source is checked and compiled once per process
    assert CompiledProgram.of(compiled) is compiled
    assert compiled.name == program.name and compiled.components == tuple(program.components)
    shipped = pickle.loads(pickle.dumps(compiled))  # what SubprocVecEnv sends its workers
    assert shipped == compiled and shipped.code.co_code == compiled.code.co_code
    with Sandbox() as box:
        box.load(shipped)
        features = dict.fromkeys(("dist_key", "dist_door", "dist_goal"), 3.0)
        [(total, comps)] = box.call_batch([(features, 0, {**features, "dist_key": 2.0}, {"events": ()}, {})])
        assert comps["distance_key"] == pytest.approx(0.05)


def test_refused_source_says_why() -> None:
    with pytest.raises(ProgramRefused) as info:
        CompiledProgram.of("import os\n\ndef reward(obs, action, next_obs, info, state):\n    return 0.0, {}\n")
    assert any("import of os is not allowed" in r for r in info.value.reasons)


def test_wrappers_take_the_compiled_program_as_it_is() -> None:
    compiled = CompiledProgram.of(default_program(family_for(TARGET.env_id)))
    env = GeneratedReward(make_env(TARGET), compiled)
    venv = GeneratedRewardVecEnv(DummyVecEnv([lambda: make_env(TARGET)]), compiled)
    try:
        assert env.program is compiled and venv.program is compiled
    finally:
        env.close()
        venv.close()


def test_single_and_vectorised_wrappers_report_the_same_episode() -> None:
    """Same seed, same actions: the per-step rewards and the end-of-episode report agree exactly."""
    program = RewardProgram(
        mode="code",
        source=(
            "def reward(obs, action, next_obs, info, state):\n"
            "    turn = 0.1 if action == 0 else 0.0\n"
            "    seen = 0.5 * len(state['events_so_far']) if info['events'] else 0.0\n"
            "    step = 0.001 * state['episode_step']\n"
            "    return turn + seen - step, {'turn': turn, 'seen': seen, 'step': -step}\n"
        ),
    )
    rng = random.Random(0)
    actions = [rng.randrange(7) for _ in range(800)]  # DoorKey-5x5 truncates at 250 steps
    single = GeneratedReward(make_env(TARGET), program, runner="sandbox")
    vec = GeneratedRewardVecEnv(DummyVecEnv([lambda: make_env(TARGET)]), program)
    single.reset(seed=3)
    vec.seed(3)
    vec.reset()
    ends_single, ends_vec, rewards_single, rewards_vec = [], [], [], []
    try:
        for action in actions:
            _, reward, terminated, truncated, info = single.step(action)
            rewards_single.append(reward)
            if terminated or truncated:
                ends_single.append({k: info[k] for k in REPORT})
                single.reset()
            _, rewards, dones, infos = vec.step(np.array([action]))
            rewards_vec.append(float(rewards[0]))
            if dones[0]:
                ends_vec.append({k: infos[0][k] for k in REPORT})
        assert len(ends_single) >= 2 and ends_single == ends_vec
        assert np.allclose(rewards_single, rewards_vec)  # the vectorised rewards are float32
        assert single.pop_episode_log() == vec.pop_episode_log()
    finally:
        single.close()
        vec.close()


def test_episodes_widen_when_a_program_adds_components() -> None:
    episodes = RewardEpisodes(2)
    for i in range(2):
        episodes.start(i, {"features": {"x": 0.0}})
    row = ({"x": 0.0}, 0, {"x": 1.0}, {"events": ("e",)}, {})
    info: dict = {}
    assert not episodes.step(0, row, 1.0, ["a"], [1.0], False, info)
    assert not episodes.step(1, row, 2.0, ["a"], [2.0], False, info)
    assert not episodes.step(0, row, 3.0, ["b", "a"], [3.0, 0.5], False, info)  # a new name, the known one moved
    assert episodes.step(0, row, 0.0, [], [], True, info)  # a fault: nothing to add
    assert info["reward_components"] == {"a": 1.5, "b": 3.0} and info["reward_program_return"] == 4.0
    assert episodes.events[0] == ("e", "e", "e") and episodes.steps[0] == 3 and "reward_components" in info
    assert episodes.pop_log() == [{"a": 1.5, "b": 3.0, "__return__": 4.0, "__faults__": 0.0}]
    done: dict = {}
    assert episodes.step(1, row, 1.0, ["a", "b"], [1.0, 1.0], True, done)  # sub-env 1 catches up with "b"
    assert done["reward_components"] == {"a": 3.0, "b": 1.0} and done["reward_program_return"] == 3.0
