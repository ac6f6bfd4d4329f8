"""Eureka-style reward search: sample candidates, verify, train each briefly, keep the best, reflect, iterate.

Differences from Eureka: candidates are verified (static, sandbox, smoke, hack layers) before any training,
rejections are fed back with their reasons, candidates train in parallel on an executor (local processes or
Ray), and a sparse-reward baseline trains under the same budget so the table shows what the design bought.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gymsmith.generator.reward_catalogue import env_reward_program
from gymsmith.generator.reward_designer import Candidate, CandidateReport, RewardDesigner
from gymsmith.schemas import (
    CandidateSpec,
    LLMCall,
    Proposal,
    RewardProgram,
    TaskSpec,
    TrainResult,
    Verdict,
)


@dataclass
class Row:
    """One line of the result table."""

    iteration: int
    name: str
    verdict: Verdict
    program: RewardProgram | None
    result: TrainResult | None = None
    call: LLMCall | None = None

    @property
    def success(self) -> float | None:
        if self.result is None or self.result.evaluation is None:
            return None
        return self.result.evaluation.success_rate

    @property
    def headline(self) -> float | None:
        """The family's headline number on the target (the success rate, or e.g. the Crafter score): what ranks
        candidates, so that on Crafter the best reward is the one with the best Crafter score."""
        if self.result is None or self.result.evaluation is None:
            return None
        ev = self.result.evaluation
        return ev.success_rate if ev.metric == "success" else ev.score


@dataclass
class SearchResult:
    rows: list[Row] = field(default_factory=list)
    calls: list[LLMCall] = field(default_factory=list)
    proposals: list[Proposal] = field(default_factory=list)

    @property
    def best(self) -> Row | None:
        trained = [r for r in self.rows if r.headline is not None and r.name != BASELINE]
        return max(trained, key=lambda r: (r.headline, _mean_return(r))) if trained else None


def _mean_return(row: Row) -> float:
    ev = row.result.evaluation if row.result else None
    return ev.mean_return if ev else float("-inf")


BASELINE = "baseline-sparse"


def _report(row: Row) -> CandidateReport:
    ev = row.result.evaluation if row.result else None
    verdict = "accepted" if row.verdict.accepted else f"rejected: {row.verdict.reason()}"
    if row.result is not None and row.result.failed:
        verdict = f"training failed: {row.result.failed}"
    return CandidateReport(
        name=row.name,
        verdict=verdict,
        terms=[t.model_dump(exclude_none=True) for t in row.program.terms] if row.program else [],
        success=ev.success_rate if ev else None,
        skills={k: v.mean for k, v in ev.skills.items()} if ev else {},
        components=row.result.reward_components if row.result else {},
    )


def reward_search(
    task: TaskSpec,
    designer: RewardDesigner,
    executor: Any,
    n: int = 4,
    iterations: int = 2,
    steps: int = 20_000,
    eval_episodes: int = 20,
    n_envs: int = 4,
    seed: int = 0,
    device: str = "cpu",
    baseline: bool = True,
    on_iteration: Any = None,
) -> SearchResult:
    """Run the search; ``on_iteration(iteration, rows)`` lets a front end show or store each iteration."""
    out = SearchResult()
    reflection: list[CandidateReport] = []
    for it in range(iterations):
        candidates: list[Candidate] = designer.propose(task, n, reflection, iteration=it)
        rows = [Row(it, c.name, c.verdict, c.program, call=c.call) for c in candidates]
        if baseline and it == 0:
            program = env_reward_program(designer.family, name=BASELINE)
            rows.append(Row(it, program.name, Verdict(subject=f"reward:{program.name}", accepted=True), program))
        out.calls.extend(c.call for c in candidates)
        out.proposals.append(
            Proposal(
                task=task,
                reward_programs=[c.program for c in candidates if c.program is not None],
                llm_calls=[c.call for c in candidates],
            )
        )
        to_train = [r for r in rows if r.verdict.accepted and r.program is not None]
        specs = [
            CandidateSpec(
                name=r.name, target_env=task.target_env, reward=r.program, steps=steps, n_envs=n_envs,
                seed=seed, device=device, eval_episodes=eval_episodes, skills=task.skills,
            )
            for r in to_train
        ]
        for row, result in zip(to_train, executor.map(specs) if specs else [], strict=True):
            row.result = result
        out.rows.extend(rows)
        if on_iteration is not None:
            on_iteration(it, rows)
        ranked = sorted(rows, key=lambda r: -1.0 if r.headline is None else r.headline, reverse=True)
        reflection = [_report(r) for r in ranked if r.name != BASELINE]
        best = out.best
        if best is not None and best.iteration < it:
            reflection.insert(0, _report(best))
    return out


def run_reward_search(
    task: TaskSpec,
    designer: RewardDesigner,
    executor: Any,
    store: Any,
    config: dict[str, Any],
    out_dir: str | None = None,
    on_iteration: Any = None,
    **search_kwargs: Any,
) -> tuple[SearchResult, str]:
    """`reward_search` with every iteration committed to the run store (programs, verdicts, best training)."""
    import json
    from pathlib import Path

    from gymsmith.curricula.store import CycleRecord

    run_id = store.create_run(config, kind="reward-search")

    def commit(iteration: int, rows: list[Row]) -> None:
        trained = [r for r in rows if r.headline is not None]
        best = max(trained, key=lambda r: (r.headline, _mean_return(r))) if trained else None
        record = CycleRecord(cycle=iteration)
        record.llm_calls = [r.call for r in rows if r.call is not None]
        record.proposals = [Proposal(task=task, reward_programs=[r.program for r in rows if r.program],
                                     llm_calls=record.llm_calls)]
        record.verdicts = [r.verdict for r in rows]
        if best is not None and best.result is not None:
            record.training = best.result
            record.evaluation = best.result.evaluation
        record.feedback = {
            "candidates": [
                {"name": r.name, "accepted": r.verdict.accepted, "reason": r.verdict.reason(), "success": r.success,
                 "failed": r.result.failed if r.result else None}
                for r in rows
            ]
        }
        record.strategy_state = {"best": best.program.model_dump(mode="json") if best and best.program else None}
        store.commit_cycle(run_id, record)
        if on_iteration is not None:
            on_iteration(iteration, rows)

    result = reward_search(task, designer, executor, on_iteration=commit, **search_kwargs)
    store.set_status(run_id, "finished")
    best = result.best
    if out_dir and best is not None and best.program is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "reward.py").write_text(best.program.source)
        (out / "reward.json").write_text(json.dumps(best.program.model_dump(mode="json"), indent=1))
    return result, run_id
