"""Prompt adherence of ``gymsmith generate``: checks satisfied / checks asked, measured on sampled levels.

Each request (MiniGrid and Crafter) comes with checks computed on what the accepted specs *build*, never on spec
fields: lava cells and strips counted in the grid, rooms and doors (and their state) found in it, keys (also those
inside boxes), balls, boxes, the objective read from the env's mission; for Crafter the materials counted in the
generated world (as densities relative to the original Crafter's at the same seeds), creatures seen during a
short random rollout, the starting inventory and the world's size. A level satisfies a check when every sampled
seed does. A request asks ``--n`` levels; a level that was not produced (rejected or missing) fails all its checks.

The measurements here are deliberately independent of gymsmith's own constraint checker (``Family.measure``):
the product should not grade itself.

    GYMSMITH_LLM_THREADS=1 .venv/bin/python benchmarks/bench_generate.py [--models qwen2.5-coder-0.5b]
        [--n 2] [--seeds 3] [--only M1,C3] [--tag after]

Writes ``benchmarks/results/bench_generate-<model>-<tag>.json`` and prints adherence per model.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import TypeAdapter

import gymsmith.envs  # noqa: F401  (registers the families)
from gymsmith.envs import make_env, make_family
from gymsmith.generator.generate import generate
from gymsmith.generator.llm import LLMClient, make_chat_model
from gymsmith.schemas import AnySpec, EnvSpec

RESULTS = Path(__file__).parent / "results"


@dataclass(frozen=True)
class Check:
    quantity: str
    op: str  # "==", ">=", "<="
    value: float | str

    def holds(self, measured: dict[str, Any]) -> bool:
        got = measured.get(self.quantity)
        if got is None:
            return False
        if self.op == "==":
            return got == self.value
        if self.op == ">=":
            return got >= self.value  # type: ignore[operator]
        return got <= self.value  # type: ignore[operator]

    def __str__(self) -> str:
        return f"{self.quantity} {self.op} {self.value}"


def C(text: str) -> Check:  # noqa: N802  ("lava_cells>=10" reads like the request's constraint)
    q, op, v = re.fullmatch(r"(\w+)\s*(==|>=|<=)\s*(\S+)", text).groups()  # type: ignore[union-attr]
    value: float | str = float(v) if re.fullmatch(r"[\d.]+", v) else v
    return Check(q, op, value)


#: (id, family, request, checks)
REQUESTS: list[tuple[str, str, str, list[Check]]] = [
    ("M1", "minigrid", "a big room full of lava with a narrow safe path to the goal, no doors or keys",
     [C("lava_cells>=10"), C("doors==0"), C("keys==0"), C("objective==goal"), C("width>=9")]),
    ("M2", "minigrid", "an empty room: the agent just walks to the green goal square",
     [C("lava_cells==0"), C("doors==0"), C("objects==0"), C("objective==goal")]),
    ("M3", "minigrid", "a locked door with its key; the goal is behind the door",
     [C("locked_doors>=1"), C("keys>=1"), C("objective==goal")]),
    ("M4", "minigrid", "two rivers of lava to cross, each with one gap, then reach the goal",
     [C("lava_strips>=2"), C("doors==0"), C("objective==goal")]),
    ("M5", "minigrid", "cross three walls, each with a single opening, to reach the goal",
     [C("wall_strips>=3"), C("lava_cells==0"), C("objective==goal")]),
    ("M6", "minigrid", "a chain of four rooms connected by closed doors, the goal in the last room",
     [C("rooms>=4"), C("doors>=3"), C("locked_doors==0"), C("objective==goal")]),
    ("M7", "minigrid", "pick up the blue ball",
     [C("objective==pickup"), C("balls>=1")]),
    ("M8", "minigrid", "fetch the red key from among a few other objects",
     [C("objective==pickup"), C("keys>=1"), C("objects>=3")]),
    ("M9", "minigrid", "go to the green door",
     [C("objective==goto"), C("doors>=1")]),
    ("M10", "minigrid", "go to the purple box",
     [C("objective==goto"), C("boxes>=1")]),
    ("M11", "minigrid", "put the yellow ball next to the blue box",
     [C("objective==put_near"), C("balls>=1"), C("boxes>=1")]),
    ("M12", "minigrid", "open the locked door (its key is in the room)",
     [C("objective==open_door"), C("locked_doors>=1"), C("keys>=1")]),
    ("M13", "minigrid", "the key is hidden inside a box: open the box, take the key, unlock the door and pick up "
     "the ball behind it",
     [C("keys_in_boxes>=1"), C("locked_doors>=1"), C("objective==pickup")]),
    ("M14", "minigrid", "a ball blocks the locked door: move it, unlock the door and reach the goal",
     [C("balls>=1"), C("locked_doors>=1"), C("objective==goal")]),
    ("M15", "minigrid", "a tiny 5x5 room with nothing in it but the goal",
     [C("width==5"), C("doors==0"), C("lava_cells==0"), C("objects==0")]),
    ("M16", "minigrid", "a room with a few scattered lava cells and no doors",
     [C("lava_cells>=1"), C("lava_cells<=8"), C("lava_strips==0"), C("doors==0")]),
    ("M17", "minigrid", "one room cluttered with balls and boxes as distractors, reach the goal",
     [C("balls_and_boxes>=3"), C("doors==0"), C("objective==goal")]),
    ("M18", "minigrid", "a corridor with rooms on both sides; find the key, unlock the room with the ball and "
     "pick the ball up",
     [C("rooms>=3"), C("locked_doors>=1"), C("keys>=1"), C("objective==pickup")]),
    ("M19", "minigrid", "three rooms joined by closed but unlocked doors, no keys anywhere",
     [C("rooms>=3"), C("doors>=2"), C("locked_doors==0"), C("keys==0")]),
    ("M20", "minigrid", "a room split by a single wall of lava with one gap in it",
     [C("lava_strips==1"), C("doors==0"), C("objective==goal")]),
    ("C1", "crafter", "a mountain world rich in iron, and peaceful: no zombies or skeletons",
     [C("iron_x>=1.5"), C("hostiles_seen==0")]),
    ("C2", "crafter", "a lush grassland with many trees and lots of cows, no monsters",
     [C("tree_x>=1.3"), C("cows_x>=1.3"), C("hostiles_seen==0")]),
    ("C3", "crafter", "a small world, 32 by 32 cells",
     [C("area==32")]),
    ("C4", "crafter", "the agent starts with a wood pickaxe and 5 wood",
     [C("inv_wood>=5"), C("inv_wood_pickaxe>=1")]),
    ("C5", "crafter", "a world full of diamonds",
     [C("diamond_x>=2")]),
    ("C6", "crafter", "a dangerous world crawling with zombies",
     [C("zombies_x>=1.5")]),
    ("C7", "crafter", "a world where trees are very rare",
     [C("tree_x<=0.6")]),
    ("C8", "crafter", "coal everywhere, and the agent starts with a stone pickaxe",
     [C("coal_x>=1.5"), C("inv_stone_pickaxe>=1")]),
    ("C9", "crafter", "a beach world with plenty of water and sand",
     [C("water_x>=1.3"), C("sand_x>=1.3")]),
]


# ------------------------------------------------------------------------------------------ MiniGrid


def _objective(mission: str) -> str:
    text = mission.lower()
    if text.startswith("put ") or " put " in text:
        return "put_near"
    if "goal" in text:
        return "goal"
    if re.search(r"\b(pick up|fetch|go get|get a|get the)\b", text):
        return "pickup"
    if text.startswith("go to"):
        return "goto"
    if text.startswith("open"):
        return "open_door"
    return "other"


def _lines(grid: Any, kind: str) -> int:
    """Rows and columns of the interior made of ``kind`` cells except exactly one empty gap."""
    w, h = grid.width, grid.height

    def strip(cells: list[Any]) -> bool:
        gaps = [c for c in cells if c is None or c.type != kind]
        return len(cells) >= 3 and len(gaps) == 1 and gaps[0] is None

    rows = sum(strip([grid.get(x, y) for x in range(1, w - 1)]) for y in range(1, h - 1))
    cols = sum(strip([grid.get(x, y) for y in range(1, h - 1)]) for x in range(1, w - 1))
    return rows + cols


def _rooms(grid: Any, start: tuple[int, int]) -> int:
    """Areas separated by walls and doors among the cells the agent could reach with every door open."""
    w, h = grid.width, grid.height

    def kind(x: int, y: int) -> str:
        cell = grid.get(x, y)
        return "empty" if cell is None else cell.type

    reach, queue = {start}, deque([start])
    while queue:
        x, y = queue.popleft()
        for n in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
            if 0 <= n[0] < w and 0 <= n[1] < h and n not in reach and kind(*n) != "wall":
                reach.add(n)
                queue.append(n)
    free = {c for c in reach if kind(*c) != "door"}
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


def measure_minigrid(env: Any) -> dict[str, Any]:
    base = env.unwrapped
    grid = base.grid
    cells = [c for c in grid.grid if c is not None]
    doors = [c for c in cells if c.type == "door"]
    boxes = [c for c in cells if c.type == "box"]
    in_boxes = [b.contains for b in boxes if b.contains is not None]
    keys = sum(c.type == "key" for c in cells) + sum(c.type == "key" for c in in_boxes)
    balls = sum(c.type == "ball" for c in cells)
    return {
        "width": grid.width,
        "lava_cells": sum(c.type == "lava" for c in cells),
        "lava_strips": _lines(grid, "lava"),
        "wall_strips": _lines(grid, "wall"),
        "rooms": _rooms(grid, (int(base.agent_pos[0]), int(base.agent_pos[1]))),
        "doors": len(doors),
        "locked_doors": sum(d.is_locked for d in doors),
        "keys": keys,
        "keys_in_boxes": sum(c.type == "key" for c in in_boxes),
        "balls": balls,
        "boxes": len(boxes),
        "balls_and_boxes": balls + len(boxes),
        "objects": keys + balls + len(boxes),
        "objective": _objective(str(base.mission)),
    }


# ------------------------------------------------------------------------------------------- Crafter

ROLLOUT = 150
DENSITY = ("tree", "coal", "iron", "diamond", "water", "sand")


def measure_crafter(env: Any, seed: int) -> dict[str, Any]:
    from gymsmith.envs.crafter.gym_env import world_census

    base = env.unwrapped
    inner = base.crafter_env
    counts = world_census(base)
    area = int(inner._world.area[0])
    out: dict[str, Any] = {"area": area}
    for name in DENSITY:
        out[f"{name}_d"] = counts.get(name, 0) / area**2
    out["cows_d"] = counts.get("cow", 0) / area**2
    for item, n in inner._player.inventory.items():
        out[f"inv_{item}"] = int(n)
    rng = np.random.default_rng(seed)
    zombies = skeletons = 0
    for _ in range(ROLLOUT):
        kinds = [type(o).__name__ for o in inner._world.objects]
        zombies = max(zombies, kinds.count("Zombie"))
        skeletons = max(skeletons, kinds.count("Skeleton"))
        _, _, terminated, truncated, _ = env.step(int(rng.integers(env.action_space.n)))
        if terminated or truncated:
            break
    out["zombies_d"] = zombies / area**2
    out["hostiles_seen"] = zombies + skeletons
    return out


def crafter_baseline(seeds: list[int]) -> dict[str, float]:
    """The original Crafter's densities at the same seeds: 'rich in iron' means richer than this."""
    from gymsmith.envs.crafter import CrafterWorldSpec

    rows = [measure_spec(CrafterWorldSpec(), s) for s in seeds]
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0] if k.endswith("_d")}


def measure_spec(spec: EnvSpec, seed: int, baseline: dict[str, float] | None = None) -> dict[str, Any]:
    env = make_env(spec)
    try:
        env.reset(seed=seed)
        if spec.family == "crafter":
            out = measure_crafter(env, seed)
            for key in list(out):
                if key.endswith("_d") and baseline is not None:
                    out[key[:-2] + "_x"] = out[key] / max(baseline[key], 1e-9)
            return out
        return measure_minigrid(env)
    finally:
        env.close()


# ---------------------------------------------------------------------------------------------- run


def run_request(
    rid: str, family_name: str, request: str, checks: list[Check], client: LLMClient, n: int, seeds: list[int],
    baseline: dict[str, float], log: Callable[[str], None],
) -> dict[str, Any]:
    family = make_family(family_name)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        try:
            result = generate(request, family, client, n, out, goals=0, max_tokens=1024)
            specs = [TypeAdapter(AnySpec).validate_python(e["spec"]) for e in result.accepted]
            error = ""
            listed = [c.text() for c in result.constraints]  # what the product read from the request
            rejected = [r.reason for r in result.rejected]
        except Exception as exc:  # a failed request scores zero; the benchmark goes on
            specs, error, listed, rejected = [], f"{type(exc).__name__}: {exc}", [], []
    levels = []
    for spec in specs[:n]:
        measured = [measure_spec(spec, s, baseline) for s in seeds]
        met = [all(c.holds(m) for m in measured) for c in checks]
        levels.append({"spec": spec.model_dump(mode="json"), "met": met,
                       "measured": [{str(c): m.get(c.quantity) for c in checks} for m in measured]})
    satisfied = sum(sum(level["met"]) for level in levels)
    asked = len(checks) * n
    log(f"{rid:4s} {satisfied:2d}/{asked:2d}  levels={len(specs)}  {request[:60]!r}  "
        f"{[[int(x) for x in level['met']] for level in levels]} {error} constraints={listed} "
        f"rejected={[r[:120] for r in rejected]}")
    return {"id": rid, "family": family_name, "request": request, "checks": [str(c) for c in checks],
            "levels": levels, "satisfied": satisfied, "asked": asked, "error": error,
            "constraints": listed, "rejected": rejected,
            "wall_s": round(time.perf_counter() - start, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="qwen2.5-coder-0.5b")
    parser.add_argument("--n", type=int, default=2, help="levels asked per request")
    parser.add_argument("--seeds", type=int, default=3, help="sampled seeds per level")
    parser.add_argument("--only", default="", help="comma-separated request ids")
    parser.add_argument("--tag", default="after")
    parser.add_argument("--no-cache", action="store_true")
    args = parser.parse_args()
    seeds = list(range(args.seeds))
    chosen = [r for r in REQUESTS if not args.only or r[0] in args.only.split(",")]
    baseline = crafter_baseline(seeds)
    RESULTS.mkdir(exist_ok=True)
    summary = {}
    for model in args.models.split(","):
        client = LLMClient(make_chat_model("local", model=model), backend="local", use_cache=not args.no_cache)
        load1 = os.getloadavg()[0]
        rows = [run_request(*r, client=client, n=args.n, seeds=seeds, baseline=baseline, log=print) for r in chosen]
        sat, asked = sum(r["satisfied"] for r in rows), sum(r["asked"] for r in rows)
        by_family = {f: (sum(r["satisfied"] for r in rows if r["family"] == f),
                         sum(r["asked"] for r in rows if r["family"] == f)) for f in ("minigrid", "crafter")}
        totals = client.totals()
        record = {"model": model, "tag": args.tag, "n": args.n, "seeds": seeds, "adherence": sat / max(asked, 1),
                  "satisfied": sat, "asked": asked, "by_family": by_family, "llm": totals,
                  "load_at_start": round(load1, 2), "load_at_end": round(os.getloadavg()[0], 2),
                  "threads": os.environ.get("GYMSMITH_LLM_THREADS", ""), "requests": rows}
        path = RESULTS / f"bench_generate-{model}-{args.tag}.json"
        path.write_text(json.dumps(record, indent=1) + "\n")
        summary[model] = record
        print(f"{model}: adherence {sat}/{asked} = {sat / max(asked, 1):.2f} "
              f"(minigrid {by_family['minigrid'][0]}/{by_family['minigrid'][1]}, "
              f"crafter {by_family['crafter'][0]}/{by_family['crafter'][1]}); "
              f"{totals['calls']} calls ({totals.get('model_calls', 0)} to the model), "
              f"{totals['completion_tokens']} completion tokens; load {load1:.1f}->{os.getloadavg()[0]:.1f}; "
              f"wrote {path}")


if __name__ == "__main__":
    main()
