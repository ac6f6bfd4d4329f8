"""Accepting an LLM curriculum's levels: verified, paced to the agent, and sent back once when they are not.

The prompt asks for easy levels first; the small local models write levels as long as the target anyway (the
demo's target success fell 0.14 -> 0.00 on them), and asked again to make them smaller they mostly do
not. What the model cannot judge is measured on the built level: the family's solver's steps
(`Family.solution_steps`) against the target's, with the allowance growing with the agent's target success
(`PaceSettings`). A level too far ahead of the agent trains as the hardest of its own easier versions that fits
(`Family.easier`: same layout and objective, sizes and counts lowered together), so the LLM's choice of *what* to
train survives and only *how big* is fitted to the agent. A level with no such version, or one the verifier
refused, goes back to the LLM once with its problem named (`Proposer.revise`); what still fails is rejected with
the reason, as ``gymsmith generate`` does with a request's constraints.

With ``pace.cover_skills`` (off by default until measured), fitting keeps what a level teaches: among the easier
versions that fit, those that still need the target skills the level needs (a smaller locked room) come before
those that do not, and where none fits, the smallest that keeps them trains (the skill's floor); and an answer
whose levels, as written, never need a skill the solver uses on the target gets one of them sent back in the
same revision call (`missing_skills`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from gymsmith.config import PaceSettings
from gymsmith.curricula.base import Artifacts
from gymsmith.envs.family import Family
from gymsmith.generator.proposer import Proposer
from gymsmith.generator.verifier import verify_env_config
from gymsmith.schemas import EnvSpec, Feedback, Proposal, RejectedSpec, TaskSpec
from gymsmith.templates import render


def step_limit(family: Family, feedback: Feedback | None, pace: PaceSettings) -> tuple[float, float, float] | None:
    """(most solver steps allowed now, the target's steps, target success) while pacing applies, else None
    (the agent is past ``until``, or the family has no solver)."""
    success = feedback.target_success if feedback is not None else 0.0
    if success >= pace.until:
        return None
    target_steps = family.solution_steps(None, range(pace.seeds))
    if target_steps is None:
        return None
    return target_steps * (pace.start + success), target_steps, success


def _skill(event: str) -> str:
    """An event without its step number: crossing one strip and crossing three are the same skill."""
    return re.sub(r"_\d+$", "", event)


def _skills(family: Family, spec: EnvSpec | None, seeds: int) -> set[str]:
    """The skills the family's solver uses on a level (``None``: on the target); none without a solver."""
    return {_skill(e) for e in family.solution_events(spec, range(seeds)) or ()}


def missing_skills(family: Family, task: TaskSpec, levels: list[EnvSpec], seeds: int) -> list[str]:
    """The target's skills its solver uses (`Family.solution_events`) that the solver uses on none of ``levels``,
    in the task's order; none when the family has no solver. A level teaches what solving it takes: a curriculum
    whose levels never need a key cannot teach a target that does, however well the agent learns them."""
    needed = family.solution_events(None, range(seeds))
    if not needed:
        return []
    taught = set().union(*(_skills(family, spec, seeds) for spec in levels))
    skills = [_skill(s) for s in task.skills if s in needed]
    return [s for s in dict.fromkeys(skills) if s not in taught]


def accept_proposal(
    proposer: Proposer,
    task: TaskSpec,
    proposal: Proposal,
    feedback: Feedback | None,
    artifacts: Artifacts,
    pace: PaceSettings,
    cycle: int,
    notes: dict[str, Any] | None = None,
    known: Callable[[str], bool] = lambda digest: False,
) -> list[EnvSpec]:
    """The levels to train on from ``proposal`` (the step's first answer, already in ``artifacts``).

    A level whose structure ``known`` holds, or that repeats one already taken, is skipped without a call:
    repeating a level costs the curriculum nothing. Verdicts, rejections and the revision's call go into
    ``artifacts``."""
    family = proposer.family
    limit = step_limit(family, feedback, pace)
    seen: set[str] = set()

    def fresh(spec: EnvSpec) -> bool:
        digest = family.structure(spec)
        return digest not in seen and not known(digest)

    def verified(spec: EnvSpec) -> str | None:
        verdict = verify_env_config(spec, family)
        artifacts.verdicts.append(verdict)
        return None if verdict.accepted else verdict.reason()

    def steps_of(spec: EnvSpec) -> float | None:
        return family.solution_steps(spec, range(pace.seeds)) if limit is not None else None

    def fits(spec: EnvSpec) -> float | None:
        """The solver's steps when ``spec`` is too far ahead of the agent, else None."""
        steps = steps_of(spec)
        return steps if steps is not None and limit is not None and steps > limit[0] else None

    def judge(spec: EnvSpec) -> tuple[EnvSpec | None, str | None]:
        """(what trains, why the level as written does not), either part None."""
        why = verified(spec)
        if why is not None:
            return None, why
        steps = fits(spec)
        if steps is None:
            return spec, None
        assert limit is not None
        why = render("too_hard.j2", proposer.prompts_dir, steps=steps, target_steps=limit[1], limit=limit[0],
                     success=limit[2])
        # the hardest easier version that fits, among those that still teach the target's skills this level
        # teaches (a smaller locked-door room before a smaller room without the lock), else among all
        if pace.cover_skills:
            measured = sorted([(steps_of(e), e) for e in [*family.easier(spec), *family.smaller(spec)]],
                              key=lambda m: -(m[0] or 0.0))
            fitting = [e for steps, e in measured if steps is None or steps <= limit[0]]
            kept = skills_of(spec)
            keeping = [e for e in fitting if kept <= skills_of(e)]
            if kept and not keeping:
                # the skill's floor: no version that keeps it fits yet (a target whose smallest locked level takes
                # the expert 18 steps, where the pace allows 13 at success 0), so the smallest that keeps it
                # trains, rather than a version without the skill for as long as the agent cannot succeed
                keeping = [e for steps, e in reversed(measured) if steps is not None and steps != float("inf")
                           and kept <= skills_of(e)][:1]
            fitting = keeping + fitting
        else:
            fitting = [e for e in reversed(family.easier(spec)) if fits(e) is None]
        for easier in fitting:
            if verified(easier) is None:
                return easier, why  # possibly one already taken: then the level adds nothing new
        return None, why

    def skills_of(spec: EnvSpec) -> set[str]:
        """The target's skills the solver uses on ``spec``."""
        return _skills(family, spec, pace.seeds) & _skills(family, None, pace.seeds)

    accepted: list[EnvSpec] = []
    written: list[EnvSpec] = []  # the levels that train, as the LLM wrote them

    def take(spec: EnvSpec, after: str) -> tuple[EnvSpec, list[str]] | None:
        trained, why = judge(spec)
        if trained is None:
            artifacts.rejected.append(RejectedSpec(spec=spec.model_dump(mode="json"), reason=f"{why} ({after})"))
            return spec, [why or ""]
        written.append(spec)
        if why is not None:
            note = f"trained as its easier version {trained.name!r}" if fresh(trained) else \
                "its easier version that fits is already trained"
            artifacts.rejected.append(RejectedSpec(spec=spec.model_dump(mode="json"), reason=f"{why} ({note})"))
        if fresh(trained):
            seen.add(family.structure(trained))
            accepted.append(trained)
        return None

    problems = [p for spec in proposal.env_configs if fresh(spec)
                and (p := take(spec, "sent back once")) is not None]  # fmt: skip
    # skills are judged on the levels as the LLM wrote them: pacing may train a smaller version without the lock
    # for now, and gives it back as the agent's target success grows
    missing = missing_skills(family, task, written, pace.seeds) if pace.cover_skills and written else []
    if missing:
        why = render("missing_skills.j2", proposer.prompts_dir, skills=missing, noun=family.noun)
        problems.append((written[-1], [why]))
        artifacts.rejected.append(RejectedSpec(spec=written[-1].model_dump(mode="json"),
                                               reason=f"{why} (trained, and sent back once)"))
    if problems:
        revision = proposer.revise(None, problems, cycle=cycle, task=task, feedback=feedback, notes=notes)
        artifacts.proposals.append(revision)
        artifacts.llm_calls.extend(revision.llm_calls)
        artifacts.rejected.extend(revision.rejected)
        for spec in revision.env_configs:
            if fresh(spec):
                take(spec, "after one repair")
    return accepted
