"""From a request's constraints to the field values a level may take: the grammar the levels are written under.

Each rule only removes values that cannot meet the constraint (``doors = 0`` removes every way to make a door,
``lava_strips >= 2`` leaves one-room layouts with two strips or more); what no single field decides (``rooms >= 3``
is a chain of 3, a 2x2 grid or a corridor) stays open, and the measurement on sampled levels decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gymsmith.schemas import Constraint

MULTI = ["two_rooms", "chain", "grid", "corridor"]


def _allowed(c: Constraint, domain: list[int]) -> list[int]:
    return [v for v in domain if c.holds(v)]


def contradiction(constraints: Sequence[Constraint], values: dict[str, list[Any]]) -> str | None:
    """The first field no value of which meets every one of ``constraints`` (``rooms >= 2`` leaves the layouts
    of several rooms, ``lava_strips >= 2`` only the one room), else None."""
    return next((field for field, left in narrowing(constraints, values).items() if not left), None)


def narrowing(constraints: Sequence[Constraint], values: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Field -> the allowed values left by ``constraints`` (only fields some constraint narrows)."""
    out: dict[str, set[Any]] = {}

    def keep(field: str, allowed: list[Any]) -> None:
        out[field] = (out[field] & set(allowed)) if field in out else set(allowed)

    counts = list(range(0, 9))
    for c in constraints:
        q = c.quantity
        if q in ("objective", "target", "target_color"):
            keep(q, [c.value])
            if q != "objective":  # only an objective about a thing has a target: a goal square has none
                keep("objective", ["goto", "open_door"] if c.value == "door" else ["pickup", "goto", "put_near"])
            continue
        ok = _allowed(c, counts)
        only_zero, no_zero = ok == [0], 0 not in ok
        if q == "size":
            keep("size", _allowed(c, values["size"]))
            keep("layout", ["room", "two_rooms"])
        elif q == "rooms":
            if max(ok, default=0) <= 1:
                keep("layout", ["room"])
            elif min(ok) >= 2:
                keep("layout", MULTI if min(ok) == 2 else ["chain", "grid", "corridor"])
                keep("connect", ["open", "closed"])
                keep("rooms", [r for r in values["rooms"] if r in ok] or values["rooms"])
        elif q == "doors":
            if only_zero:
                keep("wall_doors", [0])
                keep("connect", ["gap"])
                keep("locked_doors", [0])
            elif no_zero:
                keep("connect", ["open", "closed"])
                keep("wall_doors", [d for d in values["wall_doors"] if d in ok] or values["wall_doors"])
        elif q == "locked_doors":
            keep("locked_doors", [v for v in values["locked_doors"] if v in ok])
            if no_zero:
                keep("layout", ["chain"] if min(ok) >= 2 else MULTI)
        elif q == "closed_doors":
            if only_zero:
                keep("connect", ["gap", "open"])
                keep("wall_doors", [0])
            elif no_zero:
                keep("connect", ["closed"])
        elif q == "open_doors":
            if only_zero:
                keep("connect", ["gap", "closed"])
            elif no_zero:
                keep("connect", ["open"])
                keep("layout", MULTI)
        elif q in ("keys", "balls", "boxes") and only_zero:
            kind = q[:-1] if q != "boxes" else "box"
            keep(q, [0])
            keep("target", [t for t in values["target"] if t not in (kind, "any")])
            keep("near", [t for t in values["near"] if t not in (kind, "any")])
            if q == "keys":
                keep("locked_doors", [0])
            if q == "balls":
                keep("blocked", [False])
            if q == "boxes":
                keep("key_in_box", [False])
        elif q == "keys_in_boxes":
            if only_zero:
                keep("key_in_box", [False])
            elif no_zero:
                keep("key_in_box", [True])
                keep("locked_doors", [v for v in values["locked_doors"] if v >= 1])
                keep("layout", MULTI)
        elif q == "lava_cells" and only_zero:
            keep("lava_strips", [0])
            keep("scattered_lava", [0])
        elif q in ("lava_strips", "wall_strips"):
            keep(q, [v for v in values[q] if v in ok])
            if no_zero:
                keep("layout", ["room"])
                keep("wall_strips" if q == "lava_strips" else "lava_strips", [0])
    return {field: [v for v in values[field] if v in allowed] for field, allowed in out.items()}
