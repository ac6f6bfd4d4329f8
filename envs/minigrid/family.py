"""The MiniGrid family: level specs, the target's description read off the env itself, ranges and references."""

from __future__ import annotations

import functools
import re
from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np
from minigrid.core.actions import Actions
from minigrid.core.constants import COLOR_TO_IDX, OBJECT_TO_IDX, STATE_TO_IDX
from minigrid.core.world_object import Ball, Box, Door, Goal, Key, Lava, Wall
from pydantic import ValidationError

from gymsmith.envs.family import FAMILIES, CatalogueTerm, Family, Policy, TargetInfo
from gymsmith.envs.minigrid.expert import expert_policy
from gymsmith.envs.minigrid.levels import check_spec, make_generated, render_level
from gymsmith.envs.minigrid.spec import MiniGridLevelSpec
from gymsmith.envs.minigrid.wrappers import wrap_minigrid
from gymsmith.envs.params import (
    NAME_LEN,
    FamilyError,
    InvalidItem,
    answer_schema,
    check_members,
    example_goals,
    goals_context,
    restrict,
    validation_reasons,
)
from gymsmith.envs.prompt_data import examples
from gymsmith.schemas import DEFAULT_TARGET, ComposeTerm, EnvSpec, Feedback, TaskSpec

#: Events the MiniGrid envs report in ``info["events"]``; goals and composed rewards speak this vocabulary.
MINIGRID_EVENTS: tuple[str, ...] = (
    "picked_up_key",
    "dropped_key",
    "opened_door",
    "reached_goal",
    "died_in_lava",
    "picked_up_ball",
    "picked_up_box",
)
#: Keys of ``info["features"]`` (see `EventFeatures.features`).
MINIGRID_FEATURES: tuple[str, ...] = (
    "agent_x", "agent_y", "agent_dir", "has_key", "door_open", "door_locked", "key_x", "key_y", "door_x",
    "door_y", "goal_x", "goal_y", "dist_key", "dist_door", "dist_goal", "step", "max_steps",
)  # fmt: skip
LEVEL_FIELDS = ("name", "size", "wall", "door_locked", "key", "lava", "distractors", "goal")
#: Spec field → key of the allowed-values table; ``--param`` may narrow these (None: a boolean field).
TUNABLE = {"size": "sizes", "lava": "lava", "distractors": "distractors", "goal": "goals",
           "wall": None, "door_locked": None, "key": None}


def is_minigrid_id(env_id: str) -> bool:
    return env_id.startswith(("MiniGrid-", "BabyAI-"))


# ------------------------------------------------------------------------------------- reading targets


def _objective(mission: str, has_goal: bool) -> str:
    """The mission type from MiniGrid's own mission text (every registered env states its task there)."""
    text = mission.lower()
    if text.startswith("put ") or " put " in text:
        return "put_near"
    if re.search(r"\b(pick up|fetch|go get|get a|get the)\b", text) and "goal" not in text:
        return "pickup"
    if text.startswith("go to") and "goal" not in text:
        return "goto"
    if text.startswith("open") and "goal" not in text:
        return "open_door"
    return "reach_goal" if has_goal else "other"


def _rooms(grid: Any) -> int:
    """Connected areas of floor when walls and doors separate them (lava is floor for this count)."""
    free = {(x, y) for y in range(grid.height) for x in range(grid.width)
            if not isinstance(grid.get(x, y), Wall | Door)}  # fmt: skip
    rooms = 0
    while free:
        rooms += 1
        queue = deque([free.pop()])
        while queue:
            x, y = queue.popleft()
            for n in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
                if n in free:
                    free.remove(n)
                    queue.append(n)
    return rooms


@functools.lru_cache(maxsize=32)
def scan_target(env_id: str, seed: int = 0) -> dict[str, Any]:
    """Facts about a registered MiniGrid env read off one reset: size, rooms, doors, objects, lava, mission."""
    import minigrid  # noqa: F401  (registers the MiniGrid ids)

    env = gym.make(env_id)
    try:
        env.reset(seed=seed)
        base = env.unwrapped
        grid = base.grid
        cells = [grid.get(x, y) for y in range(grid.height) for x in range(grid.width)]
        doors = [{"color": c.color, "state": "locked" if c.is_locked else "open" if c.is_open else "closed"}
                 for c in cells if isinstance(c, Door)]  # fmt: skip
        mission = str(base.mission)
        has_goal = any(isinstance(c, Goal) for c in cells)
        groups: dict[tuple[str, str], int] = {}
        for d in doors:
            groups[(d["state"], d["color"])] = groups.get((d["state"], d["color"]), 0) + 1
        return {
            "env_id": env_id,
            "size": [int(grid.width), int(grid.height)],
            "mission": mission,
            "objective": _objective(mission, has_goal),
            "rooms": _rooms(grid),
            "doors": doors,
            "door_groups": [{"count": n, "state": st, "color": co} for (st, co), n in groups.items()],
            "keys": [c.color for c in cells if isinstance(c, Key)],
            "balls": [c.color for c in cells if isinstance(c, Ball)],
            "boxes": [c.color for c in cells if isinstance(c, Box)],
            "lava": sum(isinstance(c, Lava) for c in cells),
            "goal": has_goal,
            "max_steps": int(base.max_steps),
        }
    finally:
        env.close()


def target_skills(facts: dict[str, Any]) -> tuple[str, ...]:
    """The events a target's structure makes measurable, in the order the task needs them."""
    skills: list[str] = []
    if facts["keys"]:
        skills.append("picked_up_key")
    if any(d["state"] != "open" for d in facts["doors"]):
        skills.append("opened_door")
    if facts["objective"] == "pickup":
        kinds = re.findall(r"\b(key|ball|box)\b", facts["mission"])
        skills += [f"picked_up_{k}" for k in dict.fromkeys(kinds) if f"picked_up_{k}" not in skills]
    if facts["goal"]:
        skills.append("reached_goal")
    return tuple(skills)


def _missing(facts: dict[str, Any]) -> tuple[str, ...]:
    """What the spec (one room, at most one wall with one door, a key, a little lava) cannot express."""
    missing = []
    if facts["objective"] != "reach_goal":
        missing.append(f"the mission {facts['mission']!r} (the only objective is reaching the goal square)")
    if facts["rooms"] > 2:
        missing.append(f"{facts['rooms']} rooms (at most two, split by one wall)")
    if len(facts["doors"]) > 1:
        missing.append(f"{len(facts['doors'])} doors (at most one)")
    if len(facts["keys"]) > 1:
        missing.append(f"{len(facts['keys'])} keys (at most one)")
    if facts["lava"] > 3:
        missing.append(f"{facts['lava']} lava cells (at most 3 scattered cells)")
    if len(facts["balls"]) + len(facts["boxes"]) > 2:
        missing.append("more than 2 balls and boxes")
    if max(facts["size"]) > 16:
        missing.append(f"a {facts['size'][0]}x{facts['size'][1]} grid (at most 16x16)")
    return tuple(missing)


# ------------------------------------------------------------------------------------ classic ranges


def _structure(kind: str, size: int, goal: str = "far") -> MiniGridLevelSpec:
    """Three structures of rising difficulty: an open room, a room split by an unlocked door, a locked door."""
    flags = {"open": (False, False, False), "door": (True, False, False), "locked": (True, True, True)}[kind]
    wall, locked, key = flags
    return MiniGridLevelSpec(name=f"{kind}-{size}-{goal}", size=size, wall=wall, door_locked=locked, key=key,
                             goal=goal)


class MiniGridFamily(Family):
    """MiniGrid levels (`MiniGridLevelSpec`); targets are any registered MiniGrid id."""

    name = "minigrid"
    spec_model = MiniGridLevelSpec
    template = "env_proposal.j2"
    items_key = "levels"
    noun = "level"
    default_target = DEFAULT_TARGET
    noop_action = int(Actions.done)
    #: The symbolic cell encoding: (object index, colour index, state), sizes from minigrid.core.constants.
    obs_categories = (len(OBJECT_TO_IDX), len(COLOR_TO_IDX), len(STATE_TO_IDX))

    def __init__(self, target_env: str, params: Any = ()) -> None:
        super().__init__(target_env, params)
        self._fixed = {p.name: restrict(MiniGridLevelSpec, p, tuple(TUNABLE)) for p in self.params}

    @classmethod
    def handles(cls, env_id: str) -> bool:
        return is_minigrid_id(env_id)

    # -- target

    def _describe(self) -> TargetInfo:
        import minigrid  # noqa: F401  (registers the MiniGrid ids)

        if self.target_env not in gym.registry:
            raise FamilyError(f"{self.target_env!r} is not a registered MiniGrid env")
        facts = scan_target(self.target_env)
        return TargetInfo(self.target_env, facts["mission"], target_skills(facts), facts, _missing(facts))

    def target_size(self) -> int:
        return max(self.describe_target().summary["size"])

    # -- envs

    def make_target(self, render_mode: str | None = None) -> gym.Env:
        import minigrid  # noqa: F401

        return wrap_minigrid(gym.make(self.target_env, render_mode=render_mode))

    @classmethod
    def make_spec(cls, spec: EnvSpec, render_mode: str | None = None) -> gym.Env:
        return make_generated(spec, render_mode=render_mode)  # type: ignore[arg-type]

    @classmethod
    def wrap(cls, env: gym.Env) -> gym.Env:
        return wrap_minigrid(env)

    @classmethod
    def frame(cls, env: gym.Env) -> np.ndarray:
        """The whole level with the agent's view highlighted, so its moves are visible."""
        return np.asarray(env.unwrapped.get_frame(highlight=True, tile_size=16))

    @classmethod
    def solvable(cls, spec: EnvSpec, seeds: Any) -> tuple[bool, str]:
        return check_spec(spec, seeds)  # type: ignore[arg-type]

    @classmethod
    def render(cls, spec: EnvSpec, seed: int = 0) -> dict[str, np.ndarray]:
        return {"grid": render_level(spec, seed)}  # type: ignore[arg-type]

    # -- vocabulary

    @property
    def events(self) -> tuple[str, ...]:
        return MINIGRID_EVENTS

    @property
    def features(self) -> tuple[str, ...]:
        return MINIGRID_FEATURES

    # -- ranges (shared by the LLM's grammar and the classic curricula, so comparisons are about choice)

    def values(self) -> dict[str, Any]:
        size = self.target_size()
        values: dict[str, Any] = {
            "sizes": list(range(5, min(16, max(size, 8)) + 1)),
            "target_size": size,
            "lava": [0, 1, 2, 3],
            "distractors": [0, 1, 2],
            "goals": ["near", "far", "random"],
        }
        for name, allowed in self._fixed.items():
            if TUNABLE[name] is not None:
                values[TUNABLE[name]] = allowed
        values["fixed"] = {n: v for n, v in self._fixed.items() if TUNABLE[n] is None}
        return values

    def allowed(self) -> dict[str, list[Any]]:
        v = self.values()
        return {"size": v["sizes"], "lava": v["lava"], "distractors": v["distractors"], "goal": v["goals"],
                **v["fixed"]}

    def random_spec(self, rng: np.random.Generator, name: str) -> EnvSpec:
        """A uniform draw over the valid combinations of the ranges (rejection on inconsistent flags)."""
        self.require_expressible("domain randomisation")
        v = self.values()
        while True:
            wall, door_locked, key = (bool(rng.integers(2)) for _ in range(3))
            fixed = v["fixed"]
            wall = fixed["wall"][int(rng.integers(len(fixed["wall"])))] if "wall" in fixed else wall
            if door_locked and not (wall and key):
                continue
            return MiniGridLevelSpec(
                name=name, size=int(rng.choice(v["sizes"])), wall=wall, door_locked=door_locked, key=key,
                lava=int(rng.choice(v["lava"])), distractors=int(rng.choice(v["distractors"])),
                goal=str(rng.choice(v["goals"])),
            )

    def plr_sources(self) -> list[EnvSpec]:
        """Each structure at every size from 5 to the target's; none when the target is not expressible."""
        if self.describe_target().missing:
            return []
        top = max(5, self.target_size())
        return [_structure(kind, size) for size in range(5, top + 1) for kind in ("open", "door", "locked")]

    def ladder(self) -> list[EnvSpec]:
        """Easiest first, ending at a target-sized locked door (at most four locked-door sizes)."""
        self.require_expressible("learning progress")
        top = max(5, self.target_size())
        sizes = sorted({int(round(x)) for x in np.linspace(5, top, num=max(1, min(4, top - 4)))})
        ladder: list[EnvSpec] = [_structure("open", 5, "near"), _structure("open", 5, "far")]
        if top > 5:
            ladder.append(_structure("open", top, "far"))
        ladder.append(_structure("door", 5))
        if top > 5:
            ladder.append(_structure("door", top))
        ladder.extend(_structure("locked", size) for size in sizes)
        return ladder

    # -- LLM

    def schema(self, task: TaskSpec, k: int, goals: int) -> dict[str, Any]:
        v = self.values()
        bools = {n: {"enum": v["fixed"][n]} if n in v["fixed"] else {"type": "boolean"}
                 for n in ("wall", "door_locked", "key")}
        level = {
            "type": "object",
            "properties": {
                "name": {"type": "string", "maxLength": NAME_LEN},
                "size": {"enum": v["sizes"]},
                **bools,
                "lava": {"enum": v["lava"]},
                "distractors": {"enum": v["distractors"]},
                "goal": {"enum": v["goals"]},
            },
            "required": list(LEVEL_FIELDS),
            "additionalProperties": False,
        }
        return answer_schema(self.items_key, level, k, self.events, goals)

    def context(
        self, task: TaskSpec, k: int, feedback: Feedback | None, request: str | None, goals: int
    ) -> dict[str, Any]:
        example: dict[str, Any] = dict(examples()["minigrid"])
        chosen = example_goals(self.events, goals, examples()["minigrid_goals"])
        if chosen:
            example["goals"] = chosen
        return {
            "task": task,
            "target": self.describe_target().summary,
            "family": self.values(),
            "k": k,
            "feedback": feedback,
            "example": example,
            "request": request,
            "goals": goals_context(self.events, goals, "levels"),
        }

    def build(self, item: dict[str, Any]) -> EnvSpec:
        try:
            spec = MiniGridLevelSpec(**{**item, "family": "minigrid"})
        except ValidationError as exc:
            raise InvalidItem(validation_reasons(exc, self.noun)) from None
        if self._fixed:
            check_members(spec, self.allowed(), self.noun)
        return spec

    # -- rewards

    def catalogue(self) -> tuple[CatalogueTerm, ...]:
        return (
            CatalogueTerm("distance", "distance", targets=("key", "door", "goal"), default_weight=0.1,
                          feature="dist_{target}"),
            CatalogueTerm("event", "event", targets=MINIGRID_EVENTS, default_weight=1.0),
            CatalogueTerm("hazard", "event", default_weight=1.0, event="died_in_lava", cost=True),
            *super().catalogue(),
        )

    def default_reward(self) -> list[ComposeTerm]:
        """First-time bonuses for the target's skills in order (the last one worth 1), light shaping towards
        the objects it has, a small time cost and the env reward."""
        skills = self.describe_target().skills
        terms = [ComposeTerm(term="event", target=s, weight=1.0 if i == len(skills) - 1 else 0.5)
                 for i, s in enumerate(skills)]
        facts = self.describe_target().summary
        present = {"key": bool(facts["keys"]), "door": bool(facts["doors"]), "goal": facts["goal"]}
        terms += [ComposeTerm(term="distance", target=t, weight=0.05) for t, there in present.items() if there]
        return [*terms, ComposeTerm(term="time_cost", weight=0.001), ComposeTerm(term="env_reward", weight=1.0)]

    def progress_policy(self) -> Policy | None:
        return expert_policy


FAMILIES.register(MiniGridFamily.name, MiniGridFamily, help="any MiniGrid-* or BabyAI-* id")
