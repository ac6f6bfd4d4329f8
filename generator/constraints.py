"""Adherence as part of `gymsmith generate`: the request's checkable constraints, checked on sampled levels.

Before writing levels the LLM lists what the request asks for as structured data over the family's own
vocabulary of measurable quantities (`Family.quantities`), e.g. ``{"lava_strips": ">=2", "doors": "0"}``. The
levels prompt then states those constraints, and every accepted spec is built on a few seeds and measured
(`Family.measure`, on the generated level or world, never on spec fields). A spec that misses a constraint is
repaired once with the violation named, or rejected with it. The constraints are LLM output like any other:
decoded under a grammar that only allows the family's quantities and comparisons, validated, repaired once.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gymsmith.envs.family import Family
from gymsmith.generator.llm import LLMClient
from gymsmith.schemas import EnvSpec, LLMCall
from gymsmith.templates import render

TEMPLATE = "constraints.j2"
#: Seeds every accepted spec is measured on: a constraint must hold on each (a spec is a distribution).
CHECK_SEEDS = (0, 1, 2)


@dataclass(frozen=True)
class Constraint:
    """``quantity op value``: op is ``==``, ``>=`` or ``<=``; value a number or a category (e.g. an objective)."""

    quantity: str
    op: str
    value: float | str
    #: What the LLM wrote (``">=2"``), kept for the record.
    asked: str

    @classmethod
    def parse(cls, quantity: str, text: str) -> Constraint:
        m = re.fullmatch(r"\s*(>=|<=|=)?\s*(-?\d+(?:\.\d+)?)\s*", text)
        if m:
            return cls(quantity, {"": "==", "=": "=="}.get(m[1] or "", m[1]), float(m[2]), text)
        return cls(quantity, "==", text.strip(), text)

    def holds(self, measured: Any) -> bool:
        if measured is None:
            return False
        if isinstance(self.value, str):
            return str(measured) == self.value
        if isinstance(measured, str):
            return False
        if self.op == ">=":
            return measured >= self.value
        if self.op == "<=":
            return measured <= self.value
        return measured == self.value

    def text(self) -> str:
        value = self.value if isinstance(self.value, str) else f"{self.value:g}"
        return f"{self.quantity} {'=' if self.op == '==' else self.op} {value}"

    def to_json(self) -> dict[str, Any]:
        return {"quantity": self.quantity, "asked": self.asked, "text": self.text()}


@dataclass
class Check:
    """One constraint measured on one spec's sampled levels."""

    constraint: Constraint
    measured: list[Any]

    @property
    def met(self) -> bool:
        return all(self.constraint.holds(m) for m in self.measured)

    def violation(self) -> str:
        """The violation in words the repair prompt and the user read."""
        bad = [m for m in self.measured if not self.constraint.holds(m)]
        seen = ", ".join(str(m) for m in dict.fromkeys(bad))
        return f"{self.constraint.quantity} is {seen} (asked {self.constraint.text().split(' ', 1)[1]})"

    def to_json(self) -> dict[str, Any]:
        return {**self.constraint.to_json(), "measured": self.measured, "met": self.met}


def schema(family: Family) -> dict[str, Any]:
    """Only the family's quantities, each with its listed comparisons (grammars enforce enums)."""
    props = {name: {"enum": values} for name, values in family.quantities().items()}
    inner = {"type": "object", "properties": props, "additionalProperties": False}
    return {"type": "object", "properties": {"constraints": inner}, "required": ["constraints"],
            "additionalProperties": False}


def parse(text: str, family: Family) -> tuple[list[Constraint], list[str]]:
    """Constraints from an answer, each checked against the family's vocabulary (a bad one is dropped with an
    error, the others kept)."""
    try:
        data = json.loads(text.strip()[text.find("{"): text.rfind("}") + 1] if "{" in text else text)
    except json.JSONDecodeError as exc:
        return [], [f"the answer is not valid JSON ({exc.msg} at position {exc.pos})"]
    items = data.get("constraints") if isinstance(data, dict) else None
    if not isinstance(items, dict):
        return [], ['the answer must be a JSON object with a "constraints" object']
    vocabulary = family.quantities()
    out, errors = [], []
    for quantity, value in items.items():
        allowed = vocabulary.get(quantity)
        if allowed is None:
            errors.append(f"{quantity}: not a quantity of this family ({', '.join(vocabulary)})")
        elif str(value) not in allowed:
            errors.append(f"{quantity}: {json.dumps(value)} is not one of {', '.join(allowed)}")
        else:
            out.append(Constraint.parse(quantity, str(value)))
    return out, errors


def ask(
    client: LLMClient,
    family: Family,
    request: str,
    prompts_dir: str | Path | None = None,
    seed: int = 0,
    max_tokens: int = 200,
    constrained: bool = True,
) -> tuple[list[Constraint], list[LLMCall], list[str]]:
    """One call (plus one repair) listing the request's constraints; none when the family measures nothing."""
    if not family.quantities():
        return [], [], []
    system = render("system.j2", prompts_dir)
    words = _words(family, prompts_dir)
    quantities = [{"name": q, "description": _lookup(words["describe"], q), "allowed": values}
                  for q, values in family.quantities().items()]
    order = list(family.quantities())
    examples = [{"request": ex["request"], "answer": json.dumps({"constraints": dict(sorted(
        ex["constraints"].items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)))})}
        for ex in words["examples"]]  # in the grammar's key order, unescaped: the model copies what it sees
    user = render(TEMPLATE, prompts_dir, request=request, noun=family.noun, quantities=quantities,
                  examples=examples)
    params = {"json_schema": schema(family) if constrained else None, "temperature": 0.0,
              "max_tokens": max_tokens, "seed": seed}
    text, call = client.complete(TEMPLATE, system, user, **params)
    calls = [call]
    found, errors = parse(text, family)
    if errors:
        repair = render("repair.j2", prompts_dir, response=text, errors=errors, k=1)
        text2, call2 = client.complete("repair.j2", system, f"{user}\n\n{repair}", **params)
        calls.append(call2)
        found2, errors2 = parse(text2, family)
        if len(found2) >= len(found):
            found, errors = found2, errors2
    return found, calls, errors


def check(family: Family, spec: EnvSpec, constraints: list[Constraint],
          seeds: tuple[int, ...] = CHECK_SEEDS) -> list[Check]:
    """Each constraint measured on the levels ``spec`` generates at ``seeds``."""
    if not constraints:
        return []
    rows = [family.measure(spec, seed) for seed in seeds]
    return [Check(c, [row.get(c.quantity) for row in rows]) for c in constraints]


def _words(family: Family, prompts_dir: str | Path | None = None) -> dict[str, Any]:
    return json.loads(render("constraints.json.j2", prompts_dir))[family.vocabulary]


def _lookup(table: dict[str, str], quantity: str) -> str:
    """A quantity's words, or its group's (``start_wood`` -> ``start_items``)."""
    return table.get(quantity) or table.get(quantity.split("_", 1)[0] + "_items", "")


def hints(family: Family, constraints: list[Constraint], prompts_dir: str | Path | None = None) -> list[dict]:
    """Each constraint with how the family's spec meets it (prompt text from ``constraints.json.j2``)."""
    table = _words(family, prompts_dir)["hints"]
    return [{"text": c.text(), "hint": _lookup(table, c.quantity)} for c in constraints]
