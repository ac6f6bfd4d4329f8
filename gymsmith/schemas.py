"""The contracts between gymsmith's rooms.

Only these pydantic models cross folder boundaries, so that each room can be replaced or tested alone and
every artefact of a run (prompt, proposal, verdict, training) can be stored as JSON and replayed.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DEFAULT_TARGET = "MiniGrid-DoorKey-8x8-v0"

#: Events the MiniGrid family reports in ``info["events"]``; goals and composed rewards speak this vocabulary.
MINIGRID_EVENTS: tuple[str, ...] = (
    "picked_up_key",
    "dropped_key",
    "opened_door",
    "reached_goal",
    "died_in_lava",
    "picked_up_ball",
    "picked_up_box",
)

#: Skills measured on DoorKey-like targets, in the order the task is solved.
DOORKEY_SKILLS: tuple[str, ...] = ("picked_up_key", "opened_door", "reached_goal")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def digest(self) -> str:
        """Stable short hash, so identical specs are recognised across cycles and runs."""
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:12]


# --------------------------------------------------------------------------------------------- tasks


class TaskSpec(_Model):
    """What the user wants an agent to learn; everything else in a run is derived from it."""

    target_env: str = DEFAULT_TARGET
    description: str = "Pick up the key, open the locked door and reach the green goal square."
    skills: list[str] = Field(default_factory=lambda: list(DOORKEY_SKILLS))


# ---------------------------------------------------------------------------------------- env configs


class MiniGridLevelSpec(_Model):
    """A distribution of MiniGrid levels: fixed structure, positions sampled per seed.

    Small integer ranges are enums in the JSON schema the LLM is constrained by (grammars enforce enums, not
    numeric bounds); pydantic re-checks them here.
    """

    family: Literal["minigrid"] = "minigrid"
    name: str = Field(default="level", max_length=60)
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


CRAFTER_MATERIALS: tuple[str, ...] = ("sapling", "wood", "stone", "coal", "iron", "diamond")
CRAFTER_TOOLS: tuple[str, ...] = (
    "wood_pickaxe",
    "stone_pickaxe",
    "iron_pickaxe",
    "wood_sword",
    "stone_sword",
    "iron_sword",
)
Rarity = Literal["very_rare", "rare", "default", "common", "very_common"]


class CrafterWorldSpec(_Model):
    """A Crafter world distribution in the spirit of EnvGen's modified Crafter; every field takes effect."""

    family: Literal["crafter"] = "crafter"
    name: str = Field(default="world", max_length=60)
    biome: Literal["natural", "grassland", "mountain", "beaches"] = "natural"
    coal: Rarity = "default"
    iron: Rarity = "default"
    diamond: Rarity = "default"
    tree: Rarity = "default"
    inventory: dict[str, int] = Field(default_factory=dict, description="starting items")
    peaceful: bool = False
    zombies: Rarity = "default"
    skeletons: Rarity = "default"
    cows: Rarity = "default"
    length: int = Field(default=10000, ge=100, le=10000)
    area: int = Field(default=64, ge=32, le=64)

    @field_validator("inventory")
    @classmethod
    def _inventory(cls, value: dict[str, int]) -> dict[str, int]:
        for item, count in value.items():
            if item in CRAFTER_MATERIALS:
                if not 0 <= count <= 9:
                    raise ValueError(f"inventory[{item!r}]={count}: materials take 0..9")
            elif item in CRAFTER_TOOLS:
                if not 0 <= count <= 1:
                    raise ValueError(f"inventory[{item!r}]={count}: tools take 0..1")
            else:
                allowed = ", ".join(CRAFTER_MATERIALS + CRAFTER_TOOLS)
                raise ValueError(f"inventory item {item!r} is unknown; allowed: {allowed}")
        return value


class GymKwargsSpec(_Model):
    """Any registered Gymnasium env plus constructor kwargs, for envs without a dedicated family."""

    family: Literal["gym"] = "gym"
    name: str = Field(default="gym", max_length=60)
    env_id: str
    kwargs: dict[str, int | float | bool | str] = Field(default_factory=dict)


EnvConfig = Annotated[MiniGridLevelSpec | CrafterWorldSpec | GymKwargsSpec, Field(discriminator="family")]


class TargetEnv(_Model):
    """The unmodified target env as a mixture member."""

    family: Literal["target"] = "target"
    env_id: str = DEFAULT_TARGET


MixtureSource = Annotated[
    MiniGridLevelSpec | CrafterWorldSpec | GymKwargsSpec | TargetEnv, Field(discriminator="family")
]


class MixtureEntry(_Model):
    source: MixtureSource
    weight: float = Field(gt=0)
    #: Fixed level seeds (PLR replays exact levels); empty means a fresh seed per episode.
    seeds: list[int] = Field(default_factory=list)


class EnvMixture(_Model):
    """What the trainer trains on next: weighted sources, sampled at every episode reset."""

    entries: list[MixtureEntry] = Field(min_length=1)
    #: A verified reward program replacing the env reward on every source (reward-evolving curricula). None keeps
    #: the trainer's current program (`Trainer.reward_for`): a mixture never silently drops a reward.
    reward: RewardProgram | None = None

    def probabilities(self) -> list[float]:
        total = sum(e.weight for e in self.entries)
        return [e.weight / total for e in self.entries]


# ------------------------------------------------------------------------------------- goals & rewards


class Goal(_Model):
    """A named skill whose success is 'all these events happened in the episode'."""

    name: str = Field(max_length=60)
    description: str = ""
    events: list[str] = Field(min_length=1)


class ComposeTerm(_Model):
    """One typed reward term picked from the family catalogue, with its weight."""

    term: str
    weight: float = Field(ge=-10, le=10)
    target: str | None = None


class RewardProgram(_Model):
    """Reward source with the contract ``reward(obs, action, next_obs, info, state) -> (float, dict)``."""

    name: str = "reward"
    mode: Literal["compose", "code"]
    source: str
    components: list[str] = Field(default_factory=list)
    terms: list[ComposeTerm] = Field(default_factory=list)
    provenance: dict[str, Any] = Field(default_factory=dict)


# ----------------------------------------------------------------------------------- LLM and proposals

#: How an answer's JSON was obtained, strongest first: the server enforced the JSON schema (OpenAI structured
#: output); a JSON-object mode with the schema attached (llama.cpp turns it into a grammar); or free text,
#: validated afterwards and repaired once.
StructuredMode = Literal["json_schema", "json_object", "unconstrained"]


class LLMCall(_Model):
    """One chat completion: enough to audit cost and to re-find the exact response in a cassette."""

    backend: str
    model: str
    template: str
    prompt_hash: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    cached: bool = False
    response: str = ""
    #: None in records written before the mode was recorded (and for answers whose mode is not known).
    structured: StructuredMode | None = None


class RejectedSpec(_Model):
    spec: dict[str, Any]
    reason: str


class Proposal(_Model):
    task: TaskSpec
    env_configs: list[EnvConfig] = Field(default_factory=list)
    goals: list[Goal] = Field(default_factory=list)
    reward_programs: list[RewardProgram] = Field(default_factory=list)
    rationale: str = ""
    llm_calls: list[LLMCall] = Field(default_factory=list)
    repaired: bool = False
    #: Items the LLM wrote that failed validation even after one repair, with the reason.
    rejected: list[RejectedSpec] = Field(default_factory=list)
    #: Problems with the answer as a whole (not JSON, wrong count), after the repair round.
    errors: list[str] = Field(default_factory=list)


class Rejection(_Model):
    layer: str
    reason: str


class Verdict(_Model):
    subject: str
    accepted: bool
    rejections: list[Rejection] = Field(default_factory=list)
    cost_s: float = 0.0
    details: dict[str, Any] = Field(default_factory=dict)

    def reason(self) -> str:
        return "; ".join(f"[{r.layer}] {r.reason}" for r in self.rejections)


# --------------------------------------------------------------------------------- training & feedback


class Stat(_Model):
    mean: float
    std: float = 0.0
    min: float = 0.0
    max: float = 0.0
    n: int = 0

    @classmethod
    def of(cls, values: list[float]) -> Stat:
        if not values:
            return cls(mean=0.0, n=0)
        n = len(values)
        mean = sum(values) / n
        var = sum((v - mean) ** 2 for v in values) / n
        return cls(mean=mean, std=var**0.5, min=min(values), max=max(values), n=n)


class EvalResult(_Model):
    env_id: str
    episodes: int
    success_rate: float
    mean_return: float
    mean_length: float
    skills: dict[str, Stat] = Field(default_factory=dict)


class TrainResult(_Model):
    steps: int
    wall_time_s: float
    steps_per_s: float
    device: str
    episode_returns: Stat | None = None
    reward_components: dict[str, Stat] = Field(default_factory=dict)
    #: The reward program the training ran (``name@digest``); None means the env's own reward.
    reward: str | None = None
    evaluation: EvalResult | None = None
    checkpoint: str | None = None
    failed: str | None = None


class Feedback(_Model):
    """What the next prompt shows the LLM about the last cycle."""

    cycle: int
    target_success: float
    skills: dict[str, Stat] = Field(default_factory=dict)
    reward_components: dict[str, Stat] = Field(default_factory=dict)
    trained_on: list[dict[str, Any]] = Field(default_factory=list)
    rejected: list[RejectedSpec] = Field(default_factory=list)


class CandidateSpec(_Model):
    """One independent training job (a reward candidate, or a probe training of one config).

    Executors run many of these in parallel and return one `TrainResult` each; a job that dies comes back with
    ``failed`` set, never as an exception that would sink the whole cycle. The reward may be given as ``reward``
    or inside ``mixture``; `training_mixture` is the one place that decides what the job trains on.
    """

    name: str
    target_env: str = DEFAULT_TARGET
    mixture: EnvMixture | None = None
    reward: RewardProgram | None = None
    steps: int = Field(default=20_000, ge=1)
    n_envs: int = Field(default=4, ge=1)
    seed: int = 0
    device: str = "cpu"
    eval_episodes: int = Field(default=20, ge=1)
    skills: list[str] = Field(default_factory=lambda: list(DOORKEY_SKILLS))
    ppo: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_reward(self) -> CandidateSpec:
        inner = self.mixture.reward if self.mixture is not None else None
        if self.reward is not None and inner is not None and self.reward.digest() != inner.digest():
            raise ValueError(
                f"reward {self.reward.name!r} and mixture.reward {inner.name!r} differ: give the reward in one place"
            )
        return self

    def training_mixture(self) -> EnvMixture:
        """The target alone unless a mixture was given, carrying the candidate's reward program."""
        mixture = self.mixture or EnvMixture(entries=[MixtureEntry(source=TargetEnv(env_id=self.target_env),
                                                                   weight=1.0)])
        return mixture.model_copy(update={"reward": self.reward or mixture.reward})


EnvMixture.model_rebuild()
