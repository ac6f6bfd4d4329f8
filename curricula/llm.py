"""EnvGen-style LLM curriculum: each cycle the LLM reads per-skill results and writes the next levels.

Two ways to turn proposals into a training distribution (``RunConfig.llm.mixture``):

* ``latest`` trains on the newest proposal only, equal weights, as EnvGen does.
* ``archive`` keeps every accepted level with its measured training success p and weights it by learnability
  4p(1-p) (the OMNI / learning-progress intuition: train where the agent succeeds sometimes), and lists the
  levels already mastered in the next prompt. A small model that re-proposes a mastered level then costs little,
  and a level that is still being learned stays in the mix after the LLM has moved on.
"""

from __future__ import annotations

from typing import Any

from gymsmith.agents.train import target_mixture
from gymsmith.config import LLMCurriculumSettings, PaceSettings
from gymsmith.curricula.base import Artifacts, CycleOutcome, Decision, Strategy, per_source_success
from gymsmith.curricula.pace import accept_proposal
from gymsmith.envs.family import Family
from gymsmith.generator.proposer import Proposer
from gymsmith.schemas import EnvSpec, Feedback, MixtureEntry, TaskSpec, spec_models


def learnability(success: float | None, floor: float, mastered: float = 1.0) -> float:
    """Weight of an archived level: untried levels get the maximum, tried ones 4p(1-p) but never below floor;
    a mastered level (p at or above ``mastered``) gets the floor: it is kept against forgetting, nothing more."""
    if success is None:
        return 1.0
    if success >= mastered:
        return floor
    return max(4.0 * success * (1.0 - success), floor)


class LLMCurriculum(Strategy):
    name = "llm"

    def __init__(
        self,
        family: Family,
        task: TaskSpec,
        proposer: Proposer,
        target_ratio: float = 0.25,
        seed: int = 0,
        settings: LLMCurriculumSettings | None = None,
        pace: PaceSettings | None = None,
    ) -> None:
        super().__init__(family, task, target_ratio, seed)
        family.require_expressible("the llm curriculum")
        self.proposer = proposer
        self.settings = settings or LLMCurriculumSettings()
        self.pace = pace or PaceSettings()
        #: Accepted specs of the last cycle that produced any: the fallback when a proposal yields nothing.
        self.current: list[EnvSpec] = []
        #: ``archive`` mode: every accepted level, oldest first, with its last measured training success.
        self.archive: list[dict[str, Any]] = []

    def generating(self, cycle: int) -> bool:
        """Whether ``cycle`` trains on generated levels (EnvGen's schedule: the last cycles train on the target)."""
        return self.settings.generated_cycles is None or cycle < self.settings.generated_cycles

    def decide(self, history: list[Feedback]) -> Decision:
        cycle = len(history)
        if not self.generating(cycle):
            return Decision(target_mixture(self.target_env))
        feedback = history[-1] if history else None
        notes = self._mastered_notes() if self.settings.mixture == "archive" else None
        proposal = self.proposer.propose(self.task, feedback, cycle=cycle, notes=notes)
        artifacts = Artifacts(proposals=[proposal], llm_calls=list(proposal.llm_calls), goals=list(proposal.goals))
        artifacts.rejected.extend(proposal.rejected)
        accepted = accept_proposal(self.proposer, self.task, proposal, feedback, artifacts, self.pace, cycle, notes)
        if accepted:
            self.current = accepted
        if self.settings.mixture == "archive":
            return Decision(self.with_target(self._archive_entries(self.current)), artifacts)
        return Decision(self.with_target([MixtureEntry(source=s, weight=1.0) for s in self.current]), artifacts)

    def _mastered_notes(self) -> dict[str, Any] | None:
        """A small model keeps re-proposing what it proposed before; telling it which levels are already
        solved (measured, across all past cycles) is what moves its next proposal towards the target."""
        threshold = self.settings.mastered
        mastered = [item["spec"] for item in self.archive if item["success"] is not None
                    and item["success"] >= threshold]  # fmt: skip
        if not mastered:
            return None
        shown = [_spec(spec).brief() for spec in mastered]
        notes: dict[str, Any] = {"mastered": shown, "threshold": threshold}
        sizes = [spec["size"] for spec in shown if isinstance(spec.get("size"), int)]
        if sizes:
            notes["max_size"] = max(sizes)
        return notes

    def _archive_entries(self, newest: list[EnvSpec]) -> list[MixtureEntry]:
        known = {item["digest"]: item for item in self.archive}
        newest_digests: dict[str, None] = {}  # ordered set
        for spec in newest:
            digest = self.family.structure(spec)
            newest_digests[digest] = None
            if digest not in known:
                known[digest] = {"digest": digest, "spec": spec.model_dump(mode="json"), "success": None}
                self.archive.append(known[digest])
        floor, mastered = self.settings.floor, self.settings.mastered
        # the newest proposal always trains (the LLM's decision is what is being tested); the rest of the slots
        # go to the most learnable archived levels, newer first on ties
        chosen = [known[d] for d in newest_digests]
        rest = [item for item in reversed(self.archive) if item["digest"] not in newest_digests]
        rest.sort(key=lambda item: learnability(item["success"], floor, mastered), reverse=True)
        chosen += rest[: max(0, self.settings.archive_size - len(chosen))]
        return [
            MixtureEntry(source=_spec(item["spec"]), weight=learnability(item["success"], floor, mastered))
            for item in chosen
        ]

    def update(self, outcome: CycleOutcome) -> None:
        """Record each archived level's training success from this cycle's episodes."""
        if self.settings.mixture != "archive":
            return
        known = {item["digest"]: item for item in self.archive}
        for entry, stat in zip(outcome.mixture.entries, per_source_success(outcome.mixture, outcome.log), strict=True):
            if entry.source.family == self.family.name and stat.n > 0:
                item = known.get(self.family.structure(entry.source))
                if item is not None:
                    item["success"] = stat.mean

    def state_dict(self) -> dict[str, Any]:
        return {"current": [s.model_dump(mode="json") for s in self.current], "archive": self.archive}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.current = [_spec(s) for s in state.get("current", [])]
        self.archive = [dict(item) for item in state.get("archive", [])]


def _spec(data: dict[str, Any]) -> EnvSpec:
    """A stored spec back as its family's model (the ``family`` tag says which)."""
    return spec_models()[data["family"]].model_validate(data)
