"""The proposer: renders a prompt for a task, asks the LLM for K specs (and goals), validates, repairs once.

LLM output is untrusted input. It is decoded under a JSON-schema grammar where the backend supports it, then
validated by pydantic; whatever fails is sent back once with the exact errors, and what still fails is
rejected with a reason that the next prompt shows the LLM. What a spec *is* (schema, template, validation)
comes from a `Family`, so the same machinery writes MiniGrid levels, Crafter worlds and Gymnasium kwargs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gymsmith.envs.family import Family
from gymsmith.envs.params import InvalidItem, validation_reasons
from gymsmith.generator.llm import LLMClient
from gymsmith.schemas import EnvSpec, Feedback, Goal, Proposal, RejectedSpec, TaskSpec
from gymsmith.templates import render


@dataclass
class ParseResult:
    rationale: str = ""
    specs: list[EnvSpec] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    rejected: list[RejectedSpec] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def score(self) -> tuple[int, int]:
        """What a repair must not make worse: usable specs first, then usable goals."""
        return len(self.specs), len(self.goals)


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


def _parse_goals(data: dict[str, Any], family: Family, n_goals: int, result: ParseResult) -> None:
    goals = data.get("goals")
    if goals is None:
        result.errors.append(f'the answer must have a "goals" list with 1 to {n_goals} goals' if n_goals > 1
                             else 'the answer must have a "goals" list with 1 goal')
        return
    if not isinstance(goals, list):
        result.errors.append('"goals" must be a list')
        return
    allowed = set(family.events)
    names: set[str] = set()
    for i, item in enumerate(goals[:n_goals]):
        if not isinstance(item, dict):
            result.errors.append(f"goals[{i}] is not an object")
            continue
        try:
            goal = Goal(**item)
        except (ValidationError, TypeError) as exc:
            reason = validation_reasons(exc, "goal") if isinstance(exc, ValidationError) else str(exc)
            result.errors.append(f"goals[{i}] {reason}")
            result.rejected.append(RejectedSpec(spec=item, reason=f"[goal] {reason}"))
            continue
        unknown = [e for e in goal.events if e not in allowed]
        if unknown:
            reason = f"events: {', '.join(unknown)} not in this family's events ({', '.join(family.events)})"
            result.errors.append(f"goals[{i}] {reason}")
            result.rejected.append(RejectedSpec(spec=item, reason=f"[goal] {reason}"))
            continue
        if goal.name in names:
            continue
        names.add(goal.name)
        result.goals.append(goal)
    if len(goals) > n_goals:
        result.errors.append(f"expected at most {n_goals} goals, got {len(goals)}")


def parse_answer(text: str, family: Family, task: TaskSpec, k: int, n_goals: int = 0) -> ParseResult:
    """Validate an LLM answer item by item, so one bad item does not sink the good ones."""
    result = ParseResult()
    key = family.items_key
    try:
        data = _extract_json(text)
    except json.JSONDecodeError as exc:
        result.errors.append(f"the answer is not valid JSON ({exc.msg} at position {exc.pos})")
        return result
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        result.errors.append(f'the answer must be a JSON object with a "{key}" list')
        return result
    result.rationale = str(data.get("rationale", ""))[:500]
    for i, item in enumerate(data[key]):
        if not isinstance(item, dict):
            result.errors.append(f"{key}[{i}] is not an object")
            continue
        try:
            result.specs.append(family.build(item))
        except InvalidItem as exc:
            result.errors.append(f"{key}[{i}] {exc.reason}")
            result.rejected.append(RejectedSpec(spec=item, reason=f"[schema] {exc.reason}"))
        except TypeError as exc:  # e.g. a non-string key the grammar did not prevent
            result.errors.append(f"{key}[{i}] {exc}")
            result.rejected.append(RejectedSpec(spec=item, reason=f"[schema] {exc}"))
    if len(data[key]) != k:
        result.errors.append(f"expected exactly {k} {key}, got {len(data[key])}")
    if n_goals and family.events:
        _parse_goals(data, family, n_goals, result)
    return result


@dataclass
class Proposer:
    """Turns (task, feedback) or a free-text request into a `Proposal`, with one repair round."""

    client: LLMClient
    family: Family
    k: int = 3
    temperature: float = 0.7
    max_tokens: int = 700
    seed: int = 0
    prompts_dir: Path | str | None = None
    #: Ask for schema-constrained output; off asks for free text. A server that refuses the schema is handled by
    #: the openai backend itself (generator/structured.py), so this stays on for every backend.
    constrained: bool = True
    #: Up to this many goals per answer (0: the answer has no goals, as in the LLM curriculum).
    goals: int = 0

    def _goals(self) -> int:
        return self.goals if self.family.events else 0

    def render_prompt(
        self,
        task: TaskSpec,
        feedback: Feedback | None,
        request: str | None = None,
        notes: dict[str, Any] | None = None,
        constraints: list[dict[str, str]] | None = None,
    ) -> tuple[str, str]:
        system = render("system.j2", self.prompts_dir)
        feedback = feedback.bounded() if feedback is not None else None
        context = self.family.context(task, self.k, feedback, request, self._goals())
        if notes:
            context["notes"] = notes  # the template shows them only where it tests `notes is defined`
        if constraints:
            context["constraints"] = constraints  # likewise `constraints is defined`: each {text, hint}
        user = render(self.family.template, self.prompts_dir, **context)
        return system, user

    def propose(
        self, task: TaskSpec, feedback: Feedback | None = None, cycle: int = 0, notes: dict[str, Any] | None = None
    ) -> Proposal:
        """One curriculum step: the next specs for ``task`` given the last cycle's feedback.

        ``notes`` carries what a strategy knows beyond one cycle's feedback (e.g. the levels already mastered).
        """
        return self._ask(task, feedback, cycle, request=None, notes=notes)

    def generate(self, request: str, cycle: int = 0, constraints: list[dict[str, str]] | None = None) -> Proposal:
        """Specs (and goals) for a free-text request, as ``gymsmith generate`` asks for them; ``constraints``
        (each ``{text, hint}``) are the request's checkable constraints, stated in the prompt."""
        return self._ask(self._request_task(request), None, cycle, request=request, constraints=constraints)

    def _request_task(self, request: str) -> TaskSpec:
        task = TaskSpec(target_env=self.family.target_env, description=request, skills=list(self.family.events))
        return self.family.task(task)

    def revise(
        self,
        request: str | None,
        problems: list[tuple[EnvSpec, list[str]]],
        constraints: list[dict[str, str]] | None = None,
        cycle: int = 0,
        *,
        task: TaskSpec | None = None,
        feedback: Feedback | None = None,
        notes: dict[str, Any] | None = None,
    ) -> Proposal:
        """One call rewriting specs that were built and not accepted (a missed constraint, a duplicate, a
        verifier rejection, a curriculum level too hard for the agent), each with its problems named, after the
        same prompt they were written under: ``gymsmith generate``'s ``request`` or a curriculum step's ``task``
        and ``feedback``. What still fails is rejected by the caller. Without it a small model's duplicate or
        crowded level simply cost the user a level."""
        reviser = replace(self, k=len(problems), goals=0)
        if request is not None:
            task = self._request_task(request)
        if task is None:
            raise ValueError("revise needs the request or the curriculum task the specs were written for")
        system, user = reviser.render_prompt(task, feedback, request, notes, constraints=constraints)
        shown = [{"spec": json.dumps(spec.brief()), "problems": why} for spec, why in problems]
        note = render("revise.j2", self.prompts_dir, levels=shown, k=len(problems),
                      noun=self.family.noun, key=self.family.items_key)
        params = {
            "json_schema": self.family.schema(task, len(problems), 0) if self.constrained else None,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "seed": self.seed + cycle,
        }
        text, call = self.client.complete("revise.j2", system, f"{user}\n\n{note}", **params)
        parsed = parse_answer(text, self.family, task, len(problems), 0)
        return Proposal(task=task, env_configs=parsed.specs, rationale=parsed.rationale, llm_calls=[call],
                        repaired=True, rejected=parsed.rejected, errors=parsed.errors)

    def _ask(
        self,
        task: TaskSpec,
        feedback: Feedback | None,
        cycle: int,
        request: str | None,
        notes: dict[str, Any] | None = None,
        constraints: list[dict[str, str]] | None = None,
    ) -> Proposal:
        n_goals = self._goals()
        schema = self.family.schema(task, self.k, n_goals)
        system, user = self.render_prompt(task, feedback, request, notes, constraints)
        params = {
            "json_schema": schema if self.constrained else None,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "seed": self.seed + cycle,
        }
        text, call = self.client.complete(self.family.template, system, user, **params)
        calls = [call]
        parsed = parse_answer(text, self.family, task, self.k, n_goals)
        repaired = False
        if parsed.errors:
            repair = render("repair.j2", self.prompts_dir, response=text, errors=parsed.errors, k=self.k)
            text2, call2 = self.client.complete("repair.j2", system, f"{user}\n\n{repair}", **params)
            calls.append(call2)
            second = parse_answer(text2, self.family, task, self.k, n_goals)
            repaired = True
            if second.score() >= parsed.score():
                parsed = second
        item_prefixes = (f"{self.family.items_key}[", "goals[")
        return Proposal(
            task=task,
            env_configs=parsed.specs,
            goals=parsed.goals,
            rationale=parsed.rationale,
            llm_calls=calls,
            repaired=repaired,
            rejected=parsed.rejected,
            errors=[e for e in parsed.errors if not e.startswith(item_prefixes)],
        )
