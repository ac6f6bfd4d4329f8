"""Which events and skills a level makes possible, from its spec: the target's language for feedback, goals,
compose rewards and the hack check. (The events themselves are read off the grid by `wrappers.EventFeatures`.)"""

from __future__ import annotations

from typing import Any

from gymsmith.envs.minigrid.spec import OBJECT_TYPES, MiniGridLevelSpec
from gymsmith.envs.minigrid.wrappers import MAX_ROOMS, MAX_STRIPS


def _types(spec: MiniGridLevelSpec) -> set[str]:
    """Object types the spec's levels contain."""
    types = {t for t, n in (("ball", spec.balls), ("box", spec.boxes), ("key", spec.keys)) if n}
    if spec.locked_doors:
        types.add("key")
    if spec.key_in_box:
        types.add("box")
    if spec.blocked:
        types.add("ball")
    if spec.objective in ("pickup", "goto", "put_near"):
        types |= set(OBJECT_TYPES) if spec.target == "any" else {spec.target} - {"door"}
    if spec.objective == "put_near":
        types |= set(OBJECT_TYPES) if spec.near == "any" else {spec.near}
    return types


def _has_doors(spec: MiniGridLevelSpec) -> bool:
    return bool(spec.wall_doors) or (spec.layout != "room" and (spec.connect != "gap" or spec.locked_doors > 0))


def _rooms(spec: MiniGridLevelSpec) -> int:
    """Rooms the agent's view of walls and doors separates (gaps join rooms into one area)."""
    if spec.layout == "room":
        return 1
    if spec.connect == "gap" and not spec.locked_doors:
        return 1
    return {"two_rooms": 2, "chain": spec.rooms, "grid": spec.rows * spec.cols,
            "corridor": 2 * spec.rows + 1}[spec.layout]


def skills(spec: MiniGridLevelSpec) -> tuple[str, ...]:
    """The events the task needs, in the order it needs them (what each cycle measures)."""
    out: list[str] = []
    if spec.key_in_box:
        out.append("opened_box")
    if spec.blocked:
        out.append("picked_up_ball")
    if spec.locked_doors:
        out += ["picked_up_key", "opened_door"]
    elif spec.layout != "room" and spec.connect == "closed" and spec.objective != "open_door":
        out.append("opened_door")
    out += [f"crossed_{n}" for n in range(1, min(spec.lava_strips + spec.wall_strips, MAX_STRIPS) + 1)]
    if spec.layout == "chain":
        out += [f"entered_room_{n}" for n in range(2, min(spec.rooms, MAX_ROOMS) + 1)]
    if spec.objective == "goal":
        out.append("reached_goal")
    elif spec.objective == "open_door":
        out.append("opened_door")
    elif spec.objective == "put_near":
        out.append("put_near")
    elif spec.target == "any":
        out.append("completed_mission")
    elif spec.objective == "pickup":
        out.append(f"picked_up_{spec.target}")
    else:
        out.append(f"went_to_{spec.target}")
    return tuple(dict.fromkeys(out))


def possible(spec: MiniGridLevelSpec) -> tuple[str, ...]:
    """Every event the spec's levels can report (the compose-reward vocabulary), skills first."""
    out = list(skills(spec))
    for t in sorted(_types(spec)):
        out += [f"picked_up_{t}", f"dropped_{t}"]
    if "box" in _types(spec):
        out.append("opened_box")
    if _has_doors(spec):
        out.append("opened_door")
    if spec.locked_doors:
        out.append("unlocked_door")
    out += [f"entered_room_{n}" for n in range(2, min(_rooms(spec), MAX_ROOMS) + 1)]
    if spec.objective == "goto":
        out += [f"went_to_{t}" for t in (("door", *OBJECT_TYPES) if spec.target == "any" else (spec.target,))]
    if spec.objective == "put_near":
        out.append("put_near")
    out.append("completed_mission")
    if spec.scattered_lava or spec.lava_strips:
        out.append("died_in_lava")
    return tuple(dict.fromkeys(out))


def things(spec: MiniGridLevelSpec) -> tuple[str, ...]:
    """What distance shaping can aim at in the spec's levels (features ``dist_<thing>``)."""
    out = []
    if "key" in _types(spec):
        out.append("key")
    if _has_doors(spec):
        out.append("door")
    out.append("goal" if spec.objective == "goal" else "target")
    return tuple(out)


def from_facts(facts: dict[str, Any]) -> tuple[str, ...]:
    """Skills of a target outside the language, from what one reset of it shows."""
    out: list[str] = []
    if facts["keys"]:
        out.append("picked_up_key")
    if any(d["state"] != "open" for d in facts["doors"]):
        out.append("opened_door")
    out.append("reached_goal" if facts["goal"] else "completed_mission")
    return tuple(out)
