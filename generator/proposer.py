"""The proposer: renders a prompt for a task, asks the LLM for K level specs, validates, repairs once.

LLM output is untrusted input. It is decoded under a JSON-schema grammar where the backend supports it, then
validated by pydantic; whatever fails is sent back once with the exact errors, and what still fails is
rejected with a reason that the next prompt shows the LLM.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gymsmith.generator.llm import LLMClient
from gymsmith.generator.templates import render
from gymsmith.schemas import Feedback, MiniGridLevelSpec, Proposal, RejectedSpec, TaskSpec

LEVEL_FIELDS = ("name", "size", "wall", "door_locked", "key", "lava", "distractors", "goal")


def target_size(env_id: str, default: int = 8) -> int:
    """Grid size of a MiniGrid target such as ``MiniGrid-DoorKey-8x8-v0``, so proposals can grow towards it."""
    match = re.search(r"(\d+)x\d+", env_id)
    return int(match.group(1)) if match else default


def minigrid_family(task: TaskSpec) -> dict[str, Any]:
    """Allowed values shown to the LLM and enforced by the grammar (enums, since grammars cannot do ranges)."""
    size = target_size(task.target_env)
    return {
        "sizes": list(range(5, max(size, 8) + 1)),
        "target_size": size,
        "lava": [0, 1, 2, 3],
        "distractors": [0, 1, 2],
        "goals": ["near", "far", "random"],
        "target_summary": f"{size}x{size} grid, a wall with a locked door, the key on the agent's side, "
        "the goal in the far corner",
    }


def minigrid_schema(family: dict[str, Any], k: int) -> dict[str, Any]:
    """JSON schema for grammar-constrained decoding of a K-level proposal."""
    level = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 24},
            "size": {"enum": family["sizes"]},
            "wall": {"type": "boolean"},
            "door_locked": {"type": "boolean"},
            "key": {"type": "boolean"},
            "lava": {"enum": family["lava"]},
            "distractors": {"enum": family["distractors"]},
            "goal": {"enum": family["goals"]},
        },
        "required": list(LEVEL_FIELDS),
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {
            "rationale": {"type": "string", "maxLength": 160},
            "levels": {"type": "array", "items": level, "minItems": k, "maxItems": k},
        },
        "required": ["rationale", "levels"],
        "additionalProperties": False,
    }


EXAMPLE_PROPOSAL = {
    "rationale": "The agent cannot pick up the key yet, so start with tiny locked-door rooms.",
    "levels": [
        {"name": "tiny-doorkey", "size": 5, "wall": True, "door_locked": True, "key": True, "lava": 0,
         "distractors": 0, "goal": "near"},
        {"name": "open-room", "size": 6, "wall": False, "door_locked": False, "key": False, "lava": 0,
         "distractors": 0, "goal": "far"},
    ],
}


@dataclass
class ParseResult:
    rationale: str = ""
    specs: list[MiniGridLevelSpec] = field(default_factory=list)
    rejected: list[RejectedSpec] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _extract_json(text: str) -> Any:
    """Accept a bare object or one wrapped in prose/code fences: small models add both."""
    text = text.strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        start, end = text.find("{"), text.rfind("}")
        if start >= 0 and end > start:
            return json.loads(text[start : end + 1])
        raise


def parse_levels(text: str, k: int) -> ParseResult:
    """Validate an LLM answer item by item, so one bad level does not sink the good ones."""
    result = ParseResult()
    try:
        data = _extract_json(text)
    except json.JSONDecodeError as exc:
        result.errors.append(f"the answer is not valid JSON ({exc.msg} at position {exc.pos})")
        return result
    if not isinstance(data, dict) or not isinstance(data.get("levels"), list):
        result.errors.append('the answer must be a JSON object with a "levels" list')
        return result
    result.rationale = str(data.get("rationale", ""))[:500]
    for i, item in enumerate(data["levels"]):
        if not isinstance(item, dict):
            result.errors.append(f"levels[{i}] is not an object")
            continue
        try:
            result.specs.append(MiniGridLevelSpec(**{**item, "family": "minigrid"}))
        except ValidationError as exc:
            reasons = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'level'}: {e['msg'].removeprefix('Value error, ')}"
                for e in exc.errors()
            )
            result.errors.append(f"levels[{i}] {reasons}")
            result.rejected.append(RejectedSpec(spec=item, reason=f"[schema] {reasons}"))
    if len(data["levels"]) != k:
        result.errors.append(f"expected exactly {k} levels, got {len(data['levels'])}")
    return result


@dataclass
class Proposer:
    """Turns (task, feedback) into a `Proposal`, with one repair round for invalid output."""

    client: LLMClient
    k: int = 3
    temperature: float = 0.7
    max_tokens: int = 700
    seed: int = 0
    prompts_dir: Path | str | None = None
    #: Grammar-constrained decoding; off for servers that reject JSON-schema response formats.
    constrained: bool = True

    def render_prompt(self, task: TaskSpec, feedback: Feedback | None) -> tuple[str, str]:
        family = minigrid_family(task)
        system = render("system.j2", self.prompts_dir)
        user = render(
            "env_proposal.j2",
            self.prompts_dir,
            task=task,
            family=family,
            k=self.k,
            feedback=feedback,
            example=EXAMPLE_PROPOSAL,
        )
        return system, user

    def propose(self, task: TaskSpec, feedback: Feedback | None = None, cycle: int = 0) -> Proposal:
        family = minigrid_family(task)
        schema = minigrid_schema(family, self.k)
        system, user = self.render_prompt(task, feedback)
        params = {
            "json_schema": schema if self.constrained else None,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "seed": self.seed + cycle,
        }
        text, call = self.client.complete("env_proposal.j2", system, user, **params)
        calls = [call]
        parsed = parse_levels(text, self.k)
        repaired = False
        if parsed.errors:
            repair = render("repair.j2", self.prompts_dir, response=text, errors=parsed.errors, k=self.k)
            text2, call2 = self.client.complete("repair.j2", system, f"{user}\n\n{repair}", **params)
            calls.append(call2)
            second = parse_levels(text2, self.k)
            repaired = True
            if len(second.specs) >= len(parsed.specs):
                parsed = second
        return Proposal(
            task=task,
            env_configs=parsed.specs,
            rationale=parsed.rationale,
            llm_calls=calls,
            repaired=repaired,
            rejected=parsed.rejected,
            errors=[e for e in parsed.errors if not e.startswith("levels[")],
        )
