"""How a run trains: the vectorised-env mode for the machine, the image encoder, and nested config overrides."""

from __future__ import annotations

import pytest
import torch

from gymsmith.agents import train
from gymsmith.agents.executors import LocalExecutor, make_executor
from gymsmith.agents.policies import ImpalaExtractor, policy_for
from gymsmith.config import build_config
from gymsmith.envs import family_for


@pytest.fixture(autouse=True)
def one_torch_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GYMSMITH_TORCH_THREADS", "1")


@pytest.mark.parametrize(("cores", "n_envs", "expected"), [(2, 8, "dummy"), (3, 8, "dummy"), (4, 8, "subproc"),
                                                           (16, 16, "subproc"), (16, 1, "dummy")])
def test_vec_auto_uses_worker_processes_only_where_there_are_cores(monkeypatch, cores, n_envs, expected):
    monkeypatch.setattr(train, "available_cores", lambda: cores)
    assert train.resolve_vec("auto", n_envs) == expected
    assert train.resolve_vec("dummy", n_envs) == "dummy" and train.resolve_vec("subproc", n_envs) == "subproc"
    with pytest.raises(ValueError, match="vec must be auto, dummy or subproc"):
        train.resolve_vec("threads", n_envs)


def test_candidate_jobs_keep_their_envs_in_process_under_vec_auto():
    executor = make_executor(build_config(None, {"vec": "auto", "n_envs": 4}))
    assert isinstance(executor, LocalExecutor) and executor.vec == "dummy" and executor.cpus_per_job == 1


def test_image_encoders_are_chosen_for_images_only():
    crafter = family_for("crafter")
    space = crafter.make_target().observation_space
    assert policy_for(space) == ("CnnPolicy", {})  # auto: NatureCNN, measured fastest per score on a CPU
    assert policy_for(space, choice="impala")[1]["features_extractor_class"] is ImpalaExtractor
    minigrid = family_for("MiniGrid-DoorKey-8x8-v0")
    grid = minigrid.make_target().observation_space
    assert policy_for(grid, minigrid.obs_categories)[1]["features_extractor_class"].__name__ == \
        "CategoricalGridExtractor"
    with pytest.raises(ValueError, match="is for RGB image observations"):
        policy_for(grid, minigrid.obs_categories, "impala")
    with pytest.raises(ValueError, match="unknown"):
        policy_for(space, choice="resnet")


def test_impala_trains_on_crafter():
    trainer = train.Trainer("crafter", n_envs=2, device="cpu", vec="dummy", policy="impala",
                            ppo_kwargs={"n_steps": 64, "batch_size": 64, "n_epochs": 1})
    try:
        extractor = trainer.model.policy.features_extractor
        assert isinstance(extractor, ImpalaExtractor)
        before = [p.detach().clone() for p in extractor.parameters()]
        result, log = trainer.train(train.target_mixture("crafter"), 128)
        assert result.steps == 128
        assert any(not torch.equal(a, b) for a, b in zip(before, extractor.parameters(), strict=True))
        obs = torch.as_tensor(trainer.model.get_env().reset()).float()
        assert extractor(obs).shape == (2, 256)
    finally:
        trainer.close()


def test_nested_overrides_keep_the_files_other_values(tmp_path):
    (tmp_path / "run.yaml").write_text("llm:\n  mixture: archive\n  archive_size: 9\n")
    config = build_config(tmp_path / "run.yaml", {"llm.generated_cycles": 4, "llm.goals": None})
    assert config.llm.generated_cycles == 4 and config.llm.mixture == "archive" and config.llm.archive_size == 9
    assert build_config(None, {}).llm.generated_cycles is None
