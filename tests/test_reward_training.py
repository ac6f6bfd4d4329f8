"""Verified reward programs during training: never in the trainer's process, components reach the feedback."""

from __future__ import annotations

import pytest

from gymsmith.agents.train import Trainer, target_mixture
from gymsmith.generator.reward_catalogue import default_doorkey_terms, render_compose

TARGET = "MiniGrid-DoorKey-5x5-v0"


@pytest.mark.parametrize("vec", ["dummy", "subproc"])
def test_trainer_runs_reward_program_and_logs_components(vec):
    program = render_compose(default_doorkey_terms())
    trainer = Trainer(TARGET, n_envs=2, vec=vec, device="cpu", reward_program=program)
    try:
        mixture = target_mixture(TARGET).model_copy(update={"reward": program})
        result, log = trainer.train(mixture, 512)
        assert set(result.reward_components) == set(program.components)
        assert all(s.n == len(log.returns) for s in result.reward_components.values())
        # the time cost is paid on every step: its per-episode sum is -0.001 x episode length
        lengths = log.lengths
        assert result.reward_components["time_cost"].mean == pytest.approx(-0.001 * sum(lengths) / len(lengths))
        # dropping the program rebuilds the envs with the env's own reward
        plain, _ = trainer.train(target_mixture(TARGET), 256)
        assert plain.reward_components == {}
        assert trainer.reward_program is None
    finally:
        trainer.close()
