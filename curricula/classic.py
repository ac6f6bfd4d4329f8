"""The classic curricula the LLM curriculum is compared against: PLR, learning progress, domain randomisation.

All three draw from the target's family, the same ranges the LLM is allowed to propose from (`Family.random_spec`,
`plr_sources`, `ladder`), so a comparison measures how levels are *chosen*, not what can be expressed. Curriculum
choices are made once per cycle (an `EnvMixture`), but PLR and LP act at episode granularity inside a cycle:
PLR pins exact level seeds with one mixture entry per replayed level (weights = its replay distribution), and
both read the per-episode `EpisodeLog` after the cycle to update their scores.

Every strategy is deterministic given the run seed and its `state_dict`, so a resumed run continues the same
curriculum.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gymsmith.config import DRSettings, LPSettings, PLRSettings
from gymsmith.curricula.base import Artifacts, CycleOutcome, Decision, Strategy
from gymsmith.envs.family import Family
from gymsmith.schemas import EnvSpec, Feedback, MixtureEntry, TargetEnv, TaskSpec

#: Largest level seed handed to an env (numpy seeds must fit in 32 bits).
MAX_SEED = 2**31 - 1


# ------------------------------------------------------------------------------------------------- PLR


def rank_weights(scores: np.ndarray, beta: float) -> np.ndarray:
    """P_S(l_i) = h(S_i)^(1/beta) / sum_j h(S_j)^(1/beta) with h(S_i) = 1/rank(S_i), rank 1 = highest score.

    Ties are broken by level order so the distribution is deterministic.
    """
    scores = np.asarray(scores, dtype=float)
    if scores.size == 0:
        return scores
    order = np.argsort(-scores, kind="stable")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    # computed in log space: (1/rank)^(1/beta) underflows for small beta and long level lists
    logits = -np.log(ranks) / beta
    weights = np.exp(logits - logits.max())
    return weights / weights.sum()


def staleness_weights(last_sampled: np.ndarray, episodes: int) -> np.ndarray:
    """P_C(l_i) = (c - C_i) / sum_j (c - C_j): c episodes so far, C_i the episode count when l_i last ran.

    When every level was just sampled (all terms zero) staleness expresses no preference: uniform.
    """
    staleness = episodes - np.asarray(last_sampled, dtype=float)
    total = staleness.sum()
    if staleness.size == 0:
        return staleness
    if total <= 0:
        return np.full(len(staleness), 1.0 / len(staleness))
    return staleness / total


def replay_distribution(
    scores: np.ndarray, last_sampled: np.ndarray, episodes: int, beta: float, rho: float
) -> np.ndarray:
    """P_replay = (1 - rho) P_S + rho P_C over the seen levels (Jiang et al. 2021, eq. 3)."""
    return (1.0 - rho) * rank_weights(scores, beta) + rho * staleness_weights(last_sampled, episodes)


class PrioritizedLevelReplay(Strategy):
    """PLR over a fixed training set of (source, seed) levels, scored by positive value loss.

    Per cycle, a share ``replay_prob`` of the curriculum's episodes replays seen levels by P_replay and the rest
    explores unseen levels uniformly (the paper's replay decision P_D, taken per episode by the mixture
    sampler). Scores and staleness are updated episode by episode, in completion order, from the cycle's log.
    """

    name = "plr"

    def __init__(
        self,
        family: Family,
        task: TaskSpec,
        settings: PLRSettings | None = None,
        target_ratio: float = 0.25,
        seed: int = 0,
        sources: list[EnvSpec] | None = None,
    ) -> None:
        super().__init__(family, task, target_ratio, seed)
        self.settings = settings or PLRSettings()
        #: The level generators: the family's (none when it cannot express the target) plus the target itself,
        #: so a level is a (generator, seed) pair and replaying one reproduces it exactly.
        self.sources = sources if sources is not None else [*family.plr_sources(), TargetEnv(env_id=self.target_env)]
        self.levels = self._draw_levels(self.settings.num_levels)
        self._reindex()
        n = len(self.levels)
        self.scores = np.zeros(n)
        self.seen = np.zeros(n, dtype=bool)
        self.last_sampled = np.zeros(n, dtype=int)
        #: c in the paper: PLR episodes finished so far (episodes on the target-ratio share are not PLR's).
        self.episodes = 0
        #: Per own mixture entry of the current cycle, its source; and where own entries start in the mixture.
        self._entry_sources: list[int] = []
        self._offset: int | None = None

    def _draw_levels(self, n: int) -> list[tuple[int, int]]:
        rng = np.random.default_rng([self.seed, 0x504C52])
        levels: list[tuple[int, int]] = []
        known: set[tuple[int, int]] = set()
        while len(levels) < n:
            level = (int(rng.integers(len(self.sources))), int(rng.integers(MAX_SEED)))
            if level not in known:
                known.add(level)
                levels.append(level)
        return levels

    def _reindex(self) -> None:
        self._index: dict[tuple[int, int], int] = {level: i for i, level in enumerate(self.levels)}

    def level_probabilities(self) -> np.ndarray:
        """Probability of each level in the next cycle's curriculum share: p P_replay on seen, 1 - p on unseen."""
        n = len(self.levels)
        n_seen = int(self.seen.sum())
        n_unseen = n - n_seen
        if n_seen == 0:
            replay = 0.0
        elif n_unseen == 0:
            replay = 1.0
        else:
            replay = self.settings.replay_prob
        probs = np.zeros(n)
        if n_seen and replay > 0:
            s = self.settings
            probs[self.seen] = replay * replay_distribution(
                self.scores[self.seen], self.last_sampled[self.seen], self.episodes, s.beta, s.rho
            )
        if n_unseen and replay < 1:
            probs[~self.seen] = (1.0 - replay) / n_unseen
        return probs

    def decide(self, history: list[Feedback]) -> Decision:
        probs = self.level_probabilities()
        entries: list[MixtureEntry] = []
        self._entry_sources = []
        # replay: one entry per seen level, so that each level carries its own probability
        for i in np.flatnonzero(self.seen):
            if probs[i] > 0:
                source, seed = self.levels[i]
                entries.append(MixtureEntry(source=self.sources[source], weight=float(probs[i]), seeds=[seed]))
                self._entry_sources.append(source)
        # exploration: unseen levels uniformly, grouped by source (the sampler draws uniformly among pinned seeds)
        unseen: dict[int, list[int]] = {}
        for i in np.flatnonzero(~self.seen):
            if probs[i] > 0:
                source, seed = self.levels[i]
                unseen.setdefault(source, []).append(seed)
        for source, seeds in sorted(unseen.items()):
            weight = float(sum(probs[self._index[(source, s)]] for s in seeds))
            entries.append(MixtureEntry(source=self.sources[source], weight=weight, seeds=seeds))
            self._entry_sources.append(source)
        mixture = self.with_target(entries)
        self._offset = self.offset_of(mixture, entries)
        return Decision(mixture)

    def update(self, outcome: CycleOutcome) -> None:
        log = outcome.log
        offset = self._offset
        if offset is None:
            return
        alpha = self.settings.score_alpha
        for entry, seed, score in zip(log.sources, log.level_seeds, log.value_losses, strict=True):
            k = entry - offset
            if not 0 <= k < len(self._entry_sources) or not math.isfinite(score):
                continue  # the target-ratio share, or an episode whose rollout never completed
            level = self._index.get((self._entry_sources[k], seed))
            if level is None:
                continue
            self.episodes += 1
            self.last_sampled[level] = self.episodes
            self.scores[level] = (1 - alpha) * self.scores[level] + alpha * score if self.seen[level] else score
            self.seen[level] = True

    def state_dict(self) -> dict[str, Any]:
        return {
            "levels": [list(level) for level in self.levels],
            "scores": self.scores.tolist(),
            "seen": self.seen.astype(int).tolist(),
            "last_sampled": self.last_sampled.tolist(),
            "episodes": self.episodes,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not state:
            return
        self.levels = [(int(a), int(b)) for a, b in state["levels"]]
        if any(source >= len(self.sources) for source, _ in self.levels):
            raise ValueError("stored PLR levels refer to sources this version's family does not have")
        self.scores = np.asarray(state["scores"], dtype=float)
        self.seen = np.asarray(state["seen"], dtype=bool)
        self.last_sampled = np.asarray(state["last_sampled"], dtype=int)
        self.episodes = int(state["episodes"])
        self._reindex()


# ------------------------------------------------------------------------------------ learning progress


def lp_probabilities(lp: np.ndarray, known: np.ndarray, eps: float) -> np.ndarray:
    """p_i = eps / N + (1 - eps) w_i / sum_j w_j with w = smoothed |delta success|.

    Buckets without a measured delta yet get the largest known progress (optimism), so each is tried; if no
    bucket shows progress the distribution is uniform.
    """
    lp = np.asarray(lp, dtype=float)
    known = np.asarray(known, dtype=bool)
    n = len(lp)
    weights = np.where(known, lp, lp[known].max() if known.any() else 1.0)
    total = weights.sum()
    share = weights / total if total > 0 else np.full(n, 1.0 / n)
    return eps / n + (1.0 - eps) * share


class LearningProgress(Strategy):
    """Samples level buckets in proportion to how fast their training success is changing.

    Progress is |delta success| between consecutive measurements of a bucket (training episodes of the cycle),
    smoothed with an exponential moving average; an epsilon floor keeps every bucket measured.
    """

    name = "lp"

    def __init__(
        self,
        family: Family,
        task: TaskSpec,
        settings: LPSettings | None = None,
        target_ratio: float = 0.25,
        seed: int = 0,
        buckets: list[EnvSpec] | None = None,
    ) -> None:
        super().__init__(family, task, target_ratio, seed)
        self.settings = settings or LPSettings()
        self.buckets = buckets if buckets is not None else family.ladder()
        n = len(self.buckets)
        self.success: list[float | None] = [None] * n
        self.lp = np.zeros(n)
        self.measured = np.zeros(n, dtype=int)
        self._offset: int | None = None

    def probabilities(self) -> np.ndarray:
        return lp_probabilities(self.lp, self.measured >= 2, self.settings.eps)

    def decide(self, history: list[Feedback]) -> Decision:
        entries = [
            MixtureEntry(source=bucket, weight=float(p))
            for bucket, p in zip(self.buckets, self.probabilities(), strict=True)
        ]
        mixture = self.with_target(entries)
        self._offset = self.offset_of(mixture, entries)
        return Decision(mixture)

    def update(self, outcome: CycleOutcome) -> None:
        offset = self._offset
        if offset is None:
            return
        results: list[list[float]] = [[] for _ in self.buckets]
        for entry, success in zip(outcome.log.sources, outcome.log.successes, strict=True):
            k = entry - offset
            if 0 <= k < len(self.buckets):
                results[k].append(float(success))
        alpha = self.settings.alpha
        for k, values in enumerate(results):
            if not values:
                continue  # not sampled this cycle: its estimate stays as it was
            rate = float(np.mean(values))
            previous = self.success[k]
            if previous is not None:
                delta = abs(rate - previous)
                self.lp[k] = delta if self.measured[k] < 2 else (1 - alpha) * self.lp[k] + alpha * delta
            self.success[k] = rate
            self.measured[k] += 1

    def state_dict(self) -> dict[str, Any]:
        return {"success": list(self.success), "lp": self.lp.tolist(), "measured": self.measured.tolist()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not state:
            return
        self.success = [None if s is None else float(s) for s in state["success"]]
        self.lp = np.asarray(state["lp"], dtype=float)
        self.measured = np.asarray(state["measured"], dtype=int)


# ----------------------------------------------------------------------------------------------- DR


class DomainRandomization(Strategy):
    """Each cycle, fresh specs drawn uniformly over the family's ranges; unsolvable draws are re-drawn.

    Each spec is itself a distribution (levels re-sampled every episode), so with several specs per cycle the
    agent sees a near-uniform sample of the whole family. The draw depends only on (seed, cycle), so a resumed
    run trains on the same levels without stored state.
    """

    name = "dr"

    def __init__(
        self,
        family: Family,
        task: TaskSpec,
        settings: DRSettings | None = None,
        target_ratio: float = 0.25,
        seed: int = 0,
    ) -> None:
        super().__init__(family, task, target_ratio, seed)
        self.settings = settings or DRSettings()
        family.random_spec(np.random.default_rng(0), "probe")  # fail now, naming what is missing, not mid-run

    def sample(self, cycle: int) -> tuple[list[EnvSpec], Artifacts]:
        from gymsmith.generator.verifier import verify_env_config
        from gymsmith.schemas import RejectedSpec

        rng = np.random.default_rng([self.seed, cycle, 0x4452])
        k = self.settings.levels_per_cycle
        accepted: list[EnvSpec] = []
        artifacts = Artifacts()
        for _ in range(20 * k):
            if len(accepted) == k:
                break
            spec = self.family.random_spec(rng, name=f"dr-c{cycle}-{len(accepted)}")
            verdict = verify_env_config(spec, self.family)
            artifacts.verdicts.append(verdict)
            if verdict.accepted:
                accepted.append(spec)
            else:  # stored and reported, not shown as an error: rejection sampling is how DR stays valid
                artifacts.rejected.append(RejectedSpec(spec=spec.model_dump(mode="json"), reason=verdict.reason()))
        return accepted, artifacts

    def decide(self, history: list[Feedback]) -> Decision:
        specs, artifacts = self.sample(len(history))
        return Decision(self.with_target([MixtureEntry(source=s, weight=1.0) for s in specs]), artifacts)
