"""The llm-replay hybrid: when it asks the LLM, its replay maths, edits that stay in the language, a real run."""

from __future__ import annotations

import numpy as np
import pytest
from scenarios import loop_config

import gymsmith
from gymsmith.config import ReplaySettings
from gymsmith.curricula.replay import LLMReplay, should_ask
from gymsmith.curricula.store import RunStore
from gymsmith.envs import family_for
from gymsmith.envs.minigrid import MiniGridLevelSpec
from gymsmith.generator.proposer import Proposer
from gymsmith.generator.verifier import verify_env_config
from gymsmith.schemas import EnvMixture, Feedback

FAMILY = family_for("MiniGrid-DoorKey-8x8-v0")


def _history(*successes: float) -> list[Feedback]:
    return [Feedback(cycle=i, target_success=s) for i, s in enumerate(successes)]


def test_the_llm_is_asked_first_every_k_cycles_and_when_progress_stalls():
    s = ReplaySettings(llm_every=4, stall_cycles=2, stall_delta=0.05)
    assert should_ask([], None, s)  # the first cycle always asks
    assert not should_ask(_history(0.0), 0, s)  # too soon to call it a stall
    assert not should_ask(_history(0.0, 0.1, 0.3), 0, s)  # rising: 0.3 >= 0.0 + 0.05
    assert should_ask(_history(0.4, 0.2, 0.42), 0, s)  # best of the last 2 (0.42) < 0.4 + 0.05: stalled
    assert should_ask(_history(0.0, 0.1, 0.3, 0.6), 0, s)  # cycle 4: every 4 cycles regardless
    assert not should_ask(_history(0.4, 0.2, 0.42, 0.1), 3, s)  # asked at cycle 3: the window restarts
    assert not should_ask(_history(1.0, 1.0, 1.0), 0, s)  # solved is not stalled
    assert not should_ask(_history(0.0, 0.0, 0.0), 0, ReplaySettings(llm_every=4, stall_cycles=0))


def test_replay_distribution_over_levels_matches_a_hand_computation():
    strategy = LLMReplay(FAMILY, FAMILY.task(), Proposer(None, family=FAMILY),
                         ReplaySettings(replay_prob=0.5, beta=0.5, rho=0.1))
    strategy.levels = [("a", 1), ("a", 2), ("b", 3), ("b", 4)]
    strategy.scores = np.array([0.1, 0.5, 0.3, 0.0])
    strategy.seen = np.array([True, True, True, False])
    strategy.last_sampled = np.array([3, 2, 4, 0])
    strategy.episodes = 4
    # P_S on (0.1, 0.5, 0.3) with h = 1/rank, beta = 0.5: (1/9, 1, 1/4) / (49/36) = (4, 36, 9) / 49
    # P_C: staleness c - C = (1, 2, 0) -> (1/3, 2/3, 0); P_replay = 0.9 P_S + 0.1 P_C
    replay = 0.9 * np.array([4, 36, 9]) / 49 + 0.1 * np.array([1 / 3, 2 / 3, 0])
    assert strategy.level_probabilities() == pytest.approx([*(0.5 * replay), 0.5])
    strategy.seen[:] = False  # nothing seen yet: uniform exploration
    assert strategy.level_probabilities() == pytest.approx([0.25] * 4)


@pytest.mark.parametrize("target", ["MiniGrid-DoorKey-8x8-v0", "crafter"])
def test_edits_change_one_parameter_and_stay_valid_and_solvable(target):
    family = family_for(target)
    rng = np.random.default_rng(0)
    spec = family.random_spec(rng, "parent")
    for k in range(6):
        child = family.mutate(spec, rng, name=f"child-{k}")
        assert child is not None and type(child) is type(spec)
        before, after = spec.model_dump(exclude={"name"}), child.model_dump(exclude={"name"})
        changed = [f for f in before if before[f] != after[f]]
        assert len(changed) == 1, changed
        assert family.check(child) == ""  # inside the family's ranges
        assert verify_env_config(child, family).accepted or family.name == "minigrid"  # crafter: always builds
        spec = child


def test_nearest_moves_fewest_knob_steps_first_and_stays_valid_inside_the_users_ranges():
    """`Family.nearest`, mutate's deterministic counterpart: from an item the schema refuses (the default model
    wrote five lava strips in a 5x5 room), valid levels one knob away come first, fewest steps first, then two
    knobs; every one passes the model's rules and the user's --param ranges."""
    from gymsmith.envs import make_family

    item = {"name": "strips", "layout": "room", "size": 5, "lava_strips": 5, "scattered_lava": 1, "balls": 1,
            "objective": {"type": "goal"}}
    for family, largest in [(make_family("minigrid"), 25), (make_family("minigrid", ["size=5..9"]), 9)]:
        draft = family.draft(item)
        assert draft is not None and draft.lava_strips == 5  # read as written, not validated
        found = list(family.nearest(draft, "near"))
        assert found and all(family.check(s) == "" and s.size <= largest for s in found)
        steps = []
        for spec in found:
            moved = {f for f in type(spec).model_fields if f != "name" and getattr(spec, f) != getattr(draft, f)}
            assert 1 <= len(moved) <= 2 and MiniGridLevelSpec.model_validate(spec.model_dump()) == spec
            steps.append(len(moved))
        assert steps == sorted(steps)  # one knob before two
        first = found[0]
        assert (first.size, first.lava_strips) in ((5, 2), (7, 5), (9, 5)) or first.lava_strips < 5
    crafter = make_family("crafter")
    world = crafter.build({"name": "w", "tree": "rare"})
    assert "very_rare" in [w.tree for w in crafter.nearest(world, "near")][:30]
    assert make_family("minigrid").draft({"layout": "maze"}) is None  # unknown layout: no knobs to move


def test_unlearnable_edits_are_pruned_and_the_pool_is_capped():
    settings = ReplaySettings(keep_learnability=0.2, max_generators=3, edits_per_cycle=1, seeds_per_generator=2,
                              family_sources=False)
    strategy = LLMReplay(FAMILY, FAMILY.task(), Proposer(None, family=FAMILY), settings)
    for i, (origin, success) in enumerate([("llm", 0.5), ("edit", 0.02), ("edit", 0.6), ("llm", None)]):
        strategy._add(MiniGridLevelSpec(name=f"g{i}", size=5 + i), origin, cycle=i)
        strategy.generators[-1]["success"] = success
    assert len(strategy.levels) == 8
    from gymsmith.curricula.base import Artifacts

    strategy._edit(cycle=4, artifacts=Artifacts())
    names = [g["spec"]["name"] for g in strategy.generators]
    assert "g1" not in names  # an edit tried at 4p(1-p) = 0.08 < 0.2 is gone, with its levels
    assert all(d != strategy.family.structure(MiniGridLevelSpec(name="g1", size=6)) for d, _ in strategy.levels)
    assert len(strategy.generators) <= 3 and "g3" in names  # the newest LLM generator always stays


@pytest.mark.parametrize("target", ["MiniGrid-MultiRoom-N4-S5-v0", "crafter"])
def test_the_pool_starts_with_the_levels_plr_replays_and_keeps_them(target):
    """The LLM's generators add to level replay's instead of replacing them: every generator `plr` draws from is
    in the pool before the first call, with its seeds, and neither pruning nor the cap removes it."""
    from gymsmith.curricula.base import Artifacts

    family = family_for(target)
    settings = ReplaySettings(max_generators=2, edits_per_cycle=0, seeds_per_generator=3)
    strategy = LLMReplay(family, family.task(), Proposer(None, family=family), settings)
    own = {family.structure(s) for s in family.plr_sources()}
    assert own and {g["digest"] for g in strategy.generators} == own
    assert len(strategy.levels) == 3 * len(own)
    for g in strategy.generators:
        g["success"] = 0.0  # tried and unlearnable: an edit would be pruned
    for i in range(4):
        spec = family.random_spec(np.random.default_rng(i), f"llm-{i}")
        strategy._add(spec, "llm", cycle=i)
        strategy.generators[-1]["success"] = 0.5
    strategy._edit(cycle=5, artifacts=Artifacts())
    kept = {g["digest"] for g in strategy.generators}
    assert own <= kept and len(kept - own) <= 2  # the cap counts only what was added
    assert not LLMReplay(family, family.task(), Proposer(None, family=family),
                         ReplaySettings(family_sources=False)).generators


def test_two_cycle_run_asks_the_llm_once_and_replays_inside_its_generators(tmp_path):
    """Cycle 0 replays the recorded proposal; cycle 1 spends no LLM call and trains on replayed/edited levels."""
    summary = gymsmith.run(loop_config(tmp_path, curriculum="llm-replay"))
    store = RunStore(tmp_path / "gymsmith.sqlite")
    calls = store.table("llm_calls", summary.run_id)
    assert {c["cycle"] for c in calls} == {0}
    first, second = summary.cycles
    state = second["strategy_state"]
    assert state["last_call"] == 0 and state["episodes"] > 0 and sum(state["seen"]) > 0
    origins = {g["origin"] for g in state["generators"]}
    assert "llm" in origins
    mixture = EnvMixture.model_validate(second["mixture"])
    assert mixture.entries[0].source.family == "target"
    assert any(len(e.seeds) == 1 for e in mixture.entries[1:])  # replayed (generator, seed) levels
    store.close()


def test_feedback_lists_each_generator_once_and_stays_bounded():
    """Level replay pins one spec at many seeds: the prompt got one row per (spec, seed) and outgrew the 4096-token
    context of the embedded model in the suite (9,252 tokens). Rows of one source are pooled; at most
    MAX_FEEDBACK_SOURCES sources are listed, the most-trained first kept."""
    from gymsmith.agents.train import EpisodeLog
    from gymsmith.curricula.base import build_feedback
    from gymsmith.envs.minigrid.spec import MiniGridLevelSpec
    from gymsmith.schemas import MAX_FEEDBACK_SOURCES, EnvMixture, EvalResult, MixtureEntry, TrainResult

    spec = MiniGridLevelSpec(name="strip", layout="room", size=7, lava_strips=1)
    others = [MiniGridLevelSpec(name=f"s{i}", layout="room", size=5 + i % 10, balls=i // 10) for i in range(30)]
    entries = [MixtureEntry(source=spec, weight=1.0, seeds=[seed]) for seed in range(8)]
    entries += [MixtureEntry(source=s, weight=1.0) for s in others]
    mixture = EnvMixture(entries=entries)
    # the pinned copies: 8 episodes, 2 successes in all; the others: 1 episode each, except s0 (never played)
    sources = list(range(8)) + list(range(9, len(entries)))
    successes = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0] + [0.0] * (len(entries) - 9)
    log = EpisodeLog(sources=sources, successes=successes, returns=[0.0] * len(sources), lengths=[1] * len(sources))
    evaluation = EvalResult(env_id="MiniGrid-LavaCrossingS9N1-v0", episodes=1, success_rate=0.0, mean_return=0.0,
                            mean_length=1.0)
    training = TrainResult(steps=1, wall_time_s=1.0, steps_per_s=1.0, device="cpu")
    rows = build_feedback(0, mixture, log, evaluation, training, []).trained_on
    assert len(rows) == MAX_FEEDBACK_SOURCES
    pooled = [r for r in rows if r["name"] == "strip"]
    assert len(pooled) == 1 and pooled[0]["episodes"] == 8 and pooled[0]["train_success"] == 0.25
    assert "s0" not in {r["name"] for r in rows}  # the least-trained source is the one left out
    # feedback stored before this (a row per pinned seed) is bounded the same way when a prompt shows it
    from gymsmith.schemas import Feedback

    stored = Feedback(cycle=0, target_success=0.0, trained_on=[{**spec.brief(), "train_success": float(i < 2),
                                                                "episodes": 1} for i in range(40)])
    assert [(r["train_success"], r["episodes"]) for r in stored.bounded().trained_on] == [(0.05, 40)]
