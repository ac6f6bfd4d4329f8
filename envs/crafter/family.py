"""The Crafter family: EnvGen's world knobs, the Crafter score, and a scripted wood-and-table reference policy."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from crafter import constants
from pydantic import ValidationError

from gymsmith.envs.crafter import measure as world_measure
from gymsmith.envs.crafter.gym_env import (
    CRAFTER_ACHIEVEMENTS,
    CRAFTER_FEATURES,
    CrafterGenEnv,
    CrafterGymEnv,
    crafter_score,
    render_views,
)
from gymsmith.envs.crafter.spec import CRAFTER_MATERIALS, CRAFTER_TOOLS, CrafterWorldSpec
from gymsmith.envs.family import FAMILIES, CatalogueTerm, Family, Policy, TargetInfo
from gymsmith.envs.params import (
    NAME_LEN,
    InvalidItem,
    ParamRange,
    answer_schema,
    check_members,
    goals_context,
    restrict,
    validation_reasons,
)
from gymsmith.envs.prompt_data import examples
from gymsmith.schemas import ComposeTerm, Constraint, EnvSpec, Feedback, TaskSpec

#: Names a user may give for the Crafter target (case-insensitive) → whether the env reward is on.
CRAFTER_TARGETS: dict[str, bool] = {
    "crafter": True,
    "crafterreward-v1": True,
    "crafternoreward-v1": False,
    "gymsmith/crafter-v0": True,
}
CRAFTER_TARGET = "gymsmith/Crafter-v0"
GEN_ENV_ID = "gymsmith/CrafterGen-v0"
BIOMES = ["natural", "grassland", "mountain", "beaches"]
RARITIES = ["very_rare", "rare", "default", "common", "very_common"]
AREAS = [32, 48, 64]
LENGTHS = [1000, 2000, 5000, 10000]
RARITY_FIELDS = ("tree", "coal", "iron", "diamond", "zombies", "skeletons", "cows")
WORLD_FIELDS = ("name", "biome", *RARITY_FIELDS, "peaceful", "area", "length", "inventory")
VITALS = ("health", "food", "drink", "energy")


def crafter_requirements() -> list[dict[str, Any]]:
    """What each achievement needs, read from the installed Crafter's rules so the prompt never disagrees."""
    needs: list[dict[str, Any]] = []
    for name, rule in constants.collect.items():
        tools = [item for item in rule["require"] if item in CRAFTER_TOOLS]
        if tools:
            needs.append({"achievement": f"collect_{name}", "tools": tools, "uses": {}, "nearby": []})
    for name, rule in constants.place.items():
        needs.append({"achievement": f"place_{name}", "tools": [], "uses": dict(rule["uses"]), "nearby": []})
    for name, rule in constants.make.items():
        needs.append({"achievement": f"make_{name}", "tools": [], "uses": dict(rule["uses"]),
                      "nearby": list(rule["nearby"])})
    return needs


# ------------------------------------------------------------------------------------- reference policy

_MOVES = {(-1, 0): "move_left", (1, 0): "move_right", (0, -1): "move_up", (0, 1): "move_down"}
_ACTION = {name: i for i, name in enumerate(constants.actions)}


def wood_policy(env: gym.Env, rng: random.Random) -> int:
    """Walk to the nearest tree and collect wood; with wood, place a table and make a wood pickaxe.

    A few achievements in order (collect_wood, place_table, make_wood_pickaxe) is what "making progress" means
    for the reward verifier's hack check; a random walk rarely gets past the first.
    """
    inner = env.unwrapped.crafter_env
    player, world = inner._player, inner._world
    wood = player.inventory["wood"]
    near_table = "table" in world.nearby(player.pos, 1)[0]
    if wood >= 1 and near_table and player.inventory["wood_pickaxe"] == 0:
        return _ACTION["make_wood_pickaxe"]
    start = (int(player.pos[0]), int(player.pos[1]))
    if wood >= 2 and not near_table and player.achievements["place_table"] == 0:
        facing = (int(player.facing[0]), int(player.facing[1]))
        where = constants.place["table"]["where"]
        for step in (facing, *_MOVES):
            material, obj = world[(start[0] + step[0], start[1] + step[1])]
            if material in where and obj is None:
                return _ACTION["place_table"] if step == facing else _ACTION[_MOVES[step]]
    prev: dict[tuple[int, int], tuple[int, int] | None] = {start: None}
    queue = deque([start])
    width, height = world.area
    while queue:
        cur = queue.popleft()
        for step in _MOVES:
            nxt = (cur[0] + step[0], cur[1] + step[1])
            if nxt in prev or not (0 <= nxt[0] < width and 0 <= nxt[1] < height):
                continue
            material, obj = world[nxt]
            if material == "tree":
                if cur == start:
                    facing = (int(player.facing[0]), int(player.facing[1]))
                    return _ACTION["do"] if facing == step else _ACTION[_MOVES[step]]
                first = cur
                while prev[first] != start:
                    first = prev[first]  # type: ignore[assignment]
                return _ACTION[_MOVES[(first[0] - start[0], first[1] - start[1])]]
            prev[nxt] = cur
            if obj is None and material in constants.walkable:
                queue.append(nxt)
    return rng.randrange(len(constants.actions))


# -------------------------------------------------------------------------------------------- family


class CrafterFamily(Family):
    """Crafter worlds (`CrafterWorldSpec`), EnvGen-style: the LLM picks biome, rarities, creatures, inventory."""

    name = "crafter"
    spec_model = CrafterWorldSpec
    template = "crafter_proposal.j2"
    items_key = "worlds"
    noun = "world"
    metric = "crafter_score"
    skill_noun = "achievement"
    default_target = CRAFTER_TARGET
    noop_action = _ACTION["noop"]

    def __init__(self, target_env: str, params: Any = ()) -> None:
        super().__init__(target_env, params)
        self._allowed: dict[str, list[Any]] = {
            "biome": list(BIOMES),
            **{f: list(RARITIES) for f in RARITY_FIELDS},
            "peaceful": [False, True],
            "area": list(AREAS),
            "length": list(LENGTHS),
        }
        self.restricted = {p.name: restrict(CrafterWorldSpec, p, tuple(self._allowed)) for p in self.params}
        self._allowed.update(self.restricted)
        #: Starting items a request asks for (`narrow`): item -> the counts allowed; the grammar requires them.
        self.inventory: dict[str, list[int]] = {}

    @classmethod
    def handles(cls, env_id: str) -> bool:
        return env_id.lower() in CRAFTER_TARGETS

    def _describe(self) -> TargetInfo:
        reward = CRAFTER_TARGETS.get(self.target_env.lower(), True)
        summary = {"area": 64, "length": 10000, "reward": reward, "achievements": len(CRAFTER_ACHIEVEMENTS)}
        return TargetInfo(self.target_env, examples()["crafter_task"], CRAFTER_ACHIEVEMENTS, summary)

    def target_spec(self) -> EnvSpec:
        """The original Crafter: every knob at its default (the generator then reproduces Crafter's world)."""
        return CrafterWorldSpec(name="original")

    # -- envs

    def make_target(self, render_mode: str | None = None) -> gym.Env:
        return CrafterGymEnv(render_mode=render_mode, reward=CRAFTER_TARGETS.get(self.target_env.lower(), True))

    @classmethod
    def make_spec(cls, spec: EnvSpec, render_mode: str | None = None) -> gym.Env:
        return CrafterGenEnv(spec, render_mode=render_mode)  # type: ignore[arg-type]

    @classmethod
    def render(cls, spec: EnvSpec, seed: int = 0) -> dict[str, np.ndarray]:
        return render_views(spec, seed)  # type: ignore[arg-type]

    # -- vocabulary

    @property
    def events(self) -> tuple[str, ...]:
        return CRAFTER_ACHIEVEMENTS

    @property
    def features(self) -> tuple[str, ...]:
        return CRAFTER_FEATURES

    def score(self, events: Sequence[set[str]], successes: Sequence[float], returns: Sequence[float]) -> float:
        """The Crafter score (Hafner 2021) over the evaluation episodes, in percent."""
        if not events:
            return 0.0
        rates = {a: 100.0 * sum(a in ev for ev in events) / len(events) for a in CRAFTER_ACHIEVEMENTS}
        return crafter_score(rates)

    # -- constraints (`gymsmith generate` checks a request's constraints on generated worlds)

    def quantities(self) -> dict[str, list[str]]:
        return world_measure.quantities()

    @classmethod
    def measure(cls, spec: EnvSpec, seed: int) -> dict[str, Any]:
        return world_measure.measure(spec, seed)  # type: ignore[arg-type]

    def narrow(self, constraints: Sequence[Constraint]) -> CrafterFamily:
        """This family with the knob values that cannot meet ``constraints`` removed, as ``--param`` would."""
        fixed = dict(self.restricted)
        for field, allowed in world_measure.narrowing(constraints).items():
            left = [v for v in self._allowed[field] if v in allowed]
            if left:
                fixed[field] = left
        params = [ParamRange(name=f, kind="choice", choices=tuple(v)) for f, v in fixed.items()]
        narrowed = type(self)(self.target_env, params)
        narrowed.inventory = dict(self.inventory)
        for c in constraints:
            item = c.quantity.removeprefix("start_")
            if c.quantity.startswith("start_") and item in (*CRAFTER_MATERIALS, *CRAFTER_TOOLS):
                counts = [n for n in (range(10) if item in CRAFTER_MATERIALS else range(2)) if c.holds(n)]
                if counts:
                    narrowed.inventory[item] = counts
        return narrowed

    # -- ranges

    def allowed(self) -> dict[str, list[Any]]:
        return dict(self._allowed)

    def random_spec(self, rng: np.random.Generator, name: str) -> EnvSpec:
        """Uniform over every knob; each material starts at 1..5 with probability 1/4, each tool with 1/10."""
        values = {f: v[int(rng.integers(len(v)))] for f, v in self._allowed.items()}
        inventory = {m: int(rng.integers(1, 6)) for m in CRAFTER_MATERIALS if rng.random() < 0.25}
        inventory.update({t: 1 for t in CRAFTER_TOOLS if rng.random() < 0.1})
        return CrafterWorldSpec(name=name, inventory=inventory, **values)

    def plr_sources(self) -> list[EnvSpec]:
        """A fixed set of randomised worlds (and PLR adds the target): levels are (world, seed) pairs."""
        rng = np.random.default_rng(0xC4AF7E4)
        return [self.random_spec(rng, f"plr-{i}") for i in range(16)]

    def ladder(self) -> list[EnvSpec]:
        """Peaceful worlds rich in resources with a head start, down to the original Crafter."""
        return [
            CrafterWorldSpec(name="rich-peaceful-start", peaceful=True, tree="very_common", coal="very_common",
                             iron="common", area=48, inventory={"wood": 5, "stone": 3}),
            CrafterWorldSpec(name="rich-peaceful", peaceful=True, tree="common", coal="common", iron="common"),
            CrafterWorldSpec(name="rich", tree="common", coal="common", iron="common", zombies="rare"),
            CrafterWorldSpec(name="original"),
        ]

    # -- LLM

    def values(self) -> dict[str, Any]:
        return {
            **self._allowed,
            "restricted": self.restricted,
            "rarities": list(RARITIES),
            "materials": list(CRAFTER_MATERIALS),
            "tools": list(CRAFTER_TOOLS),
            "achievements": list(self.events),
            "requirements": crafter_requirements(),
        }

    def schema(self, task: TaskSpec, k: int, goals: int) -> dict[str, Any]:
        inventory: dict[str, Any] = {
            "type": "object",
            "properties": {
                **{m: {"enum": list(range(10))} for m in CRAFTER_MATERIALS},
                **{t: {"enum": [0, 1]} for t in CRAFTER_TOOLS},
                **{item: {"enum": counts} for item, counts in self.inventory.items()},
            },
            "additionalProperties": False,
        }
        if self.inventory:
            inventory["required"] = sorted(self.inventory)
        peaceful = self._allowed["peaceful"]
        properties = {
            "name": {"type": "string", "maxLength": NAME_LEN},
            **{name: {"enum": values} for name, values in self._allowed.items() if name != "peaceful"},
            "peaceful": {"enum": peaceful} if len(peaceful) == 1 else {"type": "boolean"},
            "inventory": inventory,
        }
        world = {
            "type": "object",
            # the documented order, so the grammar asks for fields in the order the template explains them
            "properties": {f: properties[f] for f in WORLD_FIELDS},
            "required": list(WORLD_FIELDS),
            "additionalProperties": False,
        }
        return answer_schema(self.items_key, world, k, self.events, goals)

    def context(
        self, task: TaskSpec, k: int, feedback: Feedback | None, request: str | None, goals: int
    ) -> dict[str, Any]:
        return {
            "task": task,
            "target": self.describe_target().summary,
            "family": self.values(),
            "k": k,
            "feedback": feedback,
            "request": request,
            "goals": goals_context(self.events, goals, "worlds"),
        }

    def build(self, item: dict[str, Any]) -> EnvSpec:
        try:
            spec = CrafterWorldSpec(**{**item, "family": "crafter"})
        except ValidationError as exc:
            raise InvalidItem(validation_reasons(exc, self.noun)) from None
        check_members(spec, self._allowed, self.noun)
        return spec

    # -- rewards

    def catalogue(self) -> tuple[CatalogueTerm, ...]:
        items = CRAFTER_MATERIALS + CRAFTER_TOOLS
        return (
            CatalogueTerm("achievement", "event", targets=CRAFTER_ACHIEVEMENTS, default_weight=1.0),
            CatalogueTerm("gain", "delta", targets=items, default_weight=0.1, feature="inv_{target}",
                          gains_only=True),
            CatalogueTerm("vital", "delta", targets=VITALS, default_weight=0.1, feature="inv_{target}"),
            *super().catalogue(),
        )

    def default_reward(self) -> list[ComposeTerm]:
        """Crafter's own reward (+1 per new achievement) plus small payments for gathering the materials the
        later achievements need, rarer ones worth more."""
        gains = {"wood": 0.05, "stone": 0.05, "coal": 0.1, "iron": 0.2, "diamond": 0.5, "sapling": 0.02}
        return [ComposeTerm(term="env_reward", weight=1.0),
                *(ComposeTerm(term="gain", target=m, weight=w) for m, w in gains.items())]

    def progress_policy(self) -> Policy | None:
        return wood_policy

    def made_progress(self, events: set[str], success: float) -> bool:
        return "collect_wood" in events


FAMILIES.register(CrafterFamily.name, CrafterFamily, help="crafter, CrafterReward-v1, CrafterNoReward-v1 or "
                  "gymsmith/Crafter-v0")


def register() -> None:
    """Idempotent Gymnasium ids: ``gym.make(GEN_ENV_ID, spec=..., seed=...)`` and ``gym.make(CRAFTER_TARGET)``."""
    if GEN_ENV_ID not in gym.registry:
        gym.register(id=GEN_ENV_ID, entry_point="gymsmith.envs.crafter.gym_env:CrafterGenEnv")
    if CRAFTER_TARGET not in gym.registry:
        gym.register(id=CRAFTER_TARGET, entry_point="gymsmith.envs.crafter.gym_env:CrafterGymEnv")
