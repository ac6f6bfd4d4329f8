"""The MiniGrid level spec: a distribution of levels, fixed structure, positions sampled per seed."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from gymsmith.schemas import EnvSpec, register_spec


@register_spec
class MiniGridLevelSpec(EnvSpec):
    """One room, optionally split by a vertical wall with one door (locked: a key on the agent's side), lava on
    the goal side, distractors, and the goal square.

    Small integer ranges are enums in the JSON schema the LLM is constrained by (grammars enforce enums, not
    numeric bounds); pydantic re-checks them here.
    """

    family: Literal["minigrid"] = "minigrid"
    size: int = Field(default=8, ge=5, le=16, description="outer grid size including walls")
    wall: bool = Field(default=True, description="a vertical wall splits the room; the door sits in it")
    door_locked: bool = Field(default=True, description="the door needs the key (only with wall)")
    key: bool = Field(default=True, description="a key is placed on the agent's side")
    lava: int = Field(default=0, ge=0, le=8, description="lava cells on the goal side")
    distractors: int = Field(default=0, ge=0, le=4, description="balls/boxes placed at random")
    goal: Literal["far", "near", "random"] = "far"
    max_steps: int = Field(default=0, ge=0, le=4096, description="0 means 10 * size * size")

    @model_validator(mode="after")
    def _consistent(self) -> MiniGridLevelSpec:
        if self.door_locked and not self.wall:
            raise ValueError("door_locked=true needs wall=true: there is no door without a wall")
        if self.door_locked and not self.key:
            raise ValueError("door_locked=true needs key=true: a locked door without a key is unsolvable")
        return self

    def effective_max_steps(self) -> int:
        return self.max_steps or 10 * self.size * self.size
