"""EnvGen-style LLM curriculum: each cycle the LLM reads per-skill results and writes the next levels."""

from __future__ import annotations

from typing import Any

from gymsmith.curricula.base import Artifacts, Strategy
from gymsmith.generator.proposer import Proposer
from gymsmith.generator.verifier import verify_env_config
from gymsmith.schemas import EnvMixture, Feedback, MiniGridLevelSpec, MixtureEntry, RejectedSpec, TaskSpec


class LLMCurriculum(Strategy):
    name = "llm"

    def __init__(self, task: TaskSpec, proposer: Proposer, target_ratio: float = 0.25, seed: int = 0) -> None:
        super().__init__(task.target_env, target_ratio, seed)
        self.task = task
        self.proposer = proposer
        #: Accepted specs of the last cycle that produced any: the fallback when a proposal yields nothing.
        self.current: list[MiniGridLevelSpec] = []

    def next_mixture(self, history: list[Feedback]) -> EnvMixture:
        cycle = len(history)
        feedback = history[-1] if history else None
        proposal = self.proposer.propose(self.task, feedback, cycle=cycle)
        artifacts = Artifacts(proposals=[proposal], llm_calls=list(proposal.llm_calls))
        artifacts.rejected.extend(proposal.rejected)
        accepted: list[MiniGridLevelSpec] = []
        seen: set[str] = set()
        for spec in proposal.env_configs:
            digest = spec.model_copy(update={"name": ""}).digest()
            if digest in seen:
                continue  # identical structure under another name adds nothing to the mixture
            seen.add(digest)
            verdict = verify_env_config(spec)
            artifacts.verdicts.append(verdict)
            if verdict.accepted:
                accepted.append(spec)  # type: ignore[arg-type]
            else:
                artifacts.rejected.append(RejectedSpec(spec=spec.model_dump(mode="json"), reason=verdict.reason()))
        if accepted:
            self.current = accepted
        self.artifacts = artifacts
        return self.with_target([MixtureEntry(source=s, weight=1.0) for s in self.current])

    def state_dict(self) -> dict[str, Any]:
        return {"current": [s.model_dump(mode="json") for s in self.current]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.current = [MiniGridLevelSpec(**s) for s in state.get("current", [])]
