"""The reach of the level language: a spec for each registered MiniGrid env, or why there is none.

A spec *reaches* an env when its sampled levels have the same structure and objective: the same rooms, doors
and their states, keys, balls, boxes, strips, the same mission type and the same solvability (checked per row in
tests/test_reach.py and listed in BENCHMARKS.md). The spec is derived from the env's registered class and
constructor kwargs, so every size of a registered kind (and any user registration of those classes) is covered.
`MiniGridFamily.describe_target` uses it: the target's spec is what the curricula generate around, and what
makes events measurable.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from gymsmith.envs.minigrid.spec import MiniGridLevelSpec


@dataclass(frozen=True)
class Reach:
    env_id: str
    spec: MiniGridLevelSpec | None
    #: Why the language cannot express the env (when ``spec`` is None).
    missing: str = ""
    #: Where sampled levels differ from the env's while the structure is the same (the table's notes).
    notes: str = ""
    #: Census quantities whose values over seeds must match the env's (`census.QUANTITIES`).
    same: tuple[str, ...] = field(default=("objective", "size", "rooms", "doors", "locked_doors", "keys",
                                           "balls", "boxes", "lava_strips", "wall_strips"))


#: Registered MiniGrid classes the language cannot express, with the reason shown to users.
UNREACHABLE: dict[str, str] = {
    "DynamicObstaclesEnv": "its balls move every step and touching one ends the episode; the language has no "
                           "moving obstacles",
    "MemoryEnv": "the object to reach is the one shown at the start, out of sight later (a memory task); the "
                 "language's missions name their target",
    "RedBlueDoorEnv": "the red door must be opened before the blue one; the language's objectives have no order",
    "DistShiftEnv": "its lava strips are partial rows open at both ends at fixed places; the language's strips "
                    "span the room with one gap, and scattered lava is random",
    "ObstructedMaze_Full": "several locked doors in a 3x3 grid of rooms; where rooms form cycles the language locks "
                           "only the objective room's doors",
    "ObstructedMaze_Full_V1": "several locked doors in a 3x3 grid of rooms; where rooms form cycles the language "
                              "locks only the objective room's doors",
    "PlaygroundEnv": "it has no objective (random rooms and objects to explore)",
}


def _args(env_id: str) -> tuple[str, dict[str, Any]]:
    """The env's class name and its constructor arguments (registered kwargs over the class's defaults)."""
    import minigrid  # noqa: F401  (registers the MiniGrid ids)

    entry = gym.registry[env_id].entry_point
    if isinstance(entry, str):
        module, _, name = entry.partition(":")
        cls = getattr(__import__(module, fromlist=[name]), name)
    else:
        cls, name = entry, getattr(entry, "__name__", str(entry))
    defaults = {k: p.default for k, p in inspect.signature(cls.__init__).parameters.items()
                if p.default is not inspect.Parameter.empty}
    return name, {**defaults, **(gym.registry[env_id].kwargs or {})}


def _spec(name: str, a: dict[str, Any], env_id: str) -> tuple[MiniGridLevelSpec | None, str, dict[str, Any]]:
    """(spec, notes, Reach overrides) for one registered class, or (None, reason, {})."""
    room: dict[str, Any] = dict(layout="room")
    if name == "EmptyEnv":
        start = "corner" if a.get("agent_start_pos") is not None else "anywhere"
        return MiniGridLevelSpec(name="empty", size=a["size"], start=start, max_steps=4 * a["size"] ** 2,
                                 **room), "", {}
    if name == "DoorKeyEnv":
        spec = MiniGridLevelSpec(name="doorkey", layout="two_rooms", size=a["size"], locked_doors=1,
                                 door_color="yellow")
        return spec, "", {}
    if name == "CrossingEnv":
        kind = "wall" if str(getattr(a["obstacle_type"], "__name__", a["obstacle_type"])).lower() == "wall" else \
            "lava"
        spec = MiniGridLevelSpec(name=f"{kind}-crossing", size=a["size"], start="corner",
                                 max_steps=4 * a["size"] ** 2, **{f"{kind}_strips": a["num_crossings"]}, **room)
        return spec, "", {}
    if name == "LavaGapEnv":
        spec = MiniGridLevelSpec(name="lava-gap", size=a["size"], lava_strips=1, start="corner",
                                 max_steps=4 * a["size"] ** 2, **room)
        return spec, ("LavaGap's strip is always a column at any x; the language's strip is a row or a column on an "
                      "even line, as in LavaCrossing"), {}
    if name == "MultiRoomEnv":
        if a["minNumRooms"] != a["maxNumRooms"]:
            return None, "a random number of rooms per episode (the language's chains have a fixed count)", {}
        spec = MiniGridLevelSpec(name="multiroom", layout="chain", size=a["width"], rooms=a["maxNumRooms"],
                                 room_size=a["maxRoomSize"], connect="closed", locked_doors=0)
        return spec, "", {}
    if name == "KeyCorridorEnv":
        spec = MiniGridLevelSpec(name="key-corridor", layout="corridor", rows=a["num_rows"],
                                 room_size=a["room_size"], connect="closed", locked_doors=1,
                                 objective="pickup", target=a["obj_type"])
        notes = ("MiniGrid's connect_all adds redundant doors at random (more doors than side rooms in some "
                 "seeds); the language links each side room to the corridor once")
        return spec, notes, {"same": ("objective", "size", "locked_doors", "keys", "balls", "boxes")}
    if name in ("UnlockEnv", "UnlockPickupEnv", "BlockedUnlockPickupEnv"):
        objective = {"UnlockEnv": "open_door"}.get(name, "pickup")
        steps = 16 * 36 if name == "BlockedUnlockPickupEnv" else 8 * 36
        spec = MiniGridLevelSpec(name=name[:-3].lower(), layout="grid", rows=1, cols=2, room_size=6,
                                 locked_doors=1,
                                 objective=objective, target="box",
                                 blocked=name == "BlockedUnlockPickupEnv", max_steps=steps)
        return spec, "", {}
    if name == "ObstructedMaze_1Dlhb":
        spec = MiniGridLevelSpec(name="obstructed-maze-1d", layout="grid", rows=1, cols=2, room_size=6,
                                 locked_doors=1,
                                 key_in_box=a["key_in_box"], blocked=a["blocked"],
                                 objective="pickup", target="ball", target_color="blue", max_steps=4 * 2 * 36)
        return spec, "", {}
    if name == "FourRoomsEnv":
        if a.get("agent_pos") is not None or a.get("goal_pos") is not None:
            return None, "a fixed agent or goal position (the language samples them)", {}
        spec = MiniGridLevelSpec(name="four-rooms", layout="grid", rows=2, cols=2, room_size=10, connect="gap",
                                 locked_doors=0, place="random", start="anywhere", max_steps=a["max_steps"])
        return spec, "", {}
    if name == "LockedRoomEnv":
        if a["size"] != 19:
            return None, "a size other than 19", {}
        spec = MiniGridLevelSpec(name="locked-room", layout="corridor", rows=3, room_size=7, connect="closed",
                                 locked_doors=1, max_steps=10 * a["size"])
        notes = ("LockedRoom's side rooms are wider than its corridor and its key is never in the corridor; the "
                 "language's corridor is as wide as a room and the key may lie anywhere before the locked door")
        return spec, notes, {}
    if name == "FetchEnv":
        n = a["numObjs"]
        spec = MiniGridLevelSpec(name="fetch", size=a["size"], objective="pickup", target="any", strict=True,
                                 balls=n // 2, keys=(n - 1) // 2, place="random", start="anywhere",
                                 max_steps=5 * a["size"] ** 2, **room)
        notes = ("Fetch draws every object's type from key and ball; the language draws the target's type from "
                 "key, ball and box and gives the others fixed types")
        return spec, notes, {"same": ("objective", "size", "rooms", "doors", "lava_strips")}
    if name == "GoToDoorEnv":
        spec = MiniGridLevelSpec(name="goto-door", size=a["size"], wall_doors=4, objective="goto", target="door",
                                 strict=True, start="anywhere", max_steps=4 * a["size"] ** 2, **room)
        notes = ("GoToDoor draws its room's width and height from 5 to the grid size; the language's room fills the "
                 "grid")
        return spec, notes, {"same": ("objective", "doors", "locked_doors", "keys", "balls", "boxes")}
    if name in ("GoToObjectEnv", "PutNearEnv"):
        n = a["numObjs"]
        put = name == "PutNearEnv"
        extra = n - (2 if put else 1)
        spec = MiniGridLevelSpec(name="put-near" if put else "goto-object", size=a["size"],
                                 objective="put_near" if put else "goto", target="any", near="any", strict=True,
                                 balls=max(extra, 0), place="random", start="anywhere",
                                 max_steps=5 * a["size"] ** 2, **room)
        notes = ("the env draws every object's type from key, ball and box; the language does so for the "
                 "objective's objects and gives distractors a fixed type")
        return spec, notes, {"same": ("objective", "size", "rooms", "doors", "lava_strips")}
    if name in UNREACHABLE:
        return None, UNREACHABLE[name], {}
    return None, f"{name} is not a kind of level the language knows", {}


@functools.lru_cache(maxsize=256)
def reach(env_id: str) -> Reach:
    """The language's spec for a registered MiniGrid env, or why it has none."""
    if env_id.startswith("BabyAI-"):
        return Reach(env_id, None, "BabyAI's instruction missions (sequences, relative positions) are outside the "
                                   "language's five objectives")
    if env_id not in gym.registry:
        import minigrid  # noqa: F401

    if env_id not in gym.registry:
        return Reach(env_id, None, f"{env_id} is not registered")
    name, kwargs = _args(env_id)
    if name.startswith("WFC"):
        return Reach(env_id, None, "wave-function-collapse mazes: the language has no maze layout")
    spec, text, extra = _spec(name, kwargs, env_id)
    if spec is None:
        return Reach(env_id, None, text)
    budget = int(gym.make(env_id).unwrapped.max_steps)  # the env's own episode budget, whatever its formula
    spec = spec.model_copy(update={"max_steps": 0})
    spec = spec.model_copy(update={
        "name": env_id.removeprefix("MiniGrid-").removesuffix("-v0").lower()[:60],
        "max_steps": 0 if spec.effective_max_steps() == budget else budget,
    })
    return Reach(env_id, MiniGridLevelSpec.model_validate(spec.model_dump()), notes=text, **extra)
