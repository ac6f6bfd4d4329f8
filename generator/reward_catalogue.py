"""Compose mode: the LLM picks terms from its family's catalogue, and a template turns the pick into reward source.

A tiny local model cannot be trusted to write Python, but it can fill a constrained JSON form: choose terms
from an enum, attach weights in a range. The template then writes code that is valid by construction; it still
goes through the verifier (a valid program can still be a bad reward, e.g. a time bonus instead of a cost).
Which terms exist is the family's (`Family.catalogue`); what they mean in words is prompt text
(``prompts/reward_terms.json.j2``).
"""

from __future__ import annotations

import functools
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from gymsmith.envs.family import CatalogueTerm, Family
from gymsmith.schemas import ComposeTerm, RewardProgram
from gymsmith.templates import environment, render

TEMPLATE = "reward_compose.py.j2"
MAX_TERMS = 12


def catalogue(family: Family) -> dict[str, CatalogueTerm]:
    return {t.name: t for t in family.catalogue()}


@functools.lru_cache(maxsize=1)
def _descriptions() -> dict[str, dict[str, str]]:
    return json.loads(render("reward_terms.json.j2"))


def describe(family: Family, term: str) -> str:
    """A term's meaning in the family's words, else the common one."""
    text = _descriptions()
    return text.get(family.vocabulary, {}).get(term) or text["common"].get(term, "")


def compose_choice_model(family: Family) -> type[BaseModel]:
    """Pydantic model of the LLM's structured answer: terms and targets are enums so grammars can enforce them."""
    cat = catalogue(family)
    term_enum = Literal[tuple(cat)]  # type: ignore[valid-type]
    targets = sorted({t for c in cat.values() for t in c.targets})
    target_enum = Literal[tuple(targets)] if targets else str  # type: ignore[valid-type]
    term_model = create_model(
        f"{family.name.capitalize()}ComposeTerm",
        __config__=ConfigDict(extra="forbid"),
        term=(term_enum, Field(description="catalogue term name")),
        weight=(float, Field(ge=-10, le=10, description="coefficient of the term")),
        target=(target_enum | None, Field(default=None, description="object or event the term refers to")),
    )
    return create_model(
        f"{family.name.capitalize()}ComposeChoice",
        __config__=ConfigDict(extra="forbid"),
        terms=(list[term_model], Field(min_length=1, max_length=MAX_TERMS)),  # type: ignore[valid-type]
        rationale=(str, Field(default="", max_length=600)),
    )


def compose_json_schema(family: Family) -> dict[str, Any]:
    """JSON schema for constrained decoding of a compose answer.

    One object shape per term (``anyOf``), so a grammar forces a target exactly where the term needs one and
    a small model cannot forget it; the pydantic model above re-validates the parsed answer.
    """
    shapes = []
    for term in catalogue(family).values():
        props: dict[str, Any] = {"term": {"const": term.name}}
        required = ["term"]
        if term.targets:
            props["target"] = {"enum": list(term.targets)}
            required.append("target")
        props["weight"] = {"type": "number"}
        required.append("weight")
        shapes.append({"type": "object", "properties": props, "required": required, "additionalProperties": False})
    return {
        "type": "object",
        "properties": {
            "rationale": {"type": "string", "maxLength": 200},
            "terms": {"type": "array", "items": {"anyOf": shapes}, "minItems": 1, "maxItems": MAX_TERMS},
        },
        "required": ["rationale", "terms"],
        "additionalProperties": False,
    }


def catalogue_for_prompt(family: Family) -> list[dict[str, Any]]:
    """Plain dicts for the prompt template (name, description, allowed targets, a sensible default weight)."""
    return [
        {"name": t.name, "description": describe(family, t.name), "targets": list(t.targets),
         "default_weight": t.default_weight}
        for t in catalogue(family).values()
    ]


def validate_terms(terms: list[ComposeTerm] | list[dict[str, Any]], family: Family) -> list[ComposeTerm]:
    """Check every pick against the catalogue; the ValueError lists all problems, for the repair prompt."""
    cat = catalogue(family)
    parsed = [t if isinstance(t, ComposeTerm) else ComposeTerm.model_validate(t) for t in terms]
    problems: list[str] = []
    if not parsed:
        problems.append("pick at least one term")
    if len(parsed) > MAX_TERMS:
        problems.append(f"{len(parsed)} terms; at most {MAX_TERMS}")
    seen: set[tuple[str, str | None]] = set()
    for i, t in enumerate(parsed):
        entry = cat.get(t.term)
        if entry is None:
            problems.append(f"term {i}: unknown term {t.term!r}; choose from {', '.join(cat)}")
            continue
        if entry.targets and t.target not in entry.targets:
            problems.append(f"term {i} ({t.term}): target must be one of {', '.join(entry.targets)}, got {t.target!r}")
        if not entry.targets and t.target is not None:
            problems.append(f"term {i} ({t.term}): takes no target, got {t.target!r}")
        if (t.term, t.target) in seen:
            problems.append(f"term {i}: {t.term}/{t.target} is listed twice")
        seen.add((t.term, t.target))
    if problems:
        raise ValueError("; ".join(problems))
    return parsed


def _component(term: ComposeTerm) -> str:
    return term.term if term.target is None else f"{term.term}_{term.target}"


def render_compose(
    terms: list[ComposeTerm] | list[dict[str, Any]], family: Family, name: str = "composed"
) -> RewardProgram:
    """Render validated terms through ``prompts/reward_compose.py.j2`` into a `RewardProgram`."""
    parsed = validate_terms(terms, family)
    cat = catalogue(family)
    items: list[dict[str, Any]] = []
    for t in parsed:
        entry = cat[t.term]
        weight = float(t.weight)
        coef = -weight if entry.cost else weight
        component = _component(t)
        items.append(
            {
                "kind": entry.kind,
                "target": t.target,
                "event": t.target if entry.kind == "event" and t.target else entry.event,
                "feature": entry.feature.format(target=t.target) if entry.feature else "",
                "gains_only": entry.gains_only,
                "coef": repr(coef),
                "var": "c_" + component,
                "component": component,
                "every": entry.kind == "event" and (entry.cost or weight < 0),
            }
        )
    summary = ", ".join(f"{_component(t)} x {t.weight:g}" for t in parsed)
    source = environment().get_template(TEMPLATE).render(terms=items, summary=summary).rstrip() + "\n"
    return RewardProgram(
        name=name,
        mode="compose",
        source=source,
        components=[i["component"] for i in items],
        terms=parsed,
        provenance={"family": family.name, "template": TEMPLATE},
    )


def env_reward_program(family: Family, name: str = "baseline-sparse") -> RewardProgram:
    """The target's own reward as a program, so a sparse baseline runs through exactly the same wrapper."""
    return render_compose([ComposeTerm(term="env_reward", weight=1.0)], family, name=name)


def default_program(family: Family, name: str = "default") -> RewardProgram | None:
    """The family's hand-written dense reward (what designed rewards are compared against), if it has one."""
    terms = family.default_reward()
    return render_compose(terms, family, name=name) if terms else None
