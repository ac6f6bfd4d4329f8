"""``gymsmith generate``: list the request's constraints, propose K specs, verify each, check the constraints on
sampled levels (one repair naming what was missed), write the accepted ones with previews.

The output directory is self-describing: one JSON spec per accepted environment (loadable by ``gymsmith show``
and by `EnvConfig`), PNG renders of a sampled level, and ``index.json`` with everything needed to audit the
result — the request's constraints, accepted specs with each constraint measured and met, goals, rejected specs
with the layer and reason (``[constraint]`` for a missed constraint), the LLM calls and their cost.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gymsmith.envs.family import Family
from gymsmith.generator import constraints
from gymsmith.generator.llm import LLMClient
from gymsmith.generator.proposer import Proposer
from gymsmith.generator.verifier import verify_env_config
from gymsmith.schemas import Constraint, EnvSpec, Goal, LLMCall, Proposal, RejectedSpec

INDEX = "index.json"


@dataclass
class GenerateResult:
    out_dir: Path
    proposal: Proposal
    #: One entry per accepted spec: name, file, renders, spec, verification seconds (and a render error, if any).
    accepted: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[RejectedSpec] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    llm: dict[str, float] = field(default_factory=dict)
    wall_s: float = 0.0
    #: The request's checkable constraints as the LLM listed them (empty: none, or the family measures nothing).
    constraints: list[Constraint] = field(default_factory=list)
    #: Every LLM call of the command, in order: constraints, levels (and repair), constraint repair.
    llm_calls: list[LLMCall] = field(default_factory=list)
    #: Verification seconds per accepted structure.
    verify_s: dict[str, float] = field(default_factory=dict)

    @property
    def index_path(self) -> Path:
        return self.out_dir / INDEX


def _slug(name: str, fallback: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or fallback


def _clear_previous(out_dir: Path) -> None:
    """Remove the files an earlier run listed in its index, so a smaller re-run leaves no stale specs behind."""
    index = out_dir / INDEX
    try:
        old = json.loads(index.read_text())
    except (OSError, ValueError):
        return
    for entry in old.get("accepted", []) if isinstance(old, dict) else []:
        for name in [entry.get("file"), *entry.get("renders", [])]:
            if isinstance(name, str) and "/" not in name and "\\" not in name and name not in ("", ".", ".."):
                (out_dir / name).unlink(missing_ok=True)


def _verify(spec: EnvSpec, family: Family, seen: dict[str, str], result: GenerateResult) -> str | None:
    """Dedupe and verify one spec: None when it passes (and is remembered as seen), else the reason with its layer
    (``[duplicate]``, ``[solvability]``, ...), for the repair round or the rejection list."""
    digest = family.structure(spec)
    if digest in seen:
        return f"[duplicate] same {family.noun} as {seen[digest]!r}"
    verdict = verify_env_config(spec, family=family)
    if not verdict.accepted:
        return verdict.reason()
    seen[digest] = spec.name
    result.verify_s[digest] = verdict.cost_s
    return None


#: Seconds the neighbours of one unfit spec may take to judge: a bound on the user's wait where judging is slow
#: (a Crafter world is built and rolled out per seed, ~0.7 s; a MiniGrid level ~20 ms, so 60 fit easily).
NEIGHBOUR_SECONDS = 12.0


def _neighbours(family: Family, spec: EnvSpec) -> Iterator[EnvSpec]:
    """Specs next to ``spec`` in the family's language: the nearest valid ones (`Family.nearest`: a few knob
    steps away, so the level stays the one the model wrote), then its easier versions, hardest first; each is
    judged like any spec. ``spec`` may be a `Family.draft` of an item the schema refused."""
    name = f"{str(spec.name)[:54]}-edit"
    yield from family.nearest(spec, name)
    if family.check(spec) == "" and _valid(spec):
        yield from reversed(family.easier(spec))


def _valid(spec: EnvSpec) -> bool:
    """Whether a spec passes its own model's rules (a draft may not)."""
    try:
        type(spec).model_validate(spec.model_dump())
    except ValueError:
        return False
    return True


def generate(
    request: str,
    family: Family,
    client: LLMClient,
    n: int,
    out_dir: str | Path,
    goals: int = 2,
    prompts_dir: str | Path | None = None,
    seed: int = 0,
    temperature: float = 0.7,
    max_tokens: int = 1024,
    constrained: bool = True,
    render_seed: int = 0,
    check_constraints: bool = True,
) -> GenerateResult:
    """List the request's constraints, ask for the specs (plus one repair), verify every spec, check the
    constraints on sampled levels (one constraint repair naming the violations), write the accepted ones.
    LLM failures propagate."""
    start = time.perf_counter()
    asked: list[Constraint] = []
    calls: list[LLMCall] = []
    constraint_errors: list[str] = []
    if check_constraints:
        asked, calls, constraint_errors = constraints.ask(client, family, request, prompts_dir, seed=seed,
                                                          constrained=constrained)
    # the constraints narrow the grammar the levels are written under (like --param)
    working = family.narrow(asked) if asked else family
    narrowed = {k: v for k, v in working.allowed().items() if family.allowed().get(k) != v}
    proposer = Proposer(
        client,
        family=working,
        k=n,
        temperature=temperature,
        max_tokens=max_tokens,
        seed=seed,
        prompts_dir=prompts_dir,
        constrained=constrained,
        goals=goals,
    )
    stated = constraints.hints(family, asked, prompts_dir) if asked else None
    proposal = proposer.generate(request, constraints=stated)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _clear_previous(out)
    result = GenerateResult(out_dir=out, proposal=proposal, rejected=list(proposal.rejected), goals=proposal.goals,
                            constraints=asked)
    seen: dict[str, str] = {}

    def judge(spec: EnvSpec) -> tuple[str | None, list[constraints.Check]]:
        """None and its checks when the spec is accepted, else why not (verifier, duplicate or constraints)."""
        why = _verify(spec, working, seen, result)
        if why is not None:
            return why, []
        checks = constraints.check(family, spec, asked)
        if all(c.met for c in checks):
            return None, checks
        seen.pop(family.structure(spec), None)  # a revision may write this structure again, corrected
        return f"[constraint] {'; '.join(c.violation() for c in checks if not c.met)}", checks

    #: (spec, its checks, revised by the LLM, the rejected spec it was edited from)
    passed: list[tuple[EnvSpec, list[constraints.Check], bool, str | None]] = []
    problems: list[tuple[EnvSpec, list[str]]] = []  # every parsed spec that is not accepted gets one repair
    for spec in proposal.env_configs:
        why, checks = judge(spec)
        if why is None:
            passed.append((spec, checks, False, None))
        else:
            problems.append((spec, [why]))
            result.rejected.append(RejectedSpec(spec=spec.model_dump(mode="json"), reason=f"{why} (sent back once)"))
    revision: Proposal | None = None
    unfit = [spec for spec, _ in problems]
    if problems:
        revision = proposer.revise(request, problems, stated or [])
        result.rejected.extend(revision.rejected)
        for spec in revision.env_configs:
            why, checks = judge(spec)
            if why is None:
                passed.append((spec, checks, True, None))
            else:
                unfit.insert(0, spec)
                result.rejected.append(RejectedSpec(spec=spec.model_dump(mode="json"),
                                                    reason=f"{why} (after one repair)"))
    # What the small model still gets wrong after its revision is mostly a level it repeats, one too crowded to
    # place, or a rule between two numbers the schema refuses (more strips than the room fits): the family's own
    # neighbours of it (a few knob steps away, then easier versions) often pass every check
    refused = [r.spec for r in [*(revision.rejected if revision else []), *proposal.rejected]
               if r.reason.startswith("[schema]")]
    unfit += [d for d in (working.draft(item) for item in refused) if d is not None]
    for spec in unfit:
        if len(passed) >= n:
            break
        deadline = time.perf_counter() + NEIGHBOUR_SECONDS
        for candidate in _neighbours(working, spec):
            if time.perf_counter() > deadline:
                break
            why, checks = judge(candidate)
            if why is None:
                passed.append((candidate, checks, True, spec.name))
                break

    from gymsmith.envs.render import save_render

    for spec, checks, repaired, edited_from in passed:
        stem = f"{len(result.accepted) + 1:02d}-{_slug(spec.name, family.noun)}"
        (out / f"{stem}.json").write_text(json.dumps(spec.model_dump(mode="json"), indent=1) + "\n")
        entry: dict[str, Any] = {
            "name": spec.name,
            "file": f"{stem}.json",
            "renders": [],
            "spec": spec.model_dump(mode="json"),
            "verify_s": round(result.verify_s.get(family.structure(spec), 0.0), 3),
            "constraints": [c.to_json() for c in checks],
            "constraints_met": all(c.met for c in checks),
            "revised": repaired,
        }
        if edited_from is not None:
            entry["edited_from"] = edited_from
        try:
            entry["renders"] = [p.name for p in save_render(spec, out / f"{stem}.png", seed=render_seed)]
        except Exception as exc:  # a preview is a convenience: an env without rgb_array frames is still valid
            entry["render_error"] = f"{type(exc).__name__}: {exc}"
        result.accepted.append(entry)

    result.llm = client.totals()
    result.wall_s = time.perf_counter() - start
    all_calls = [*calls, *proposal.llm_calls, *(revision.llm_calls if revision else [])]
    result.llm_calls = all_calls
    index = {
        "request": request,
        "family": family.name,
        "target_env": family.target_env,
        "params": [asdict(p) for p in getattr(family, "params", [])],
        "n": n,
        "constraints": [constraints.describe(c) for c in asked],
        "constraint_errors": constraint_errors,
        "narrowed": narrowed,
        "accepted": result.accepted,
        "goals": [g.model_dump(mode="json") for g in result.goals],
        "rejected": [r.model_dump(mode="json") for r in result.rejected],
        "errors": proposal.errors,
        "rationale": proposal.rationale,
        "repaired": proposal.repaired,
        "revision": revision is not None,
        "llm": result.llm,
        "llm_calls": [c.model_dump(mode="json") for c in all_calls],
        "wall_s": round(result.wall_s, 2),
    }
    result.index_path.write_text(json.dumps(index, indent=1) + "\n")
    return result
