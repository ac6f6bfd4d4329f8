"""The MiniGrid level language: a distribution of levels, fixed structure, positions and colours sampled per seed.

A level is a *layout* of rooms and their connections, what stands in the way (locked doors with their keys, keys
hidden in boxes, balls blocking doors, lava or wall strips with one gap each, scattered lava, extra objects) and
an *objective* (reach the goal, pick up, go to, put near, open a door). Every cross-field rule lives in the
validator with a message that says what to change, because that message is what the repair round shows the LLM.
Defaults are neutral (one empty room, nothing locked, no objects, reach the goal), so a field left out never adds
anything.

The LLM writes levels in the *item* form (`to_item` / `from_item`): only the fields its layout uses, and the
objective as one object (``{"type": "pickup", "target": "ball", "color": "blue"}``), so the grammar cannot even
express most invalid combinations. Prompts show every level in that same form (`brief`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from gymsmith.schemas import EnvSpec, register_spec

COLORS: tuple[str, ...] = ("red", "green", "blue", "purple", "yellow", "grey")
LAYOUTS: tuple[str, ...] = ("room", "two_rooms", "chain", "grid", "corridor")
OBJECTIVES: tuple[str, ...] = ("goal", "pickup", "goto", "put_near", "open_door")
OBJECT_TYPES: tuple[str, ...] = ("ball", "box", "key")
#: Grid side MultiRoom lays its chains of rooms out in (and so the language's chains, in the item form).
CHAIN_SIZE = 25

Layout = Literal["room", "two_rooms", "chain", "grid", "corridor"]
Color = Literal["random", "red", "green", "blue", "purple", "yellow", "grey"]

#: The item form: fields each layout uses, then the fields every layout has, then the objective.
LAYOUT_FIELDS: dict[str, tuple[str, ...]] = {
    "room": ("size", "lava_strips", "wall_strips", "wall_doors"),
    "two_rooms": ("size", "connect", "locked_doors", "door_color", "key_in_box", "blocked"),
    "chain": ("rooms", "room_size", "connect", "locked_doors", "door_color", "key_in_box", "blocked"),
    "grid": ("rows", "cols", "room_size", "connect", "locked_doors", "door_color", "key_in_box", "blocked"),
    "corridor": ("rows", "room_size", "connect", "locked_doors", "door_color", "key_in_box", "blocked"),
}
COMMON_FIELDS: tuple[str, ...] = ("scattered_lava", "balls", "boxes", "keys", "place", "start")
#: Objective type -> the objective object's fields besides "type".
OBJECTIVE_FIELDS: dict[str, tuple[str, ...]] = {
    "goal": (), "pickup": ("target", "color"), "goto": ("target", "color"), "put_near": ("target", "color", "near"),
    "open_door": (),
}  # fmt: skip

#: Fields of one layout whose values exclude each other (rules of `MiniGridLevelSpec._problems`), as the cases a
#: level of that layout falls in: each case keeps only the values a predicate allows, and under the key
#: "objective" the (type, target) pairs it allows. The LLM's grammar gets one shape per case, so a small model
#: cannot write lava and wall strips in one room, two locked doors between two rooms, a key in a box with no locked
#: door, or an objective about a door in a level without one (bench_generate saw all four); the validator still
#: names these for answers from backends without a grammar.
_NO_DOOR_GOAL = {"objective": lambda kind, target: kind != "open_door" and target != "door"}
_NO_OPEN_GOAL = {"objective": lambda kind, target: kind != "open_door"}
_NO_LOCK: dict[str, Any] = {"locked_doors": lambda n: n == 0, "key_in_box": lambda b: not b, "blocked": lambda b: not b}


def _rooms_cases(lock: Any, **always: Any) -> tuple[dict[str, Any], ...]:
    """Several rooms: no lock and doorways (no door to go to or open), open doors (none to open), closed doors;
    or locked doors (each a door to go to and to open). ``always``: predicates every case of the layout has."""
    return ({**always, **_NO_LOCK, "connect": lambda c: c == "gap", **_NO_DOOR_GOAL},
            {**always, **_NO_LOCK, "connect": lambda c: c == "open", **_NO_OPEN_GOAL},
            {**always, **_NO_LOCK, "connect": lambda c: c == "closed"},
            {**always, "locked_doors": lock})


def _room_cases() -> tuple[dict[str, Any], ...]:
    strips = ({"wall_strips": lambda n: n == 0}, {"lava_strips": lambda n: n == 0, "wall_strips": lambda n: n > 0})
    doors = ({"wall_doors": lambda n: n == 0, **_NO_DOOR_GOAL}, {"wall_doors": lambda n: n > 0})
    return tuple({**s, **d} for s in strips for d in doors)


LAYOUT_CASES: dict[str, tuple[dict[str, Any], ...]] = {
    "room": _room_cases(),
    "two_rooms": _rooms_cases(lambda n: n == 1),
    "chain": _rooms_cases(lambda n: n >= 1, room_size=lambda n: n >= 4),
    # a grid of one room is no grid: one row needs two columns
    "grid": tuple({**case, **rows} for rows in ({"rows": lambda n: n == 1, "cols": lambda n: n >= 2},
                                                {"rows": lambda n: n >= 2})
                  for case in _rooms_cases(lambda n: n == 1)),
    "corridor": _rooms_cases(lambda n: n == 1),
}


def layout_cases(layout: str, values: dict[str, list[Any]]) -> list[tuple[dict[str, list[Any]], Any]]:
    """``values`` narrowed to each case of ``layout`` (see `LAYOUT_CASES`), with the case's objective predicate
    (``(type, target) -> bool``; target None for types without one); a case left with an empty field is dropped,
    so ``--param`` and request constraints still narrow the grammar."""
    cases = []
    for case in LAYOUT_CASES[layout]:
        fields = {f: keep for f, keep in case.items() if f != "objective"}
        narrowed = {f: [x for x in values[f] if keep(x)] for f, keep in fields.items()}
        if all(narrowed.values()):
            cases.append((narrowed, case.get("objective", lambda kind, target: True)))
    return cases


def max_strips(size: int) -> int:
    """Strips sit on even rows and columns strictly inside the room (as in MiniGrid's crossing envs)."""
    return 2 * len(range(2, size - 2, 2))


@register_spec
class MiniGridLevelSpec(EnvSpec):
    """One MiniGrid level distribution. Fields a layout does not use are ignored by it (and by `structure`)."""

    family: Literal["minigrid"] = "minigrid"
    # -- layout
    layout: Layout = Field(default="room", description="room | two_rooms (split by a wall) | chain | grid | "
                           "corridor (side rooms off a corridor)")
    size: int = Field(default=8, ge=5, le=25, description="grid side incl. walls (room, two_rooms, chain)")
    rooms: int = Field(default=3, ge=2, le=6, description="chain: number of rooms")
    rows: int = Field(default=2, ge=1, le=3, description="grid: rows of rooms; corridor: rooms on each side")
    cols: int = Field(default=2, ge=1, le=3, description="grid: columns of rooms")
    room_size: int = Field(default=6, ge=3, le=10, description="grid, corridor: room side incl. walls; chain: "
                           "largest room side")
    # -- connections and what blocks them
    connect: Literal["gap", "open", "closed"] = Field(default="closed", description="how rooms connect")
    locked_doors: int = Field(default=0, ge=0, le=3, description="locked doors on the way to the objective")
    door_color: Color = "random"
    key_in_box: bool = Field(default=False, description="each key of a locked door is hidden in a box")
    blocked: bool = Field(default=False, description="a ball stands in front of each locked door")
    wall_doors: int = Field(default=0, ge=0, le=4, description="room: closed doors in the outer walls")
    # -- crossings and hazards (layout room)
    lava_strips: int = Field(default=0, ge=0, le=10, description="room: rows/columns of lava with one gap each")
    wall_strips: int = Field(default=0, ge=0, le=10, description="room: rows/columns of wall with one gap each")
    scattered_lava: int = Field(default=0, ge=0, le=40, description="lava cells placed at random")
    # -- objects
    balls: int = Field(default=0, ge=0, le=8)
    boxes: int = Field(default=0, ge=0, le=8)
    keys: int = Field(default=0, ge=0, le=4, description="keys besides those of locked doors")
    # -- objective
    objective: Literal["goal", "pickup", "goto", "put_near", "open_door"] = "goal"
    target: Literal["ball", "box", "key", "door", "any"] = Field(
        default="ball", description="pickup, goto: the object; put_near: the object to move; any: random type")
    target_color: Color = "random"
    near: Literal["ball", "box", "key", "any"] = Field(default="box", description="put_near: put it next to this")
    strict: bool = Field(default=False, description="a wrong pickup, drop or toggle ends the episode")
    place: Literal["far", "random"] = Field(default="far", description="where the goal or target goes")
    start: Literal["corner", "first_room", "anywhere"] = "first_room"
    max_steps: int = Field(default=0, ge=0, le=5000, description="0: the layout's default")

    @model_validator(mode="before")
    @classmethod
    def _legacy(cls, data: Any) -> Any:
        """Specs stored before the level language (one room, an optional wall with one door) still load."""
        old = {"wall", "door_locked", "key", "distractors", "goal", "lava"}
        if not isinstance(data, dict) or not old & set(data) or "layout" in data:
            return data
        data = dict(data)
        wall, locked = data.pop("wall", True), data.pop("door_locked", True)
        key, distractors = data.pop("key", True), int(data.pop("distractors", 0))
        goal, lava = data.pop("goal", "far"), int(data.pop("lava", 0))
        data.update(layout="two_rooms" if wall else "room", locked_doors=int(bool(locked)), door_color="yellow",
                    keys=int(bool(key) and not locked), balls=(distractors + 1) // 2, boxes=distractors // 2,
                    scattered_lava=lava, place="random" if goal == "random" else "far")
        if not wall:
            data.update(locked_doors=0, start="anywhere")
        return data

    @model_validator(mode="after")
    def _consistent(self) -> MiniGridLevelSpec:
        problems = self._problems()
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _problems(self) -> list[str]:
        lay = self.layout
        out = []
        strips = self.lava_strips + self.wall_strips
        if strips and lay != "room":
            out.append(f'lava_strips and wall_strips need layout "room" (strips cross one room), not "{lay}"')
        if self.lava_strips and self.wall_strips:
            out.append("a room has lava_strips or wall_strips, not both")
        if lay == "room" and strips > max_strips(self.size):
            out.append(f"a size {self.size} room fits at most {max_strips(self.size)} strips; make it bigger")
        most = {"room": 0, "chain": self.rooms - 1}.get(lay, 1)
        if self.locked_doors > most:
            out.append(f'locked_doors={self.locked_doors}: layout "{lay}" has at most {most} locked door'
                       + "s" * (most != 1) + (" (one room has no doors between rooms)" if lay == "room" else ""))
        if (self.key_in_box or self.blocked) and self.locked_doors == 0:
            out.append("key_in_box and blocked need locked_doors >= 1 (they hide the key of, or block, a locked "
                       "door)")
        if self.wall_doors and lay != "room":
            out.append('wall_doors needs layout "room"')
        if lay == "chain" and self.room_size < 4:
            out.append("a chain's rooms are 4 to room_size cells wide: room_size must be at least 4")
        if lay == "grid" and self.rows * self.cols < 2:
            out.append("a grid needs at least 2 rooms (rows x cols)")
        if self.objective in ("pickup", "put_near") and self.target == "door":
            out.append(f'objective "{self.objective}" needs target ball, box, key or any (a door cannot be carried)')
        doors = lay != "room" and (self.connect != "gap" or self.locked_doors > 0)
        closed = lay != "room" and (self.connect == "closed" or self.locked_doors > 0)
        if self.objective == "open_door" and not (closed or self.wall_doors):
            out.append('objective "open_door" needs a door to open: two rooms or more with connect "closed" or '
                       "locked_doors >= 1, or wall_doors")
        if self.objective == "goto" and self.target == "door" and not (doors or self.wall_doors):
            out.append('going to a door needs a door: two rooms or more with connect "open" or "closed", or '
                       "wall_doors")
        return out

    # ------------------------------------------------------------------------------------------ derived

    def grid_shape(self) -> tuple[int, int]:
        """(width, height) of the whole grid, walls included."""
        if self.layout == "grid":
            return (self.room_size - 1) * self.cols + 1, (self.room_size - 1) * self.rows + 1
        if self.layout == "corridor":
            return (self.room_size - 1) * 3 + 1, (self.room_size - 1) * self.rows + 1
        return self.size, self.size

    def effective_max_steps(self) -> int:
        """MiniGrid's own budgets per kind of level, so a spec of a registered env gets that env's budget."""
        if self.max_steps:
            return self.max_steps
        width, height = self.grid_shape()
        if self.layout == "chain":
            return 20 * self.rooms
        if self.layout == "corridor":
            return 30 * self.room_size**2
        if self.layout == "grid":
            return 8 * self.room_size**2 * self.rows * self.cols // 2
        return 10 * width * height

    def used(self) -> dict[str, Any]:
        """The fields this spec's layout and objective actually read (its structure; see `MiniGridFamily`)."""
        data = self.model_dump(mode="json", exclude={"name", "family"})
        keep = {"layout", *LAYOUT_FIELDS[self.layout], *COMMON_FIELDS, "objective", "max_steps"}
        if self.layout == "chain":
            keep.add("size")
        if self.locked_doors == 0:
            keep -= {"door_color", "key_in_box", "blocked"}
        if self.objective != "goal":
            keep |= {"strict", *(_SPEC_NAME.get(f, f) for f in OBJECTIVE_FIELDS[self.objective])}
        return {k: v for k, v in data.items() if k in keep}

    def to_item(self) -> dict[str, Any]:
        """The level as the LLM writes it (see the module docstring)."""
        item: dict[str, Any] = {"name": self.name, "layout": self.layout}
        for field in (*LAYOUT_FIELDS[self.layout], *COMMON_FIELDS):
            item[field] = getattr(self, field)
        objective: dict[str, Any] = {"type": self.objective}
        for field in OBJECTIVE_FIELDS[self.objective]:
            objective[field] = getattr(self, _SPEC_NAME.get(field, field))
        item["objective"] = objective
        return item

    def brief(self) -> dict[str, Any]:
        """What prompts show of a level: the item form, the form the LLM writes levels in."""
        return self.to_item()


#: Objective-object field -> spec field.
_SPEC_NAME = {"color": "target_color"}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    """Spec fields from an LLM item: the objective object flattened; a chain gets MultiRoom's grid size.
    Raises ValueError (naming the field) for an item that is not an object of the documented shape."""
    flat = {k: v for k, v in item.items() if k != "objective"}
    objective = item.get("objective", {"type": "goal"})
    if isinstance(objective, str):
        objective = {"type": objective}
    if not isinstance(objective, dict):
        raise ValueError('objective: must be an object like {"type": "goal"}')
    unknown = set(objective) - {"type", "target", "color", "near"}
    if unknown:
        raise ValueError(f"objective: unknown fields {', '.join(sorted(unknown))}; it has type, target, color, near")
    flat["objective"] = objective.get("type", "goal")
    for field in ("target", "color", "near"):
        if field in objective:
            flat[_SPEC_NAME.get(field, field)] = objective[field]
    if flat.get("layout") == "chain" and "size" not in flat:
        flat["size"] = CHAIN_SIZE
    return flat
