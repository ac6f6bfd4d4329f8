"""Eureka-style curriculum: the LLM evolves the target's reward program from cycle to cycle.

Each cycle it sees the last program's per-skill success and per-episode component statistics, proposes
candidates, and the first one the verifier accepts replaces the reward for the next cycle's training. A cycle
whose candidates are all rejected keeps the previous program; rejections are shown to the LLM next time.
"""

from __future__ import annotations

from typing import Any

from gymsmith.curricula.base import Artifacts, Decision, Strategy
from gymsmith.envs.family import Family
from gymsmith.generator.reward_designer import CandidateReport, RewardDesigner
from gymsmith.schemas import (
    EnvMixture,
    Feedback,
    MixtureEntry,
    Proposal,
    RejectedSpec,
    RewardProgram,
    TargetEnv,
    TaskSpec,
)


class LLMRewardCurriculum(Strategy):
    name = "llm-reward"

    def __init__(
        self, family: Family, task: TaskSpec, designer: RewardDesigner, candidates: int = 2, seed: int = 0
    ) -> None:
        # the reward is what evolves: training stays on the target itself
        super().__init__(family, task, target_ratio=1.0, seed=seed)
        self.designer = designer
        self.candidates = candidates
        self.program: RewardProgram | None = None

    def _reflection(self, history: list[Feedback]) -> list[CandidateReport]:
        if not history or self.program is None:
            return []
        last = history[-1]
        reports = [
            CandidateReport(
                name=self.program.name,
                verdict="trained last cycle",
                terms=[t.model_dump(exclude_none=True) for t in self.program.terms],
                success=last.target_success,
                skills={k: v.mean for k, v in last.skills.items()},
                components=last.reward_components,
            )
        ]
        reports += [CandidateReport(name=str(r.spec.get("name", "?")), verdict=f"rejected: {r.reason}")
                    for r in last.rejected]
        return reports

    def decide(self, history: list[Feedback]) -> Decision:
        cycle = len(history)
        candidates = self.designer.propose(self.task, self.candidates, self._reflection(history), iteration=cycle)
        artifacts = Artifacts(
            proposals=[Proposal(task=self.task, reward_programs=[c.program for c in candidates if c.program],
                                llm_calls=[c.call for c in candidates])],
            llm_calls=[c.call for c in candidates],
            verdicts=[c.verdict for c in candidates],
        )
        chosen = next((c.program for c in candidates if c.verdict.accepted and c.program is not None), None)
        for c in candidates:
            if not c.verdict.accepted:
                artifacts.rejected.append(RejectedSpec(spec={"name": c.name}, reason=c.verdict.reason()))
        if chosen is not None:
            self.program = chosen
        mixture = EnvMixture(entries=[MixtureEntry(source=TargetEnv(env_id=self.target_env), weight=1.0)],
                             reward=self.program)
        return Decision(mixture, artifacts)

    def state_dict(self) -> dict[str, Any]:
        return {"program": self.program.model_dump(mode="json") if self.program else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        program = state.get("program")
        self.program = RewardProgram.model_validate(program) if program else None
