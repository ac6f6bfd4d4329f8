"""``gymsmith generate``: propose K specs for a request, verify each, write the accepted ones with previews.

The output directory is self-describing: one JSON spec per accepted environment (loadable by ``gymsmith show``
and by `EnvConfig`), PNG renders of a sampled level, and ``index.json`` with everything needed to audit the
result — accepted specs, goals, rejected specs with the layer and reason, the LLM calls and their cost.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gymsmith.envs.family import Family
from gymsmith.generator.llm import LLMClient
from gymsmith.generator.proposer import Proposer
from gymsmith.generator.verifier import verify_env_config
from gymsmith.schemas import Goal, Proposal, RejectedSpec

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
) -> GenerateResult:
    """Ask once (plus one repair), verify every spec, write the accepted ones; LLM failures propagate."""
    start = time.perf_counter()
    proposer = Proposer(
        client,
        family=family,
        k=n,
        temperature=temperature,
        max_tokens=max_tokens,
        seed=seed,
        prompts_dir=prompts_dir,
        constrained=constrained,
        goals=goals,
    )
    proposal = proposer.generate(request)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _clear_previous(out)
    result = GenerateResult(out_dir=out, proposal=proposal, rejected=list(proposal.rejected), goals=proposal.goals)

    from gymsmith.envs.render import save_render

    seen: dict[str, str] = {}
    for spec in proposal.env_configs:
        digest = family.structure(spec)
        if digest in seen:
            result.rejected.append(RejectedSpec(
                spec=spec.model_dump(mode="json"), reason=f"[duplicate] same {family.noun} as {seen[digest]!r}"
            ))
            continue
        seen[digest] = spec.name
        verdict = verify_env_config(spec, family=family)
        if not verdict.accepted:
            result.rejected.append(RejectedSpec(spec=spec.model_dump(mode="json"), reason=verdict.reason()))
            continue
        stem = f"{len(result.accepted) + 1:02d}-{_slug(spec.name, family.noun)}"
        (out / f"{stem}.json").write_text(json.dumps(spec.model_dump(mode="json"), indent=1) + "\n")
        entry: dict[str, Any] = {
            "name": spec.name,
            "file": f"{stem}.json",
            "renders": [],
            "spec": spec.model_dump(mode="json"),
            "verify_s": round(verdict.cost_s, 3),
        }
        try:
            entry["renders"] = [p.name for p in save_render(spec, out / f"{stem}.png", seed=render_seed)]
        except Exception as exc:  # a preview is a convenience: an env without rgb_array frames is still valid
            entry["render_error"] = f"{type(exc).__name__}: {exc}"
        result.accepted.append(entry)

    result.llm = client.totals()
    result.wall_s = time.perf_counter() - start
    index = {
        "request": request,
        "family": family.name,
        "target_env": family.target_env,
        "params": [asdict(p) for p in getattr(family, "params", [])],
        "n": n,
        "accepted": result.accepted,
        "goals": [g.model_dump(mode="json") for g in result.goals],
        "rejected": [r.model_dump(mode="json") for r in result.rejected],
        "errors": proposal.errors,
        "rationale": proposal.rationale,
        "repaired": proposal.repaired,
        "llm": result.llm,
        "llm_calls": [c.model_dump(mode="json") for c in proposal.llm_calls],
        "wall_s": round(result.wall_s, 2),
    }
    result.index_path.write_text(json.dumps(index, indent=1) + "\n")
    return result
