"""Levels around a target's structure, for the classic curricula: the same layout and objective, with every size
and count between its easiest value and the target's.

DR draws each knob uniformly in that range (`around`), LP climbs a ladder of them from all-easiest to the
target's own spec (`ladder`), PLR replays a fixed set of such generators (`variants`). So all three stay on the
target's kind of level (a LavaCrossing curriculum crosses lava, a KeyCorridor one fetches keys), as the LLM's
proposals are asked to.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import ValidationError

from gymsmith.envs.minigrid.spec import COMMON_FIELDS, LAYOUT_FIELDS, MiniGridLevelSpec, max_strips

#: LP buckets at most, the target included.
LADDER_STEPS = 6
#: Randomised generators PLR adds to the ladder.
PLR_DRAWS = 12


def _knobs(spec: MiniGridLevelSpec) -> dict[str, tuple[int, int]]:
    """Knob -> (easiest, target) for the integer fields this spec's structure uses."""
    knobs: dict[str, tuple[int, int]] = {}
    if spec.layout in ("room", "two_rooms"):
        knobs["size"] = (5, spec.size)
    if spec.layout == "chain":
        knobs["rooms"] = (2, spec.rooms)
        knobs["room_size"] = (min(4, spec.room_size), spec.room_size)
    if spec.layout in ("grid", "corridor"):
        knobs["rows"] = (1 if spec.layout == "corridor" or spec.cols > 1 else 2, spec.rows)
        knobs["room_size"] = (min(5 if spec.layout == "grid" else 3, spec.room_size), spec.room_size)
    for name in ("lava_strips", "wall_strips"):
        if getattr(spec, name):
            knobs[name] = (1, getattr(spec, name))
    for name in ("scattered_lava", "balls", "boxes", "keys", "locked_doors"):
        knobs[name] = (0, getattr(spec, name))
    return {k: v for k, v in knobs.items() if v[0] <= v[1]}


def _level(spec: MiniGridLevelSpec, values: dict[str, Any], name: str) -> MiniGridLevelSpec | None:
    values = dict(values)
    for strip in ("lava_strips", "wall_strips"):
        if strip in values:
            values[strip] = max(1, min(values[strip], max_strips(values.get("size", spec.size))))
    if not values.get("locked_doors", spec.locked_doors):
        values.update(key_in_box=False, blocked=False)
    if spec.layout == "chain":
        values["locked_doors"] = min(values.get("locked_doors", spec.locked_doors), values.get("rooms", spec.rooms) - 1)
    try:
        return MiniGridLevelSpec.model_validate({**spec.model_dump(), **values, "name": name, "max_steps": 0})
    except ValidationError:
        return None


def around(spec: MiniGridLevelSpec, rng: np.random.Generator, name: str) -> MiniGridLevelSpec:
    """One uniform draw of every knob between its easiest value and the target's; flags on or off at random
    where the target has them on."""
    for _ in range(50):
        values: dict[str, Any] = {k: int(rng.integers(lo, hi + 1)) for k, (lo, hi) in _knobs(spec).items()}
        for flag in ("key_in_box", "blocked"):
            if getattr(spec, flag):
                values[flag] = bool(rng.integers(2))
        level = _level(spec, values, name)
        if level is not None:
            return level
    return spec.model_copy(update={"name": name})


def _rungs(knobs: dict[str, tuple[int, int]]) -> np.ndarray:
    """Where the rungs sit between every knob's easiest value (0) and the level's own (1), both ends included."""
    span = max([hi - lo for lo, hi in knobs.values()] + [1])
    return np.linspace(0.0, 1.0, max(2, min(LADDER_STEPS, span + 1)))


def _between(knobs: dict[str, tuple[int, int]], t: float) -> dict[str, Any]:
    return {k: int(round(lo + t * (hi - lo))) for k, (lo, hi) in knobs.items()}


def _distinct(levels: list[MiniGridLevelSpec | None], seen: set[str]) -> list[MiniGridLevelSpec]:
    """The levels in order, each level that uses the same values as one before it (or as ``seen``) left out."""
    out: list[MiniGridLevelSpec] = []
    for level in levels:
        if level is not None and str(level.used()) not in seen:
            seen.add(str(level.used()))
            out.append(level)
    return out


def ladder(spec: MiniGridLevelSpec) -> list[MiniGridLevelSpec]:
    """Easiest first: every knob at its easiest, then all knobs raised together, ending at the target itself."""
    knobs = _knobs(spec)
    levels: list[MiniGridLevelSpec | None] = []
    for i, t in enumerate(_rungs(knobs)[:-1]):
        values = _between(knobs, t)
        values.update({f: getattr(spec, f) and t >= 0.5 for f in ("key_in_box", "blocked")})
        levels.append(_level(spec, values, f"{spec.name}-{i}"[:60]))
    return _distinct([*levels, spec.model_copy(update={"name": f"{spec.name}-target"[:60]})], set())


#: Knobs that set how big a level is, not what is in it.
SIZE_KNOBS = ("size", "rooms", "rows", "room_size")


def smaller(spec: MiniGridLevelSpec) -> list[MiniGridLevelSpec]:
    """The level's own things (locks, strips, objects) in smaller rooms, smallest first: the ladder lowers counts
    with sizes, so its small rungs lose the locked door a level was written to teach."""
    knobs = {k: v for k, v in _knobs(spec).items() if k in SIZE_KNOBS}
    levels = [_level(spec, _between(knobs, t), f"{spec.name}-small{i}"[:60]) for i, t in enumerate(_rungs(knobs)[:-1])]
    return _distinct(levels, {str(spec.used())})


def variants(spec: MiniGridLevelSpec) -> list[MiniGridLevelSpec]:
    """PLR's fixed generators: the ladder plus seeded draws around the target (deterministic)."""
    rng = np.random.default_rng(0x504C52)
    out = ladder(spec)
    seen = {str(s.used()) for s in out}
    for i in range(PLR_DRAWS):
        level = around(spec, rng, f"{spec.name}-plr{i}"[:60])
        if str(level.used()) not in seen:
            seen.add(str(level.used()))
            out.append(level)
    return out


#: Fields an edit never touches: they change what the level *is* (its kind and task), not how hard it is.
_KIND_FIELDS = frozenset({"layout", "objective", "target", "near", "door_color", "target_color", "place", "start"})


def edit_fields(spec: MiniGridLevelSpec, values: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """The knobs ACCEL's edits may move on a level of this shape: a count or size the layout uses, or a flag;
    never the fields that make it another kind of level."""
    fields = (*LAYOUT_FIELDS[spec.layout], *COMMON_FIELDS)
    return {f: values[f] for f in fields if f not in _KIND_FIELDS and len(values[f]) > 1}
