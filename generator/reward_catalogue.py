"""Compose mode: the typed catalogue of reward terms an LLM picks from, and the renderer that turns a pick into
reward source.

A tiny local model cannot be trusted to write Python, but it can fill a constrained JSON form: choose terms
from an enum, attach weights in a range. The template then writes code that is valid by construction; it still
goes through the verifier (a valid program can still be a bad reward, e.g. a time bonus instead of a cost).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from gymsmith.schemas import MINIGRID_EVENTS, ComposeTerm, RewardProgram

TEMPLATE = "reward_compose.py.j2"
MAX_TERMS = 12


class CatalogueTerm(BaseModel):
    """One entry of a family's catalogue; ``description`` is what the LLM reads when choosing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    kind: Literal["distance", "event", "hazard", "time", "env"]
    description: str
    targets: tuple[str, ...] = ()
    default_weight: float = 1.0


MINIGRID_TERMS: tuple[CatalogueTerm, ...] = (
    CatalogueTerm(
        name="distance",
        kind="distance",
        targets=("key", "door", "goal"),
        default_weight=0.1,
        description=(
            "potential-based shaping: weight x (distance before the step - distance after it) to the target; "
            "positive when the agent gets closer, negative when it moves away, zero once the target is gone"
        ),
    ),
    CatalogueTerm(
        name="event",
        kind="event",
        targets=MINIGRID_EVENTS,
        default_weight=1.0,
        description=(
            "weight when the event happens: a positive weight is paid only the first time in an episode (so it "
            "cannot be farmed); a negative weight is charged every time"
        ),
    ),
    CatalogueTerm(
        name="hazard",
        kind="hazard",
        default_weight=1.0,
        description="penalty: weight is subtracted when the agent dies in lava",
    ),
    CatalogueTerm(
        name="time_cost",
        kind="time",
        default_weight=0.01,
        description="weight is subtracted on every step, so finishing sooner earns more",
    ),
    CatalogueTerm(
        name="env_reward",
        kind="env",
        default_weight=1.0,
        description="the environment's own reward (MiniGrid: up to 1 for reaching the goal, less when slow) x weight",
    ),
)

CATALOGUES: dict[str, dict[str, CatalogueTerm]] = {"minigrid": {t.name: t for t in MINIGRID_TERMS}}


def catalogue(family: str = "minigrid") -> dict[str, CatalogueTerm]:
    """The terms available for an env family (KeyError names the families that have one)."""
    try:
        return CATALOGUES[family]
    except KeyError:
        raise KeyError(f"no reward catalogue for family {family!r}; known: {', '.join(CATALOGUES)}") from None


def compose_choice_model(family: str = "minigrid") -> type[BaseModel]:
    """Pydantic model of the LLM's structured answer: terms and targets are enums so grammars can enforce them."""
    cat = catalogue(family)
    term_enum = Literal[tuple(cat)]  # type: ignore[valid-type]
    targets = sorted({t for c in cat.values() for t in c.targets})
    target_enum = Literal[tuple(targets)] if targets else str  # type: ignore[valid-type]
    term_model = create_model(
        f"{family.capitalize()}ComposeTerm",
        __config__=ConfigDict(extra="forbid"),
        term=(term_enum, Field(description="catalogue term name")),
        weight=(float, Field(ge=-10, le=10, description="coefficient of the term")),
        target=(target_enum | None, Field(default=None, description="object or event the term refers to")),
    )
    return create_model(
        f"{family.capitalize()}ComposeChoice",
        __config__=ConfigDict(extra="forbid"),
        terms=(list[term_model], Field(min_length=1, max_length=MAX_TERMS)),  # type: ignore[valid-type]
        rationale=(str, Field(default="", max_length=600)),
    )


def compose_json_schema(family: str = "minigrid") -> dict[str, Any]:
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


def catalogue_for_prompt(family: str = "minigrid") -> list[dict[str, Any]]:
    """Plain dicts for the prompt template (name, description, allowed targets, a sensible default weight)."""
    return [
        {"name": t.name, "description": t.description, "targets": list(t.targets), "default_weight": t.default_weight}
        for t in catalogue(family).values()
    ]


def validate_terms(terms: list[ComposeTerm] | list[dict[str, Any]], family: str = "minigrid") -> list[ComposeTerm]:
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
    terms: list[ComposeTerm] | list[dict[str, Any]], family: str = "minigrid", name: str = "composed"
) -> RewardProgram:
    """Render validated terms through ``prompts/reward_compose.py.j2`` into a `RewardProgram`."""
    from gymsmith.generator.templates import environment

    parsed = validate_terms(terms, family)
    cat = catalogue(family)
    items: list[dict[str, Any]] = []
    for t in parsed:
        kind = cat[t.term].kind
        weight = float(t.weight)
        coef = -weight if kind in ("hazard", "time") else weight
        component = _component(t)
        items.append(
            {
                "kind": kind,
                "target": t.target,
                "coef": repr(coef),
                "var": "c_" + component,
                "component": component,
                "every": kind == "event" and weight < 0,
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
        provenance={"family": family, "template": TEMPLATE},
    )


def default_doorkey_terms() -> list[ComposeTerm]:
    """A sensible DoorKey reward: first-time bonuses for the three skills, light shaping, the env reward."""
    return [
        ComposeTerm(term="event", target="picked_up_key", weight=0.5),
        ComposeTerm(term="event", target="opened_door", weight=0.5),
        ComposeTerm(term="event", target="reached_goal", weight=1.0),
        ComposeTerm(term="distance", target="key", weight=0.05),
        ComposeTerm(term="distance", target="door", weight=0.05),
        ComposeTerm(term="distance", target="goal", weight=0.05),
        ComposeTerm(term="time_cost", weight=0.001),
        ComposeTerm(term="env_reward", weight=1.0),
    ]
