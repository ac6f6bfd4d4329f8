"""The contracts survive JSON round trips and reject inconsistent values with a reason."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from gymsmith.envs.crafter import CrafterWorldSpec
from gymsmith.envs.gym_family import GymKwargsSpec
from gymsmith.envs.minigrid import MiniGridLevelSpec
from gymsmith.schemas import (
    AnySpec,
    CandidateSpec,
    EnvMixture,
    Feedback,
    LLMCall,
    MixtureEntry,
    Proposal,
    Stat,
    TargetEnv,
    TaskSpec,
    TrainResult,
    Verdict,
)


@pytest.mark.parametrize(
    "model",
    [
        TaskSpec(),
        MiniGridLevelSpec(size=6, lava=2, goal="near"),
        CrafterWorldSpec(biome="mountain", coal="very_common", inventory={"wood": 3, "wood_pickaxe": 1}),
        GymKwargsSpec(env_id="MiniGrid-Empty-v0", kwargs={"size": 6}),
        EnvMixture(
            entries=[MixtureEntry(source=TargetEnv(), weight=1), MixtureEntry(source=MiniGridLevelSpec(), weight=3)]
        ),
        Proposal(task=TaskSpec(), env_configs=[MiniGridLevelSpec()], llm_calls=[LLMCall(backend="replay", model="m",
                 template="t", prompt_hash="h")]),
        Verdict(subject="x", accepted=False),
        TrainResult(steps=10, wall_time_s=1.0, steps_per_s=10.0, device="cpu", episode_returns=Stat.of([1.0, 2.0])),
        Feedback(cycle=0, target_success=0.5, skills={"reached_goal": Stat.of([0.0, 1.0])}),
    ],
)
def test_round_trip(model):
    again = type(model).model_validate_json(model.model_dump_json())
    assert again == model
    assert again.digest() == model.digest()


def test_specs_dispatch_on_their_registered_family_tag():
    adapter = TypeAdapter(AnySpec)
    assert isinstance(adapter.validate_python({"family": "minigrid", "size": 5}), MiniGridLevelSpec)
    assert isinstance(adapter.validate_python({"family": "crafter"}), CrafterWorldSpec)
    with pytest.raises(ValidationError, match="unknown family 'atari'; known: crafter, gym, minigrid, target"):
        adapter.validate_python({"family": "atari"})
    with pytest.raises(ValidationError, match=r"source\.size"):  # the family's own checks, with the field path
        MixtureEntry.model_validate({"source": {"family": "minigrid", "size": 40}, "weight": 1})
    # a stored mixture comes back with every field of every source, not just the base class's
    mix = EnvMixture(entries=[MixtureEntry(source=CrafterWorldSpec(coal="common"), weight=1)])
    assert EnvMixture.model_validate_json(mix.model_dump_json()).entries[0].source.coal == "common"


def test_task_fields_left_open_are_derived_from_the_target_and_given_ones_win():
    from gymsmith.envs import family_for

    fam = family_for("MiniGrid-LavaCrossingS9N1-v0")
    derived = fam.task(TaskSpec(target_env="MiniGrid-LavaCrossingS9N1-v0"))
    assert derived.description == "avoid the lava and get to the green goal square"
    assert derived.skills == ["reached_goal"]
    mine = fam.task(TaskSpec(target_env="MiniGrid-LavaCrossingS9N1-v0", description="cross it", skills=[]))
    assert (mine.description, mine.skills) == ("cross it", [])
    assert CandidateSpec(name="c").skills is None  # measured as the target's family derives them


def test_minigrid_spec_rejects_inconsistent_structure():
    with pytest.raises(ValidationError, match="needs wall=true"):
        MiniGridLevelSpec(wall=False, door_locked=True)
    with pytest.raises(ValidationError, match="needs key=true"):
        MiniGridLevelSpec(key=False, door_locked=True)
    with pytest.raises(ValidationError):
        MiniGridLevelSpec(size=40)
    with pytest.raises(ValidationError):
        MiniGridLevelSpec(unknown_field=1)


def test_crafter_inventory_bounds_name_the_item():
    with pytest.raises(ValidationError, match="materials take 0..9"):
        CrafterWorldSpec(inventory={"wood": 12})
    with pytest.raises(ValidationError, match="tools take 0..1"):
        CrafterWorldSpec(inventory={"iron_sword": 2})
    with pytest.raises(ValidationError, match="unknown"):
        CrafterWorldSpec(inventory={"gold": 1})


def test_mixture_probabilities_and_stat():
    mix = EnvMixture(entries=[MixtureEntry(source=TargetEnv(), weight=1), MixtureEntry(source=TargetEnv(), weight=3)])
    assert mix.probabilities() == [0.25, 0.75]
    s = Stat.of([0.0, 1.0, 1.0, 0.0])
    assert (s.mean, s.std, s.min, s.max, s.n) == (0.5, 0.5, 0.0, 1.0, 4)
