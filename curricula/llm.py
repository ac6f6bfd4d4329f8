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

from gymsmith.config import LLMCurriculumSettings
from gymsmith.curricula.base import Artifacts, CycleOutcome, Strategy, per_source_success
from gymsmith.generator.proposer import Proposer
from gymsmith.generator.verifier import verify_env_config
from gymsmith.schemas import EnvMixture, Feedback, MiniGridLevelSpec, MixtureEntry, RejectedSpec, TaskSpec


def _structure(spec: MiniGridLevelSpec) -> str:
    return spec.model_copy(update={"name": ""}).digest()


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
        task: TaskSpec,
        proposer: Proposer,
        target_ratio: float = 0.25,
        seed: int = 0,
        settings: LLMCurriculumSettings | None = None,
    ) -> None:
        super().__init__(task.target_env, target_ratio, seed)
        self.task = task
        self.proposer = proposer
        self.settings = settings or LLMCurriculumSettings()
        #: Accepted specs of the last cycle that produced any: the fallback when a proposal yields nothing.
        self.current: list[MiniGridLevelSpec] = []
        #: ``archive`` mode: every accepted level, oldest first, with its last measured training success.
        self.archive: list[dict[str, Any]] = []

    def next_mixture(self, history: list[Feedback]) -> EnvMixture:
        cycle = len(history)
        feedback = history[-1] if history else None
        notes = self._mastered_notes() if self.settings.mixture == "archive" else None
        proposal = self.proposer.propose(self.task, feedback, cycle=cycle, notes=notes)
        artifacts = Artifacts(proposals=[proposal], llm_calls=list(proposal.llm_calls))
        artifacts.rejected.extend(proposal.rejected)
        accepted: list[MiniGridLevelSpec] = []
        seen: set[str] = set()
        for spec in proposal.env_configs:
            digest = _structure(spec)  # type: ignore[arg-type]
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
        if self.settings.mixture == "archive":
            return self.with_target(self._archive_entries(self.current))
        return self.with_target([MixtureEntry(source=s, weight=1.0) for s in self.current])

    def _mastered_notes(self) -> dict[str, Any] | None:
        """A small model keeps re-proposing what it proposed before; telling it which levels are already
        solved (measured, across all past cycles) is what moves its next proposal towards the target."""
        threshold = self.settings.mastered
        mastered = [item["spec"] for item in self.archive if item["success"] is not None
                    and item["success"] >= threshold]  # fmt: skip
        if not mastered:
            return None
        shown = [{k: v for k, v in spec.items() if k not in ("family", "max_steps")} for spec in mastered]
        return {"mastered": shown, "threshold": threshold, "max_size": max(spec["size"] for spec in mastered)}

    def _archive_entries(self, newest: list[MiniGridLevelSpec]) -> list[MixtureEntry]:
        known = {item["digest"]: item for item in self.archive}
        newest_digests: dict[str, None] = {}  # ordered set
        for spec in newest:
            digest = _structure(spec)
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
            MixtureEntry(
                source=MiniGridLevelSpec(**item["spec"]), weight=learnability(item["success"], floor, mastered)
            )
            for item in chosen
        ]

    def update(self, outcome: CycleOutcome) -> None:
        """Record each archived level's training success from this cycle's episodes."""
        if self.settings.mixture != "archive":
            return
        known = {item["digest"]: item for item in self.archive}
        for entry, stat in zip(outcome.mixture.entries, per_source_success(outcome.mixture, outcome.log), strict=True):
            if isinstance(entry.source, MiniGridLevelSpec) and stat.n > 0:
                item = known.get(_structure(entry.source))
                if item is not None:
                    item["success"] = stat.mean

    def state_dict(self) -> dict[str, Any]:
        return {"current": [s.model_dump(mode="json") for s in self.current], "archive": self.archive}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.current = [MiniGridLevelSpec(**s) for s in state.get("current", [])]
        self.archive = [dict(item) for item in state.get("archive", [])]
