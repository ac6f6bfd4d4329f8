"""What a MiniGrid level asks of the agent, for generated levels and registered envs alike.

A generated level states its objective (`MiniGridGenEnv.objective`); a registered env states it only in its
mission text, which every MiniGrid env words the same few ways, so the objective is read from there. Solvability,
the scripted expert, the info wrapper and the census all take an `Objective` and find its targets on the grid by
type and colour (generated levels never give a distractor the target's type and colour).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

Cell = tuple[int, int]


@dataclass(frozen=True)
class Objective:
    """``kind`` is one of goal, pickup, goto, put_near, open_door; ``obj``/``color`` name the target (a door for
    goto/open_door), ``near``/``near_color`` the object put_near puts it next to (colour None: any)."""

    kind: str = "goal"
    obj: str = ""
    color: str | None = None
    near: str = ""
    near_color: str | None = None
    #: A wrong pickup, drop or toggle ends the episode (Fetch, PutNear, GoToDoor, GoToObject).
    strict: bool = False

    def mission(self, doors: int = 1) -> str:
        """The mission in MiniGrid's own words (so `parse_mission` and MiniGrid users read it the same way)."""
        if self.kind == "pickup":
            return f"pick up the {self.color} {self.obj}"
        if self.kind == "goto":
            return f"go to the {self.color} {self.obj}"
        if self.kind == "put_near":
            return f"put the {self.color} {self.obj} near the {self.near_color} {self.near}"
        if self.kind == "open_door":
            return "open the door" if doors <= 1 else f"open the {self.color} door"
        return "get to the green goal square"


_COLOR = r"(red|green|blue|purple|yellow|grey)"
_TYPE = r"(key|ball|box)"


def parse_mission(mission: str) -> Objective:
    """The objective of a registered MiniGrid env from its mission text (``goal`` when nothing else matches)."""
    text = mission.lower().strip()
    m = re.search(rf"put the {_COLOR} {_TYPE} near the {_COLOR} {_TYPE}", text)
    if m:
        return Objective("put_near", m[2], m[1], m[4], m[3], strict=True)
    if "goal" in text:
        return Objective("goal")
    m = re.search(rf"\b(pick up|fetch|go get|get) (?:a|the) {_COLOR} {_TYPE}", text)
    if m:
        # Fetch's wordings ("fetch a", "get a", ...) end the episode at any pickup; "pick up the" envs do not
        return Objective("pickup", m[3], m[2], strict=m[1] != "pick up")
    m = re.search(rf"go to the {_COLOR} (door|key|ball|box)", text)
    if m:
        return Objective("goto", m[2], m[1], strict=True)
    m = re.search(rf"open the (?:{_COLOR} )?door", text)
    if m:
        return Objective("open_door", "door", m[1])
    return Objective("goal")


def objective_of(env: Any) -> Objective:
    """The objective of any MiniGrid env: a generated level's own, else the one its mission states."""
    base = env.unwrapped
    own = getattr(base, "objective", None)
    if isinstance(own, Objective):
        return own
    return parse_mission(str(getattr(base, "mission", "")))


def matches(cell: Any, kind: str, color: str | None) -> bool:
    return cell is not None and cell.type == kind and (color is None or cell.color == color)


def find(grid: Any, kind: str, color: str | None) -> list[Cell]:
    """Cells holding a ``kind`` object of ``color``, including objects inside boxes (at the box's cell)."""
    out = []
    for idx, cell in enumerate(grid.grid):
        if cell is None:
            continue
        inner = getattr(cell, "contains", None) if cell.type == "box" else None
        if matches(cell, kind, color) or matches(inner, kind, color):
            out.append((idx % grid.width, idx // grid.width))
    return out


def target_cells(grid: Any, objective: Objective) -> list[Cell]:
    """Where the objective's target is: goal squares, the object, the door."""
    if objective.kind == "goal":
        return find(grid, "goal", None)
    if objective.kind == "open_door":
        doors = find(grid, "door", objective.color)
        locked = [c for c in doors if grid.get(*c).is_locked]
        return locked or [c for c in doors if not grid.get(*c).is_open] or doors
    return find(grid, objective.obj, objective.color)
