"""Curriculum strategies: the PLR/LP formulas on hand-computed examples, DR's draws, and 2-cycle runs of each."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
import torch
from scenarios import LOOP_CASSETTE, loop_config
from stable_baselines3.common.buffers import RolloutBuffer

import gymsmith
from gymsmith.agents.train import EpisodeLog, PositiveValueLoss
from gymsmith.config import ConfigError, LPSettings, PLRSettings, RunConfig
from gymsmith.curricula.base import CycleOutcome
from gymsmith.curricula.classic import (
    DomainRandomization,
    LearningProgress,
    PrioritizedLevelReplay,
    lp_probabilities,
    rank_weights,
    replay_distribution,
    staleness_weights,
)
from gymsmith.curricula.store import RunStore
from gymsmith.envs import family_for
from gymsmith.envs.minigrid import MiniGridLevelSpec
from gymsmith.schemas import EnvMixture, TargetEnv, TaskSpec, TrainResult

FAMILY = family_for("MiniGrid-DoorKey-8x8-v0")
TASK = FAMILY.task()


@pytest.fixture(autouse=True)
def one_torch_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiny policies on a shared 2-core runner: one intra-op thread is several times faster than two."""
    monkeypatch.setenv("GYMSMITH_TORCH_THREADS", "1")

# ------------------------------------------------------------------------------------------- PLR maths


def test_rank_prioritisation_and_staleness_match_the_paper():
    # P_S(l_i) = h(S_i)^(1/beta) / sum_j h(S_j)^(1/beta), h = 1/rank; beta = 0.5 squares 1/rank
    scores = np.array([0.1, 0.5, 0.3])  # ranks 3, 1, 2
    assert rank_weights(scores, beta=0.5) == pytest.approx([4 / 49, 36 / 49, 9 / 49])
    assert rank_weights(scores, beta=1.0) == pytest.approx(np.array([1 / 3, 1, 1 / 2]) / (11 / 6))
    # P_C(l_i) = (c - C_i) / sum_j (c - C_j)
    assert staleness_weights(np.array([2, 9, 10]), episodes=10) == pytest.approx([8 / 9, 1 / 9, 0])
    # P_replay = (1 - rho) P_S + rho P_C
    expected = 0.9 * np.array([4 / 49, 36 / 49, 9 / 49]) + 0.1 * np.array([8 / 9, 1 / 9, 0])
    assert replay_distribution(scores, np.array([2, 9, 10]), 10, beta=0.5, rho=0.1) == pytest.approx(expected)
    # a tiny temperature must not underflow into NaN on long level lists
    sharp = rank_weights(np.linspace(0, 1, 500), beta=0.01)
    assert np.isfinite(sharp).all() and sharp.sum() == pytest.approx(1.0) and sharp.argmax() == 499


def test_positive_value_loss_is_the_mean_clipped_gae_per_episode():
    """Score = (1/T) sum_t max(A_t, 0), with SB3's own GAE, across a rollout boundary."""
    buffer = RolloutBuffer(4, gym.spaces.Box(0, 1, (1,)), gym.spaces.Discrete(2), gamma=0.9, gae_lambda=0.8)
    rewards, values, starts = [0.0, 0.0, 1.0, 0.0], [0.9, 0.4, 0.6, 0.2], [1, 0, 0, 1]  # step 2 ends episode 0
    for r, v, s in zip(rewards, values, starts, strict=True):
        buffer.add(np.zeros((1, 1)), np.zeros((1, 1)), np.array([r]), np.array([s]), torch.tensor([[v]]),
                   torch.zeros(1))
    buffer.compute_returns_and_advantage(last_values=torch.tensor([[0.3]]), dones=np.array([False]))
    # by hand, gamma*lambda = 0.72: A3 = 0.27 - 0.2; A2 = 1 - 0.6 (terminal); A1 = 0.54 - 0.4 + 0.72 A2;
    # A0 = 0.36 - 0.9 + 0.72 A1
    a3, a2 = 0.07, 0.4
    a1 = 0.14 + 0.72 * a2
    a0 = -0.54 + 0.72 * a1
    assert buffer.advantages[:, 0] == pytest.approx([a0, a1, a2, a3])
    tracker = PositiveValueLoss(n_envs=1)
    assert tracker.rollout(buffer.advantages, [(2, 0, 0)]) == [(0, pytest.approx((0 + a1 + a2) / 3))]
    # episode 1 started at step 3 and ends in the next rollout, at its row 1
    assert tracker.rollout(np.array([[-0.1], [0.2]]), [(1, 0, 1)]) == [(1, pytest.approx((a3 + 0 + 0.2) / 3))]


def _outcome(mixture: EnvMixture, sources: list[int], seeds: list[int], scores: list[float],
             successes: list[bool] | None = None) -> CycleOutcome:
    n = len(sources)
    log = EpisodeLog(
        returns=[0.0] * n, lengths=[1] * n, sources=sources, level_seeds=seeds,
        successes=[float(x) for x in successes] if successes else [0.0] * n, events=[set() for _ in range(n)],
        value_losses=scores,
    )
    training = TrainResult(steps=n, wall_time_s=1.0, steps_per_s=n, device="cpu")
    return CycleOutcome(0, mixture, training, log, None, None)  # type: ignore[arg-type]


def test_plr_updates_scores_and_staleness_per_episode_and_builds_the_replay_mixture():
    spec = MiniGridLevelSpec(name="small", size=5)
    target = TargetEnv()
    settings = PLRSettings(num_levels=4, replay_prob=0.5, beta=0.5, rho=0.1, score_alpha=1.0)
    plr = PrioritizedLevelReplay(FAMILY, TASK, settings, target_ratio=0.25, seed=0, sources=[spec, target])
    plr.load_state_dict({"levels": [[0, 11], [0, 12], [1, 13], [1, 14]], "scores": [0] * 4, "seen": [0] * 4,
                         "last_sampled": [0] * 4, "episodes": 0})

    # nothing seen: every curriculum episode explores; unseen levels grouped per source, uniform overall
    first = plr.decide([]).mixture
    assert [e.source.family for e in first.entries] == ["target", "minigrid", "target"]
    assert first.probabilities() == pytest.approx([0.25, 0.375, 0.375])
    assert first.entries[0].seeds == [] and first.entries[1].seeds == [11, 12] and first.entries[2].seeds == [13, 14]

    # episodes in completion order: (mixture entry, level seed, positive value loss); entry 0 is the target share
    plr.update(_outcome(first, [1, 1, 0, 1, 2], [11, 12, 999, 11, 13], [0.2, 0.5, 0.9, 0.1, 0.3]))
    assert plr.episodes == 4  # c: the target-ratio episode is not a PLR episode
    assert plr.last_sampled.tolist() == [3, 2, 4, 0]  # C_i: episode count when level i last ran
    assert plr.scores.tolist() == pytest.approx([0.1, 0.5, 0.3, 0.0])  # alpha = 1: the latest score
    assert plr.seen.tolist() == [True, True, True, False]

    # P_S on (0.1, 0.5, 0.3) = (4, 36, 9)/49; staleness c - C = (1, 2, 0) -> (1/3, 2/3, 0)
    p_replay = 0.9 * np.array([4 / 49, 36 / 49, 9 / 49]) + 0.1 * np.array([1 / 3, 2 / 3, 0])
    expected = np.append(0.5 * p_replay, 0.5)  # replay p = 0.5; the one unseen level takes 1 - p
    assert plr.level_probabilities() == pytest.approx(expected)
    second = plr.decide([]).mixture
    probs = second.probabilities()
    assert probs[0] == pytest.approx(0.25)
    assert probs[1:] == pytest.approx(0.75 * expected)  # the curriculum's share, in level order
    assert [e.seeds for e in second.entries[1:]] == [[11], [12], [13], [14]]

    # the state round-trips exactly, and an EMA score update follows S <- (1 - a) S + a s
    clone = PrioritizedLevelReplay(FAMILY, TASK, settings, 0.25, 0, sources=[spec, target])
    clone.load_state_dict(plr.state_dict())
    assert clone.level_probabilities() == pytest.approx(plr.level_probabilities())
    clone.settings = PLRSettings(num_levels=4, score_alpha=0.5)
    clone.decide([])
    clone.update(_outcome(second, [1], [11], [0.5]))
    assert clone.scores[0] == pytest.approx(0.3) and clone.last_sampled[0] == 5


@pytest.mark.parametrize(("ratio", "offset"), [(0.0, 0), (0.5, 1), (1.0, None)])
def test_episodes_map_to_levels_whatever_the_target_ratio(ratio, offset):
    plr = PrioritizedLevelReplay(FAMILY, TASK, PLRSettings(num_levels=2), target_ratio=ratio,
                                 sources=[MiniGridLevelSpec()])
    mixture = plr.decide([]).mixture
    seed = plr.levels[0][1]
    plr.update(_outcome(mixture, [offset or 0], [seed], [0.4]))
    assert plr.episodes == (0 if offset is None else 1)  # with ratio 1 every episode is the target's


def test_plr_levels_come_from_a_fixed_family_that_includes_the_target():
    a, b = PrioritizedLevelReplay(FAMILY, TASK, seed=3), PrioritizedLevelReplay(FAMILY, TASK, seed=3)
    sources = a.sources
    sizes = {s.size for s in sources if isinstance(s, MiniGridLevelSpec)}
    assert sizes == set(range(5, 9)) and isinstance(sources[-1], TargetEnv)
    assert a.levels == b.levels and len(set(a.levels)) == 200
    assert {src for src, _ in a.levels} == set(range(len(sources)))
    # a target the family cannot express: PLR replays the target's own seeds only, never look-alike levels
    lava = family_for("MiniGrid-LavaCrossingS9N2-v0")
    only = PrioritizedLevelReplay(lava, lava.task(), PLRSettings(num_levels=5))
    assert [s.family for s in only.sources] == ["target"]


# -------------------------------------------------------------------------------------------- LP and DR


def test_learning_progress_probabilities_and_updates():
    # p_i = eps/N + (1 - eps) |dsuccess|_i / sum: (0, .2, .6) with eps .2 -> (1, 4, 10)/15
    known = np.array([True, True, True])
    assert lp_probabilities(np.array([0.0, 0.2, 0.6]), known, eps=0.2) == pytest.approx([1 / 15, 4 / 15, 10 / 15])
    # buckets without a measured delta are optimistic (the largest known progress)
    assert lp_probabilities(np.array([0.1, 0.3, 0.0]), np.array([True, True, False]), 0.0) == pytest.approx(
        [1 / 7, 3 / 7, 3 / 7]
    )
    assert lp_probabilities(np.zeros(3), known, 0.1) == pytest.approx([1 / 3] * 3)

    buckets = FAMILY.ladder()[:2]
    lp = LearningProgress(FAMILY, TASK, LPSettings(alpha=0.5, eps=0.2), target_ratio=0.25, buckets=buckets)
    mixture = lp.decide([]).mixture
    assert mixture.probabilities() == pytest.approx([0.25, 0.375, 0.375])
    for rates in ([0.0, 1.0], [0.5, 1.0], [0.7, 1.0]):  # bucket 0 improves, bucket 1 is mastered
        successes = [True] * int(rates[0] * 10) + [False] * (10 - int(rates[0] * 10)) + [True] * 10
        lp.update(_outcome(mixture, [1] * 10 + [2] * 10 + [0], [0] * 21, [0.0] * 21, successes + [True]))
    assert lp.success == pytest.approx([0.7, 1.0])
    assert lp.lp == pytest.approx([0.5 * 0.5 + 0.5 * 0.2, 0.0])  # first delta as is, then the EMA
    assert lp.decide([]).mixture.probabilities() == pytest.approx([0.25, 0.75 * (0.1 + 0.8), 0.75 * 0.1])


def test_difficulty_ladder_and_dr_draws_are_valid_members_of_the_family():
    ladder = FAMILY.ladder()
    assert ladder[-1].size == 8 and ladder[-1].door_locked and ladder[0].size == 5
    assert all(FAMILY.solvable(spec, range(2))[0] for spec in ladder)

    ranges = FAMILY.values()
    dr = DomainRandomization(FAMILY, TASK, target_ratio=0.25, seed=1)
    specs, artifacts = dr.sample(cycle=0)
    assert len(specs) == dr.settings.levels_per_cycle
    for spec in specs:
        assert spec.size in ranges["sizes"] and spec.lava in ranges["lava"] and spec.goal in ranges["goals"]
        assert spec.distractors in ranges["distractors"]
    assert sum(v.accepted for v in artifacts.verdicts) == len(specs)  # each accepted draw was verified
    assert specs == DomainRandomization(FAMILY, TASK, target_ratio=0.25, seed=1).sample(cycle=0)[0]  # resumable
    assert specs != dr.sample(cycle=1)[0]
    mixture = dr.decide([]).mixture
    assert mixture.entries[0].source.family == "target" and mixture.probabilities()[0] == pytest.approx(0.25)


@pytest.mark.parametrize(
    ("target", "curriculum", "why"),
    [
        ("CartPole-v1", "dr", "domain randomisation on CartPole-v1 needs --param ranges"),
        ("MiniGrid-LavaCrossingS11N5-v0", "llm", "cannot express: 34 lava cells"),
        ("MiniGrid-KeyCorridorS3R3-v0", "lp", "the mission 'pick up the purple ball'"),
    ],
)
def test_generating_curricula_refuse_targets_the_family_cannot_serve(tmp_path, target, curriculum, why):
    """Never a DoorKey level for another task: the error names what the family is missing."""
    from gymsmith import api

    config = RunConfig(curriculum=curriculum, task=TaskSpec(target_env=target), runs_dir=str(tmp_path),
                       backend="replay", cassette=str(LOOP_CASSETTE))
    with pytest.raises(ConfigError, match=why):
        api.prepare(config)
    assert not (tmp_path / "gymsmith.sqlite").exists()  # refused before any run was stored


# ------------------------------------------------------------------------------------ 2-cycle runs


def _tiny(tmp_path, curriculum: str, **extra: object) -> RunConfig:
    """DoorKey-5x5: episodes time out after 250 steps, so every env finishes episodes within 512 steps."""
    return RunConfig.model_validate(dict(
        curriculum=curriculum, cycles=2, steps_per_cycle=1024, n_envs=2, eval_episodes=4, seed=0, device="cpu",
        runs_dir=str(tmp_path), task={"target_env": "MiniGrid-DoorKey-5x5-v0"}, **extra,
    ))


@pytest.mark.parametrize("curriculum", ["target", "dr", "lp", "plr"])
def test_each_strategy_runs_two_cycles(tmp_path, curriculum):
    tensorboard = curriculum == "target"
    summary = gymsmith.run(_tiny(tmp_path, curriculum, tensorboard=tensorboard))
    assert [c["cycle"] for c in summary.cycles] == [0, 1]
    store = RunStore(tmp_path / "gymsmith.sqlite")
    run_id = summary.run_id
    assert store.count("trainings", run_id) == 2 and store.count("evaluations", run_id) == 2
    assert store.count("llm_calls", run_id) == 0
    for cycle in summary.cycles:
        entries = EnvMixture.model_validate(cycle["mixture"])
        assert entries.entries[0].source.family == "target"
        if curriculum != "target":  # the target keeps target_ratio of the episodes
            assert entries.probabilities()[0] == pytest.approx(0.25) and len(entries.entries) > 1
        assert cycle["checkpoint"].endswith(".zip")
    state = summary.cycles[-1]["strategy_state"]
    if curriculum == "plr":
        # c counts every PLR episode of both cycles (the feedback counts episodes per mixture entry)
        plr_episodes = sum(t["episodes"] for c in summary.cycles for t in c["feedback"]["trained_on"][1:])
        assert state["episodes"] == plr_episodes and sum(state["seen"]) > 0
        assert any(e["seeds"] and len(e["seeds"]) == 1 for e in summary.cycles[1]["mixture"]["entries"])
    if curriculum == "lp":
        assert max(state["measured"]) >= 1
    if curriculum == "dr":
        from gymsmith.curricula.report import write_report

        assert store.count("verdicts", run_id) >= 2 * 8
        out = write_report(store, [run_id], tmp_path / "report")
        assert (out.parent / "levels" / run_id).is_dir()
    if tensorboard:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

        runs = list((tmp_path / run_id / "tensorboard").iterdir())
        assert runs, "SB3 wrote TensorBoard logs"
        tags: set[str] = set()
        for run_dir in runs:
            acc = EventAccumulator(str(run_dir))
            acc.Reload()
            tags.update(acc.Tags()["scalars"])
        assert {"eval/target_success", "train/value_loss"} <= tags
        acc_values = [e.value for d in runs for e in _scalars(d, "eval/target_success")]
        assert len(acc_values) == 2 and all(math.isfinite(v) for v in acc_values)
    store.close()


def _scalars(run_dir, tag):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_dir))
    acc.Reload()
    return acc.Scalars(tag) if tag in acc.Tags()["scalars"] else []


def test_llm_strategy_on_replay_is_reproducible(tmp_path):
    """Same config + seeds + recorded responses => the same curriculum and the same numbers."""
    first = gymsmith.run(loop_config(tmp_path / "a"))
    second = gymsmith.run(loop_config(tmp_path / "b"))
    assert [c["cycle"] for c in first.cycles] == [0, 1]
    for a, b in zip(first.cycles, second.cycles, strict=True):
        assert a["mixture"] == b["mixture"]
        assert a["feedback"] == b["feedback"]
        assert a["target_success"] == b["target_success"]
    assert first.llm_totals["model_calls"] == second.llm_totals["model_calls"] >= 2


def test_llm_archive_mixture_keeps_levels_weighted_by_learnability(tmp_path):
    """Archive mode: accepted levels stay, weighted 4p(1-p) by the training success measured for each."""
    from gymsmith.curricula.llm import learnability

    _structure = FAMILY.structure

    summary = gymsmith.run(loop_config(tmp_path, llm={"mixture": "archive", "archive_size": 6}))
    first, second = summary.cycles
    after_first = {item["digest"]: item for item in first["strategy_state"]["archive"]}
    # what cycle 0 measured per level is what the feedback showed the LLM
    first_mix = EnvMixture.model_validate(first["mixture"])
    for entry, shown in zip(first_mix.entries[1:], first["feedback"]["trained_on"][1:], strict=True):
        item = after_first[_structure(entry.source)]
        if shown["episodes"]:
            assert item["success"] == pytest.approx(shown["train_success"], abs=0.005)
        else:
            assert item["success"] is None
    mix = EnvMixture.model_validate(second["mixture"])
    assert mix.probabilities()[0] == pytest.approx(0.25) and 1 <= len(mix.entries) - 1 <= 6
    expected = [
        learnability(after_first[_structure(e.source)]["success"] if _structure(e.source) in after_first else None,
                     0.05, 0.9)
        for e in mix.entries[1:]
    ]
    total_w, total_e = sum(e.weight for e in mix.entries[1:]), sum(expected)
    for entry, weight in zip(mix.entries[1:], expected, strict=True):
        assert entry.weight / total_w == pytest.approx(weight / total_e)
    # nothing accepted is forgotten: the archive holds cycle 0's levels and the newest ones
    assert set(after_first) <= {item["digest"] for item in second["strategy_state"]["archive"]}


def test_learnability_prefers_levels_the_agent_is_learning():
    from gymsmith.curricula.llm import learnability

    assert learnability(None, 0.05) == 1.0
    assert learnability(0.5, 0.05) == 1.0
    assert learnability(1.0, 0.05) == learnability(0.0, 0.05) == 0.05
    assert learnability(0.2, 0.05) == pytest.approx(0.64)
    assert learnability(0.95, 0.05, mastered=0.9) == 0.05 and learnability(0.85, 0.05, mastered=0.9) > 0.5


def test_archive_mode_tells_the_llm_which_levels_are_mastered():
    from gymsmith.config import LLMCurriculumSettings
    from gymsmith.curricula.llm import LLMCurriculum
    from gymsmith.generator.proposer import Proposer
    from gymsmith.schemas import Feedback

    family = family_for("MiniGrid-DoorKey-16x16-v0")
    _structure = family.structure
    task = family.task()
    small, mid = MiniGridLevelSpec(name="small", size=5), MiniGridLevelSpec(name="mid", size=8, goal="far")
    archive = [
        {"digest": _structure(small), "spec": small.model_dump(mode="json"), "success": 0.97},
        {"digest": _structure(mid), "spec": mid.model_dump(mode="json"), "success": 0.4},
    ]
    feedback = Feedback(cycle=3, target_success=0.0, trained_on=[{"name": "small", "train_success": 0.97}])
    proposer = Proposer(None, family=family, k=3)
    curriculum = LLMCurriculum(family, task, proposer, settings=LLMCurriculumSettings(mixture="archive"))
    curriculum.load_state_dict({"current": [mid.model_dump(mode="json")], "archive": archive})
    notes = curriculum._mastered_notes()
    assert notes is not None and notes["max_size"] == 5 and [s["name"] for s in notes["mastered"]] == ["small"]
    _, user = proposer.render_prompt(task, feedback, None, notes)
    assert "Levels the agent already masters (training success at least 0.9)" in user
    assert '"name": "small"' in user.split("already masters")[1] and "size is 5 and the target is 16" in user
    # the default (latest) mode renders the prompt exactly as before: no notes section
    _, plain = proposer.render_prompt(task, feedback)
    assert "already masters" not in plain and plain == user.split("\nLevels the agent already masters")[0] + \
        user.split("make the next levels bigger or harder than these.")[1]
    # the weights: the untried-or-learning level outweighs the mastered one
    entries = curriculum._archive_entries([mid])
    assert [e.source.name for e in entries] == ["mid", "small"] and entries[1].weight == 0.05
    assert entries[0].weight == pytest.approx(0.96)
