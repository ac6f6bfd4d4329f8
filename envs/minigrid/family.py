"""The MiniGrid family: the level language, the target's spec in it (its reach), ranges around the target, and
the events, rewards and reference policy that come from the level."""

from __future__ import annotations

import functools
import hashlib
import json
import random
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from minigrid.core.actions import Actions
from minigrid.core.constants import COLOR_TO_IDX, OBJECT_TO_IDX, STATE_TO_IDX
from pydantic import ValidationError

from gymsmith.envs.family import FAMILIES, CatalogueTerm, Family, Policy, TargetInfo, UnsolvableLevel
from gymsmith.envs.minigrid import vocab
from gymsmith.envs.minigrid.census import QUANTITIES, census
from gymsmith.envs.minigrid.expert import expert_policy
from gymsmith.envs.minigrid.levels import MiniGridGenEnv, check_spec, make_generated, render_level
from gymsmith.envs.minigrid.narrow import contradiction, narrowing
from gymsmith.envs.minigrid.ranges import around, edit_fields, ladder, smaller, variants
from gymsmith.envs.minigrid.reach import reach
from gymsmith.envs.minigrid.spec import (
    COLORS,
    COMMON_FIELDS,
    LAYOUT_FIELDS,
    LAYOUTS,
    OBJECTIVE_FIELDS,
    OBJECTIVES,
    MiniGridLevelSpec,
    from_item,
    layout_cases,
)
from gymsmith.envs.minigrid.wrappers import MINIGRID_EVENTS, MINIGRID_FEATURES, wrap_minigrid
from gymsmith.envs.params import (
    NAME_LEN,
    FamilyError,
    InvalidItem,
    ParamRange,
    answer_schema,
    check_members,
    goals_context,
    restrict,
    validation_reasons,
)
from gymsmith.schemas import DEFAULT_TARGET, ComposeTerm, Constraint, EnvSpec, Feedback, TaskSpec

#: Item field -> the values the LLM's grammar offers (small integer ranges as enums; pydantic re-checks).
#: ``--param`` may narrow any of them.
LEVEL_VALUES: dict[str, list[Any]] = {
    "layout": list(LAYOUTS),
    "size": list(range(5, 17)),
    "rooms": [2, 3, 4, 5, 6],
    "rows": [1, 2, 3],
    "cols": [1, 2, 3],
    "room_size": list(range(3, 11)),
    "connect": ["gap", "open", "closed"],
    "locked_doors": [0, 1, 2, 3],
    "door_color": ["random", *COLORS],
    "key_in_box": [False, True],
    "blocked": [False, True],
    "lava_strips": list(range(0, 9)),
    "wall_strips": list(range(0, 9)),
    "wall_doors": [0, 1, 2, 3, 4],
    "scattered_lava": [0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20],
    "balls": list(range(0, 7)),
    "boxes": list(range(0, 7)),
    "keys": [0, 1, 2, 3],
    "place": ["far", "random"],
    "start": ["corner", "first_room", "anywhere"],
    "objective": list(OBJECTIVES),
    "target": ["ball", "box", "key", "door", "any"],
    "target_color": ["random", *COLORS],
    "near": ["ball", "box", "key", "any"],
}


def is_minigrid_id(env_id: str) -> bool:
    return env_id.startswith(("MiniGrid-", "BabyAI-"))


@functools.lru_cache(maxsize=32)
def scan_target(env_id: str, seed: int = 0) -> dict[str, Any]:
    """Facts about a registered MiniGrid env read off one reset (for the prompt's one-line target summary)."""
    import minigrid  # noqa: F401  (registers the MiniGrid ids)

    env = wrap_minigrid(gym.make(env_id))
    try:
        env.reset(seed=seed)
        base = env.unwrapped
        cells = [c for c in base.grid.grid if c is not None]
        doors = [{"color": c.color, "state": "locked" if c.is_locked else "open" if c.is_open else "closed"}
                 for c in cells if c.type == "door"]  # fmt: skip
        groups: dict[tuple[str, str], int] = {}
        for d in doors:
            groups[(d["state"], d["color"])] = groups.get((d["state"], d["color"]), 0) + 1
        counts = census(env)
        return {
            "env_id": env_id,
            "size": [int(base.grid.width), int(base.grid.height)],
            "mission": str(base.mission),
            "objective": counts["objective"],
            "rooms": counts["rooms"],
            "doors": doors,
            "door_groups": [{"count": n, "state": st, "color": co} for (st, co), n in groups.items()],
            "keys": [c.color for c in cells if c.type == "key"],
            "balls": [c.color for c in cells if c.type == "ball"],
            "boxes": [c.color for c in cells if c.type == "box"],
            "lava": counts["lava_cells"],
            "lava_strips": counts["lava_strips"],
            "wall_strips": counts["wall_strips"],
            "goal": any(c.type == "goal" for c in cells),
            "max_steps": int(base.max_steps),
        }
    finally:
        env.close()


#: Levels whose expert episodes a family keeps (oldest dropped first): a run's curriculum asks about a few
#: dozen levels per cycle.
EXPERT_RUNS_KEPT = 512


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
        self._fixed = {p.name: restrict(MiniGridLevelSpec, p, tuple(LEVEL_VALUES)) for p in self.params}
        #: Expert episodes already run, by level and seeds: pacing asks for a level's steps and then its events,
        #: and for the target's every cycle; the expert is deterministic per seed, so each is run once.
        self._runs: dict[tuple[str | None, tuple[int, ...]], list[tuple[int, int, bool, set[str]]] | None] = {}

    @classmethod
    def handles(cls, env_id: str) -> bool:
        return is_minigrid_id(env_id)

    # -- target

    def _describe(self) -> TargetInfo:
        import minigrid  # noqa: F401  (registers the MiniGrid ids)

        if self.target_env not in gym.registry:
            raise FamilyError(f"{self.target_env!r} is not a registered MiniGrid env")
        facts = dict(scan_target(self.target_env))
        found = reach(self.target_env)
        if found.spec is None:
            skills = vocab.from_facts(facts)
            return TargetInfo(self.target_env, facts["mission"], skills, facts, (found.missing,))
        facts["spec"] = json.dumps(found.spec.brief())  # in field order: the order the grammar asks for
        return TargetInfo(self.target_env, facts["mission"], vocab.skills(found.spec), facts)

    def target_spec(self) -> MiniGridLevelSpec:
        """The target in the level language (its reach); refuses, naming why, for targets outside it."""
        found = reach(self.target_env)
        if found.spec is None:
            raise FamilyError(f"{self.target_env} is outside the MiniGrid level language: {found.missing}")
        return found.spec

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

    def solution_steps(self, spec: EnvSpec | None, seeds: Sequence[int]) -> float | None:
        """The scripted expert (`expert.expert_policy`, the hack check's reference) solves every objective of
        the language and every registered env whose mission it reads; its episode length is the level's. A level
        that cannot be built on a seed counts as infinitely long (it is never "easy enough")."""
        runs = self._expert_runs(spec, seeds)
        if runs is None:
            return float("inf")
        return float(np.mean([steps if solved else limit for steps, limit, solved, _ in runs])) if runs else None

    def solution_events(self, spec: EnvSpec | None, seeds: Sequence[int]) -> set[str] | None:
        """What the expert does on its solved episodes (the same episodes `solution_steps` counts)."""
        runs = self._expert_runs(spec, seeds)
        return set().union(*(events for _, _, solved, events in runs if solved)) if runs is not None else set()

    def _expert_runs(self, spec: EnvSpec | None, seeds: Sequence[int]) -> list[tuple[int, int, bool, set[str]]] | None:
        """(steps, step limit, solved, events) of one expert episode per seed; None when a seed cannot be built."""
        key = (None if spec is None else spec.model_dump_json(), tuple(int(s) for s in seeds))
        if key not in self._runs:
            if len(self._runs) >= EXPERT_RUNS_KEPT:
                self._runs.pop(next(iter(self._runs)))
            self._runs[key] = self._run_expert(spec, key[1])
        return self._runs[key]

    def _run_expert(self, spec: EnvSpec | None, seeds: Sequence[int]) -> list[tuple[int, int, bool, set[str]]] | None:
        import minigrid  # noqa: F401  (registers the target ids)

        runs = []
        for seed in seeds:
            try:
                env = self.make_target() if spec is None else wrap_minigrid(MiniGridGenEnv(spec))  # type: ignore[arg-type]
            except (ValueError, AssertionError):
                return None
            try:
                try:
                    env.reset(seed=int(seed))
                except (ValueError, AssertionError, UnsolvableLevel):
                    return None
                rng = random.Random(int(seed))
                limit = int(env.unwrapped.max_steps)
                events: set[str] = set()
                run = (limit, limit, False, events)
                for t in range(1, limit + 1):
                    _, reward, terminated, truncated, info = env.step(expert_policy(env, rng))
                    events.update(info.get("events", ()))
                    if terminated or truncated:
                        run = (t, limit, reward > 0, events)
                        break
                runs.append(run)
            finally:
                env.close()
        return runs

    @classmethod
    def render(cls, spec: EnvSpec, seed: int = 0) -> dict[str, np.ndarray]:
        return {"grid": render_level(spec, seed)}  # type: ignore[arg-type]

    def render_target(self, seed: int = 0) -> dict[str, np.ndarray]:
        env = self.make_target(render_mode="rgb_array")
        try:
            env.reset(seed=seed)
            return {"grid": np.asarray(env.unwrapped.get_frame(highlight=False, tile_size=16))}
        finally:
            env.close()

    @classmethod
    def structure(cls, spec: EnvSpec) -> str:
        """Fields a layout ignores do not make two specs different levels (the LLM fills them anyway)."""
        payload = json.dumps(spec.used(), sort_keys=True)  # type: ignore[attr-defined]
        return hashlib.sha256(payload.encode()).hexdigest()[:12]

    # -- vocabulary

    @property
    def events(self) -> tuple[str, ...]:
        return MINIGRID_EVENTS

    @property
    def features(self) -> tuple[str, ...]:
        return MINIGRID_FEATURES

    def level_events(self) -> tuple[str, ...]:
        """The events the target's levels can report (its compose-reward vocabulary)."""
        found = reach(self.target_env)
        if found.spec is None:
            return tuple(dict.fromkeys((*self.describe_target().skills, "completed_mission")))
        return vocab.possible(found.spec)

    # -- constraints (`gymsmith generate` checks a request's constraints on sampled levels)

    def quantities(self) -> dict[str, list[str]]:
        counts = ["0", "1", "2", "3", "4", ">=1", ">=2", ">=3", ">=4", "<=1", "<=2", "<=3"]
        many = ["0", "1", "2", "3", ">=1", ">=2", ">=3", ">=5", ">=10", ">=20", "<=2", "<=5", "<=10"]
        sizes = [str(n) for n in LEVEL_VALUES["size"]] + [">=7", ">=9", ">=11", ">=13", "<=6", "<=8", "<=10"]
        out: dict[str, list[str]] = {}
        for name in QUANTITIES:
            out[name] = {"objective": list(OBJECTIVES), "target": ["ball", "box", "key", "door"],
                         "target_color": list(COLORS), "size": sizes, "lava_cells": many}.get(name, counts)
        return out

    @classmethod
    def measure(cls, spec: EnvSpec, seed: int) -> dict[str, Any]:
        env = make_generated(spec)  # type: ignore[arg-type]
        try:
            env.reset(seed=seed)
            return census(env)
        finally:
            env.close()

    # -- ranges around the target's structure (shared by the LLM's grammar and the classic curricula)

    def narrow(self, constraints: Sequence[Constraint]) -> MiniGridFamily:
        """This family with the field values that cannot meet ``constraints`` removed (see `narrow.py`), as if
        the user had given them as ``--param``; a constraint that would leave a field empty narrows nothing."""
        current = self.values()
        fixed = dict(self._fixed)
        for field, allowed in narrowing(constraints, current).items():
            if allowed:
                fixed[field] = allowed
        params = [ParamRange(name=f, kind="choice", choices=tuple(v)) for f, v in fixed.items()]
        return type(self)(self.target_env, params)

    def conflict(self, constraints: Sequence[Constraint]) -> str | None:
        field = contradiction(constraints, self.values())
        return None if field is None else f"no {field} of a level meets them all"

    def values(self) -> dict[str, Any]:
        """Field -> allowed values, after ``--param`` narrowing, plus what the templates print about sizes."""
        size = self.target_size()
        values: dict[str, Any] = {k: list(v) for k, v in LEVEL_VALUES.items()}
        top = min(25, max(16, size))
        values["size"] = list(range(5, top + 1))
        values.update(self._fixed)
        return values

    def allowed(self) -> dict[str, list[Any]]:
        return {name: self.values()[name] for name in self._fixed}

    def _narrow(self, spec: MiniGridLevelSpec) -> MiniGridLevelSpec | None:
        """A draw with the user's ``--param`` values imposed, or None when they make it invalid."""
        if not self._fixed:
            return spec
        update = {n: (getattr(spec, n) if getattr(spec, n) in v else v[0]) for n, v in self._fixed.items()}
        try:
            return MiniGridLevelSpec.model_validate({**spec.model_dump(), **update})
        except ValidationError:
            return None

    def random_spec(self, rng: np.random.Generator, name: str) -> EnvSpec:
        """Domain randomisation around the target: its layout and objective, each size and count drawn up to
        the target's (so the target itself is a possible draw)."""
        self.require_expressible("domain randomisation")
        for _ in range(100):
            spec = self._narrow(around(self.target_spec(), rng, name))
            if spec is not None:
                return spec
        raise FamilyError(f"--param values {self._fixed} leave no valid level around {self.target_env}")

    def edit_fields(self, spec: EnvSpec) -> dict[str, list[Any]]:
        return edit_fields(spec, self.values()) if isinstance(spec, MiniGridLevelSpec) else {}

    def plr_sources(self) -> list[EnvSpec]:
        """A fixed set of generators around the target (easier variants of its structure, then itself); none
        when the target is outside the language."""
        if self.describe_target().missing:
            return []
        return [s for s in (self._narrow(v) for v in variants(self.target_spec())) if s is not None]

    def easier(self, spec: EnvSpec) -> list[EnvSpec]:
        """The rungs of ``spec``'s own ladder below it: its layout and objective with every size and count
        lowered together (`ranges.ladder`)."""
        rungs = [s for s in (self._narrow(v) for v in ladder(spec)) if s is not None]  # type: ignore[arg-type]
        return [s for s in rungs if s.used() != spec.used()]  # type: ignore[attr-defined]

    def smaller(self, spec: EnvSpec) -> list[EnvSpec]:
        """``spec``'s own things in smaller rooms (`ranges.smaller`): the ladder's small rungs drop its lock."""
        rungs = [s for s in (self._narrow(v) for v in smaller(spec)) if s is not None]  # type: ignore[arg-type]
        return [s for s in rungs if s.used() != spec.used()]  # type: ignore[attr-defined]

    def ladder(self) -> list[EnvSpec]:
        """Buckets from the easiest variant of the target's structure up to the target's own spec."""
        self.require_expressible("learning progress")
        return [s for s in (self._narrow(v) for v in ladder(self.target_spec())) if s is not None]

    # -- LLM

    def schema(self, task: TaskSpec, k: int, goals: int) -> dict[str, Any]:
        """One object shape per layout and case of it (``anyOf``; `layout_cases`) holding only the fields that
        layout uses, and one objective shape per objective type: the grammar cannot write a field a level would
        ignore, nor most combinations the validator refuses."""
        v = self.values()

        def enum(field: str, case: dict[str, list[Any]] | None = None) -> dict[str, Any]:
            allowed = (case or {}).get(field, v[field])
            return {"type": "boolean"} if allowed == [False, True] else {"enum": allowed}

        def objectives(allows: Any) -> list[dict[str, Any]]:
            shapes = []
            for kind in v["objective"]:
                props: dict[str, Any] = {"type": {"enum": [kind]}}
                for field in OBJECTIVE_FIELDS[kind]:
                    allowed = v[{"color": "target_color"}.get(field, field)]
                    if field == "target":
                        allowed = [t for t in allowed if allows(kind, t)
                                   and not (t == "door" and kind in ("pickup", "put_near"))]
                    props[field] = {"enum": allowed}
                if ("target" in props and props["target"]["enum"]) or ("target" not in props and allows(kind, None)):
                    shapes.append({"type": "object", "properties": props, "required": list(props),
                                   "additionalProperties": False})
            return shapes

        shapes = []
        for layout in v["layout"]:
            for case, allows in layout_cases(layout, v):
                goals_of_case = objectives(allows)
                if not goals_of_case:
                    continue
                props = {"name": {"type": "string", "maxLength": NAME_LEN}, "layout": {"enum": [layout]}}
                props.update({f: enum(f, case) for f in (*LAYOUT_FIELDS[layout], *COMMON_FIELDS)})
                props["objective"] = {"anyOf": goals_of_case}
                shapes.append({"type": "object", "properties": props, "required": list(props),
                               "additionalProperties": False})
        return answer_schema(self.items_key, {"anyOf": shapes}, k, self.events, goals)

    def context(
        self, task: TaskSpec, k: int, feedback: Feedback | None, request: str | None, goals: int
    ) -> dict[str, Any]:
        return {
            "task": task,
            "target": self.describe_target().summary,
            "family": self.values(),
            "fixed": self._fixed,
            "k": k,
            "feedback": feedback,
            "request": request,
            "goals": goals_context(self.events, goals, "levels"),
        }

    def build(self, item: dict[str, Any]) -> EnvSpec:
        try:
            spec = MiniGridLevelSpec(**{**from_item(item), "family": "minigrid"})
        except ValidationError as exc:
            raise InvalidItem(validation_reasons(exc, self.noun)) from None
        except ValueError as exc:  # not the documented shape (from_item names the field)
            raise InvalidItem(str(exc)) from None
        why = self.check(spec)
        if why:
            raise InvalidItem(why)
        return spec

    def draft(self, item: dict[str, Any]) -> EnvSpec | None:
        """The item form read without validation (see `Family.draft`); None for an unknown layout, whose knobs
        are unknown."""
        try:
            fields = from_item(item) if isinstance(item, dict) else None
        except ValueError:
            return None
        if fields is None or fields.get("layout", "room") not in LAYOUT_FIELDS:
            return None
        known = {k: v for k, v in fields.items() if k in MiniGridLevelSpec.model_fields}
        return MiniGridLevelSpec.model_construct(**{**known, "family": "minigrid"})

    def check(self, spec: EnvSpec) -> str:
        """Narrowed fields are checked where the spec's layout and objective use them (a room has no
        ``connect``, whatever its default says)."""
        if not isinstance(spec, MiniGridLevelSpec):
            return super().check(spec)
        used = spec.used()
        try:
            check_members(spec, {k: v for k, v in self.allowed().items() if k in used}, self.noun)
        except InvalidItem as exc:
            return exc.reason
        return ""

    # -- rewards

    def catalogue(self) -> tuple[CatalogueTerm, ...]:
        """Shaping towards what the target's levels contain and bonuses for the events they can report."""
        found = reach(self.target_env)
        present = vocab.things(found.spec) if found.spec is not None else ("key", "door", "goal")
        terms = [
            CatalogueTerm("distance", "distance", targets=present, default_weight=0.1, feature="dist_{target}"),
            CatalogueTerm("event", "event", targets=self.level_events(), default_weight=1.0),
        ]
        if "died_in_lava" in self.level_events():
            terms.append(CatalogueTerm("hazard", "event", default_weight=1.0, event="died_in_lava", cost=True))
        return (*terms, *super().catalogue())

    def default_reward(self) -> list[ComposeTerm]:
        """First-time bonuses for the target's skills in order (the last one worth 1), light shaping towards
        the things its levels contain, a small time cost and the env reward."""
        skills = self.describe_target().skills
        terms = [ComposeTerm(term="event", target=s, weight=1.0 if i == len(skills) - 1 else 0.5)
                 for i, s in enumerate(skills)]
        distance = next(t for t in self.catalogue() if t.name == "distance")
        terms += [ComposeTerm(term="distance", target=t, weight=0.05) for t in distance.targets]
        return [*terms, ComposeTerm(term="time_cost", weight=0.001), ComposeTerm(term="env_reward", weight=1.0)]

    def progress_policy(self) -> Policy | None:
        return expert_policy


FAMILIES.register(MiniGridFamily.name, MiniGridFamily, help="any MiniGrid-* or BabyAI-* id")
__all__ = ["MINIGRID_EVENTS", "MINIGRID_FEATURES", "MiniGridFamily", "MiniGridGenEnv", "is_minigrid_id"]
