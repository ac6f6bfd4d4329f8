"""The rooms' import direction, walked over the real source with `ast` (module level and inside functions).

Imports point down: ``curricula → agents, generator → envs → gymsmith``. The ground floor (``gymsmith/``)
imports no room, except its front door (``gymsmith.api``, ``gymsmith.cli`` with its ``cli_progress`` display and
the package ``__init__``, which compose the rooms). ``gymsmith.prompts`` is data any room may read.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
#: Folder → import name of the room it holds.
ROOMS = {"gymsmith": "gymsmith", "envs": "gymsmith.envs", "generator": "gymsmith.generator",
         "agents": "gymsmith.agents", "curricula": "gymsmith.curricula", "prompts": "gymsmith.prompts"}
#: What each room may import from the others (itself and the ground floor always).
ALLOWED = {
    "gymsmith": set(),
    "gymsmith.prompts": set(),
    "gymsmith.envs": set(),
    "gymsmith.generator": {"gymsmith.envs"},
    "gymsmith.agents": {"gymsmith.envs"},
    "gymsmith.curricula": {"gymsmith.agents", "gymsmith.generator", "gymsmith.envs"},
}
FRONT_DOOR = {"gymsmith/api.py", "gymsmith/cli.py", "gymsmith/cli_progress.py", "gymsmith/__init__.py"}
#: Modules outside tests and benchmarks are kept at most this long (one job per module).
MAX_LINES = 600


def _room_of(module: str) -> str | None:
    """The room an import name belongs to (the ground floor for ``gymsmith.<anything else>``)."""
    for room in sorted(ROOMS.values(), key=len, reverse=True):
        if module == room or module.startswith(room + "."):
            return room
    return None


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):  # every import, module level or inside a function
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            # ``from gymsmith import curricula`` imports the room too
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def _sources() -> list[Path]:
    return sorted(p for folder in ROOMS for p in (REPO / folder).rglob("*.py"))


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(REPO)))
def test_no_room_imports_a_room_above_it(path: Path) -> None:
    rel = str(path.relative_to(REPO))
    if rel in FRONT_DOOR:
        return
    own = ROOMS[rel.split("/", 1)[0]]
    upward = []
    for line, module in _imports(path):
        room = _room_of(module)
        if room is None or room == own or room in ("gymsmith", "gymsmith.prompts"):
            continue
        if room not in ALLOWED[own]:
            upward.append(f"line {line}: {module}")
    assert not upward, f"{rel} ({own}) imports a room above it: {upward}"


def test_the_walker_sees_imports_inside_functions(tmp_path: Path) -> None:
    """The check must not be fooled by a lazy import: that is how upward imports used to hide."""
    source = tmp_path / "lazy.py"
    source.write_text("def f():\n    from gymsmith.curricula.loop import CurriculumLoop\n    return CurriculumLoop\n")
    assert (2, "gymsmith.curricula.loop") in _imports(source)
    assert _room_of("gymsmith.curricula.loop") == "gymsmith.curricula"
    assert _room_of("gymsmith.schemas") == "gymsmith"


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(REPO)))
def test_modules_stay_small(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(REPO)} has {lines} lines (at most {MAX_LINES}): split it by job"


def test_no_family_words_outside_the_families() -> None:
    """Generic code never names a DoorKey env, an event of one family, a Crafter achievement or an action."""
    words = ("DoorKey", "reached_goal", "picked_up_key", "collect_wood", "make_wood_pickaxe", "died_in_lava")
    allowed = ("envs/minigrid/", "envs/crafter/", "gymsmith/schemas.py")  # schemas: the default target's id
    offenders = []
    for path in _sources():
        rel = str(path.relative_to(REPO))
        if rel.startswith(allowed):
            continue
        text = path.read_text()
        offenders += [f"{rel}: {w}" for w in words if w in text]
    assert not offenders, offenders
