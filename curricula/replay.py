"""``llm-replay``: the LLM writes level *generators* rarely; level replay and ACCEL-style edits work inside them.

EnvGen asks the LLM for new environments every cycle and only compares against level-replay curricula; OMNI and
SFL show that learnability (the agent succeeds sometimes) is the signal to train on. This strategy combines them:

* **Generators from the LLM, rarely.** The LLM proposes specs (each a distribution of levels) in the first cycle,
  every ``llm_every`` cycles, and sooner when target success stalls (no rise of ``stall_delta`` over
  ``stall_cycles`` cycles). Between calls no LLM time is spent.
* **Level replay inside them (PLR).** A level is a (generator, seed) pair; ``seeds_per_generator`` seeds are
  drawn per generator. Seen levels are replayed by P_replay = (1 - rho) P_S + rho P_C, the rank prioritisation
  of their positive value loss mixed with staleness (Jiang et al. 2021, eq. 3, the same functions `plr` uses);
  unseen levels are explored uniformly with probability 1 - ``replay_prob``.
* **The family's generators stay underneath.** The pool starts with the family's own level generators, the ones
  `plr` replays (variants of the target's structure and the target), so what the LLM writes adds to level replay
  instead of replacing it: on a four-room target `plr` reached 0.70 where the LLM's six-room chains alone left
  the hybrid at 0.00 (BENCHMARKS.md). They are never pruned (``family_sources`` turns this off).
* **Edits (ACCEL, Parker-Holder et al. 2022).** Each cycle the most learnable generators — learnability
  4p(1-p) of their training success p — get small edits of one parameter (`Family.mutate`); an edit is verified
  like any spec, joins the pool, and is dropped once tried if its learnability falls below
  ``keep_learnability``. The pool keeps at most ``max_generators`` generators (the LLM's newest always stay).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gymsmith.config import PaceSettings, ReplaySettings
from gymsmith.curricula.base import Artifacts, CycleOutcome, Decision, Strategy, per_source_success
from gymsmith.curricula.classic import MAX_SEED, replay_distribution
from gymsmith.curricula.llm import learnability
from gymsmith.curricula.pace import accept_proposal
from gymsmith.envs.family import Family
from gymsmith.generator.proposer import Proposer
from gymsmith.generator.verifier import verify_env_config
from gymsmith.schemas import EnvSpec, Feedback, MixtureEntry, RejectedSpec, TaskSpec, spec_models


def should_ask(history: list[Feedback], last_call: int | None, settings: ReplaySettings) -> bool:
    """Ask the LLM in the first cycle, every ``llm_every`` cycles, or when target success stalled since the
    last call (best of the last ``stall_cycles`` cycles no better than the best before them + ``stall_delta``)."""
    cycle = len(history)
    if last_call is None:
        return True
    if cycle - last_call >= settings.llm_every:
        return True
    window = settings.stall_cycles
    since = cycle - last_call
    if window <= 0 or since < window or len(history) <= window:
        return False
    recent = max(f.target_success for f in history[-window:])
    before = max(f.target_success for f in history[:-window])
    return recent < before + settings.stall_delta and recent < 1.0


class LLMReplay(Strategy):
    """Rare LLM generators + PLR over (generator, seed) levels + ACCEL-style edits kept when learnable."""

    name = "llm-replay"

    def __init__(
        self,
        family: Family,
        task: TaskSpec,
        proposer: Proposer,
        settings: ReplaySettings | None = None,
        target_ratio: float = 0.25,
        seed: int = 0,
        pace: PaceSettings | None = None,
    ) -> None:
        super().__init__(family, task, target_ratio, seed)
        family.require_expressible("the llm-replay curriculum")
        self.proposer = proposer
        self.settings = settings or ReplaySettings()
        self.pace = pace or PaceSettings()
        #: The pool: {"spec", "origin" (family|llm|edit), "added" (cycle), "success" (last p or None), "digest"}.
        self.generators: list[dict[str, Any]] = []
        #: Levels as (generator digest, seed), with PLR's per-level state.
        self.levels: list[tuple[str, int]] = []
        self.scores = np.zeros(0)
        self.seen = np.zeros(0, dtype=bool)
        self.last_sampled = np.zeros(0, dtype=int)
        self.episodes = 0
        self.last_call: int | None = None
        self._entries: list[tuple[str, int | None]] = []
        self._offset: int | None = None
        if self.settings.family_sources:
            for spec in family.plr_sources():
                self._add(spec, "family", cycle=0)

    # ------------------------------------------------------------------------------------------ the pool

    def _rng(self, cycle: int, salt: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, cycle, salt])

    def _add(self, spec: EnvSpec, origin: str, cycle: int) -> bool:
        digest = self.family.structure(spec)
        if any(g["digest"] == digest for g in self.generators):
            return False
        self.generators.append({"spec": spec.model_dump(mode="json"), "origin": origin, "added": cycle,
                                "success": None, "digest": digest})
        rng = self._rng(cycle, len(self.generators))
        seeds = [int(s) for s in rng.integers(MAX_SEED, size=self.settings.seeds_per_generator)]
        self._extend([(digest, s) for s in seeds])
        return True

    def _extend(self, levels: list[tuple[str, int]]) -> None:
        self.levels += levels
        n = len(levels)
        self.scores = np.append(self.scores, np.zeros(n))
        self.seen = np.append(self.seen, np.zeros(n, dtype=bool))
        self.last_sampled = np.append(self.last_sampled, np.zeros(n, dtype=int))

    def _drop(self, digests: set[str]) -> None:
        keep = [i for i, (d, _) in enumerate(self.levels) if d not in digests]
        self.levels = [self.levels[i] for i in keep]
        self.scores, self.seen, self.last_sampled = self.scores[keep], self.seen[keep], self.last_sampled[keep]
        self.generators = [g for g in self.generators if g["digest"] not in digests]

    def _learnability(self, g: dict[str, Any]) -> float:
        return learnability(g["success"], floor=0.0, mastered=1.0) if g["success"] is not None else 0.0

    def _ask(self, history: list[Feedback], artifacts: Artifacts) -> None:
        cycle = len(history)
        proposal = self.proposer.propose(self.task, history[-1] if history else None, cycle=cycle)
        artifacts.proposals.append(proposal)
        artifacts.llm_calls.extend(proposal.llm_calls)
        artifacts.rejected.extend(proposal.rejected)
        artifacts.goals.extend(proposal.goals)
        feedback = history[-1] if history else None
        pool = {g["digest"] for g in self.generators}
        for spec in accept_proposal(self.proposer, self.task, proposal, feedback, artifacts, self.pace, cycle,
                                    known=pool.__contains__):
            self._add(spec, "llm", cycle)
        self.last_call = cycle

    def _verified_add(self, spec: EnvSpec, origin: str, cycle: int, artifacts: Artifacts) -> None:
        if any(g["digest"] == self.family.structure(spec) for g in self.generators):
            return
        verdict = verify_env_config(spec, self.family)
        artifacts.verdicts.append(verdict)
        if verdict.accepted:
            self._add(spec, origin, cycle)
        else:
            artifacts.rejected.append(RejectedSpec(spec=spec.model_dump(mode="json"), reason=verdict.reason()))

    def _edit(self, cycle: int, artifacts: Artifacts) -> None:
        """Edit the most learnable tried generators (ACCEL); prune edits that turned out unlearnable."""
        s = self.settings
        tried_edits = {g["digest"] for g in self.generators
                       if g["origin"] == "edit" and g["success"] is not None
                       and self._learnability(g) < s.keep_learnability}  # fmt: skip
        self._drop(tried_edits)
        parents = sorted((g for g in self.generators if self._learnability(g) > 0), key=self._learnability,
                         reverse=True)[: s.edits_per_cycle]
        rng = self._rng(cycle, 0xACCE1)
        for k, parent in enumerate(parents):
            spec = _spec(parent["spec"])
            child = self.family.mutate(spec, rng, name=f"{spec.name}-e{cycle}.{k}"[:60])
            if child is not None:
                self._verified_add(child, "edit", cycle, artifacts)
        added = [g for g in self.generators if g["origin"] != "family"]
        overflow = len(added) - s.max_generators
        if overflow > 0:
            newest_llm = max((g["added"] for g in added if g["origin"] == "llm"), default=-1)
            removable = [g for g in added if not (g["origin"] == "llm" and g["added"] == newest_llm)]
            removable.sort(key=lambda g: (g["success"] is not None, -self._learnability(g)), reverse=True)
            self._drop({g["digest"] for g in removable[:overflow]})

    # ------------------------------------------------------------------------------------------ replay

    def level_probabilities(self) -> np.ndarray:
        """p P_replay over seen levels and (1 - p) uniform over unseen ones (PLR's replay decision)."""
        n = len(self.levels)
        n_seen = int(self.seen.sum())
        replay = 0.0 if n_seen == 0 else 1.0 if n_seen == n else self.settings.replay_prob
        probs = np.zeros(n)
        if n_seen and replay > 0:
            s = self.settings
            probs[self.seen] = replay * replay_distribution(
                self.scores[self.seen], self.last_sampled[self.seen], self.episodes, s.beta, s.rho
            )
        if n - n_seen and replay < 1:
            probs[~self.seen] = (1.0 - replay) / (n - n_seen)
        return probs

    def decide(self, history: list[Feedback]) -> Decision:
        cycle = len(history)
        artifacts = Artifacts()
        if should_ask(history, self.last_call, self.settings):
            self._ask(history, artifacts)
        if cycle > 0:
            self._edit(cycle, artifacts)
        specs = {g["digest"]: _spec(g["spec"]) for g in self.generators}
        probs = self.level_probabilities()
        entries: list[MixtureEntry] = []
        self._entries = []
        for i in np.flatnonzero(self.seen & (probs > 0)):
            digest, level_seed = self.levels[i]
            entries.append(MixtureEntry(source=specs[digest], weight=float(probs[i]), seeds=[level_seed]))
            self._entries.append((digest, level_seed))
        unseen: dict[str, list[int]] = {}
        for i in np.flatnonzero(~self.seen & (probs > 0)):
            digest, level_seed = self.levels[i]
            unseen.setdefault(digest, []).append(level_seed)
        index = {level: i for i, level in enumerate(self.levels)}
        for digest, seeds in unseen.items():
            weight = float(sum(probs[index[(digest, s)]] for s in seeds))
            entries.append(MixtureEntry(source=specs[digest], weight=weight, seeds=seeds))
            self._entries.append((digest, None))
        mixture = self.with_target(entries)
        self._offset = self.offset_of(mixture, entries)
        return Decision(mixture, artifacts)

    def update(self, outcome: CycleOutcome) -> None:
        """Per episode, PLR's score and staleness for its level; per generator, its training success p."""
        if self._offset is None:
            return
        index = {level: i for i, level in enumerate(self.levels)}
        for entry, level_seed, score in zip(outcome.log.sources, outcome.log.level_seeds, outcome.log.value_losses,
                                            strict=True):
            k = entry - self._offset
            if not 0 <= k < len(self._entries) or not np.isfinite(score):
                continue
            i = index.get((self._entries[k][0], level_seed))
            if i is None:
                continue
            self.episodes += 1
            self.last_sampled[i] = self.episodes
            self.scores[i] = score
            self.seen[i] = True
        by_digest: dict[str, list[float]] = {}
        stats = per_source_success(outcome.mixture, outcome.log)
        for k, stat in enumerate(stats[self._offset:]):
            if stat.n and k < len(self._entries):
                by_digest.setdefault(self._entries[k][0], []).extend([stat.mean] * stat.n)
        for g in self.generators:
            values = by_digest.get(g["digest"])
            if values:
                g["success"] = float(np.mean(values))

    # ------------------------------------------------------------------------------------------- state

    def state_dict(self) -> dict[str, Any]:
        return {
            "generators": self.generators,
            "levels": [list(level) for level in self.levels],
            "scores": self.scores.tolist(),
            "seen": self.seen.astype(int).tolist(),
            "last_sampled": self.last_sampled.tolist(),
            "episodes": self.episodes,
            "last_call": self.last_call,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not state:
            return
        self.generators = [dict(g) for g in state["generators"]]
        self.levels = [(str(d), int(s)) for d, s in state["levels"]]
        self.scores = np.asarray(state["scores"], dtype=float)
        self.seen = np.asarray(state["seen"], dtype=bool)
        self.last_sampled = np.asarray(state["last_sampled"], dtype=int)
        self.episodes = int(state["episodes"])
        self.last_call = state["last_call"]


def _spec(data: dict[str, Any]) -> EnvSpec:
    return spec_models()[data["family"]].model_validate(data)
