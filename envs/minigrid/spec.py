"""The MiniGrid level language: a distribution of levels, fixed structure, positions and colours sampled per seed.

A level is a *layout* of rooms and their connections, what stands in the way (locked doors with their keys, keys
hidden in boxes, balls blocking doors, lava or wall strips with one gap each, scattered lava, distractor objects)
and an *objective* (reach the goal, pick up, go to, put near, open a door). The fields are flat and enum-like so
that a 0.5B model under a JSON-schema grammar writes valid specs; every cross-field rule lives in the validator
below with a message that says what to change, because that message is what the repair round shows the LLM.
Defaults are neutral (one empty room, nothing locked, no objects, reach the goal), so a field left out never
adds anything and a spec shows only what makes it what it is (`brief`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from gymsmith.schemas import EnvSpec, register_spec

COLORS: tuple[str, ...] = ("red", "green", "blue", "purple", "yellow", "grey")
LAYOUTS: tuple[str, ...] = ("room", "two_rooms", "chain", "grid", "corridor")
OBJECTIVES: tuple[str, ...] = ("goal", "pickup", "goto", "put_near", "open_door")
OBJECT_TYPES: tuple[str, ...] = ("ball", "box", "key")

Layout = Literal["room", "two_rooms", "chain", "grid", "corridor"]
Color = Literal["random", "red", "green", "blue", "purple", "yellow", "grey"]


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
    locked: int = Field(default=0, ge=0, le=3, description="locked doors on the way to the objective")
    door_color: Color = "random"
    key_in_box: bool = Field(default=False, description="each key of a locked door is hidden in a box")
    blocked: bool = Field(default=False, description="a ball stands in front of each locked door")
    wall_doors: int = Field(default=0, ge=0, le=4, description="room: closed doors in the outer walls")
    # -- crossings and hazards (layout room)
    crossing: Literal["none", "lava", "wall"] = "none"
    strips: int = Field(default=0, ge=0, le=10, description="strips of the crossing, each with one gap")
    lava: int = Field(default=0, ge=0, le=40, description="lava cells scattered at random")
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
        old = {"wall", "door_locked", "key", "distractors", "goal"}
        if not isinstance(data, dict) or not old & set(data):
            return data
        data = dict(data)
        wall, locked = data.pop("wall", True), data.pop("door_locked", True)
        key, distractors = data.pop("key", True), int(data.pop("distractors", 0))
        goal = data.pop("goal", "far")
        data.update(layout="two_rooms" if wall else "room", locked=int(bool(locked)), door_color="yellow",
                    keys=int(bool(key) and not locked), balls=(distractors + 1) // 2, boxes=distractors // 2,
                    place="random" if goal == "random" else "far")
        if not wall:
            data.update(locked=0, start="anywhere")
        return data

    @model_validator(mode="after")
    def _consistent(self) -> MiniGridLevelSpec:
        problems = [p for p in self._problems() if p]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _problems(self) -> list[str]:
        lay = self.layout
        out = []
        if self.crossing != "none" and lay != "room":
            out.append(f'crossing="{self.crossing}" needs layout="room" (strips cross one room)')
        if (self.crossing == "none") != (self.strips == 0):
            out.append("strips must be at least 1 with a crossing and 0 without (crossing=\"none\")")
        if lay == "room" and self.strips > max_strips(self.size):
            out.append(f"a size {self.size} room fits at most {max_strips(self.size)} strips")
        most = {"room": 0, "chain": self.rooms - 1}.get(lay, 1)
        if self.locked > most:
            out.append(f'locked={self.locked}: layout="{lay}" has at most {most} locked door' + "s" * (most != 1)
                       + (" (one room has no doors between rooms)" if lay == "room" else ""))
        if (self.key_in_box or self.blocked) and self.locked == 0:
            out.append("key_in_box and blocked need locked >= 1 (they hide the key of / block a locked door)")
        if self.wall_doors and lay != "room":
            out.append('wall_doors needs layout="room"')
        if lay == "chain" and self.room_size < 4:
            out.append("a chain's rooms are 4 to room_size cells wide: room_size must be at least 4")
        if lay == "grid" and self.rows * self.cols < 2:
            out.append("a grid needs at least 2 rooms (rows x cols)")
        if self.objective in ("pickup", "put_near") and self.target == "door":
            out.append(f'objective="{self.objective}" needs target ball, box, key or any (a door cannot be carried)')
        doors = lay != "room" and (self.connect != "gap" or self.locked > 0)
        closed = lay != "room" and (self.connect == "closed" or self.locked > 0)
        if self.objective == "open_door" and not (closed or self.wall_doors):
            out.append('objective="open_door" needs a door to open: connect="closed", locked >= 1 or wall_doors')
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
        data = self.model_dump(mode="json", exclude={"name"})
        lay = self.layout
        unused = set()
        if lay != "chain":
            unused.add("rooms")
        if lay not in ("room", "two_rooms", "chain"):
            unused.add("size")
        if lay not in ("grid", "corridor"):
            unused.add("rows")
        if lay != "grid":
            unused.add("cols")
        if lay in ("room", "two_rooms"):
            unused.add("room_size")
        if lay == "room":
            unused |= {"connect", "locked", "door_color", "key_in_box", "blocked"}
        else:
            unused |= {"wall_doors", "crossing", "strips"}
        if self.locked == 0:
            unused |= {"door_color", "key_in_box", "blocked"}
        if self.objective == "goal":
            unused |= {"target", "target_color", "near", "strict"}
        elif self.objective == "open_door":
            unused |= {"target", "near"}
        elif self.objective != "put_near":
            unused.add("near")
        return {k: v for k, v in data.items() if k not in unused}

    def brief(self) -> dict[str, Any]:
        """What prompts show of a level: its name, layout and objective, its geometry, and every other field its
        layout uses that differs from the (neutral) default."""
        used = self.used()
        geometry = {"size", "rooms", "rows", "cols", "room_size"}
        out: dict[str, Any] = {"name": self.name}
        for field in type(self).model_fields:
            if field in ("family", "name") or field not in used:
                continue
            if field in ("layout", "objective") or field in geometry or used[field] != type(self).model_fields[
                    field].default:
                out[field] = used[field]
        return out
