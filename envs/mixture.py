"""One Gymnasium env that trains on a weighted mixture of sources, re-sampled at every episode reset.

Sampling per episode (rather than pinning each vector slot to one source) keeps the mixture ratio exact in
expectation whatever the number of envs, and lets level-replay curricula (PLR) choose exact level seeds.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from gymsmith.envs.family import UnsolvableLevel, make_env
from gymsmith.schemas import EnvMixture, MixtureEntry

#: Fresh level seeds tried after a layout cannot be placed solvably, before the source is declared broken.
UNSOLVABLE_REDRAWS = 20


class MixtureEnv(gym.Env):
    """Samples a source per episode; spaces come from the first source, all sources must agree."""

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, mixture: EnvMixture | dict[str, Any], seed: int | None = None) -> None:
        self.mixture = mixture if isinstance(mixture, EnvMixture) else EnvMixture.model_validate(mixture)
        self._probs = np.asarray(self.mixture.probabilities())
        self._envs: dict[int, gym.Env] = {}
        first = self._env(0)
        self.observation_space = first.observation_space
        self.action_space = first.action_space
        self._rng = np.random.default_rng(seed)
        self._active = 0
        self.current_level: tuple[int, int] = (0, 0)
        #: resets that had to redraw the level seed because that seed's layout was unsolvable
        self.unsolvable_redraws = 0

    def _env(self, index: int) -> gym.Env:
        if index not in self._envs:
            env = make_env(self.mixture.entries[index].source)
            if self._envs:
                ref = self._envs[min(self._envs)]
                if env.observation_space != ref.observation_space or env.action_space != ref.action_space:
                    raise ValueError(
                        f"mixture source {index} has spaces {env.observation_space}/{env.action_space}, "
                        f"others have {ref.observation_space}/{ref.action_space}"
                    )
            self._envs[index] = env
        return self._envs[index]

    def set_mixture(self, mixture: EnvMixture) -> None:
        """Swap the mixture between cycles without rebuilding worker processes."""
        for env in self._envs.values():
            env.close()
        self.mixture = mixture
        self._probs = np.asarray(mixture.probabilities())
        self._envs = {}
        self._env(0)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self._active = int(self._rng.choice(len(self._probs), p=self._probs))
        entry: MixtureEntry = self.mixture.entries[self._active]
        level_seed = int(self._rng.choice(entry.seeds)) if entry.seeds else int(self._rng.integers(2**31 - 1))
        obs, info, level_seed = self._reset_source(level_seed, options)
        self.current_level = (self._active, level_seed)
        info["source"] = self._active
        info["level_seed"] = level_seed
        return obs, info

    def _reset_source(self, level_seed: int, options: dict[str, Any] | None) -> tuple[Any, dict, int]:
        """Verification checks a spec on a handful of seeds; a rare seed whose layout cannot be placed solvably
        must not end a long training run, so it is replaced by a fresh seed (and counted)."""
        env = self._env(self._active)
        for _ in range(UNSOLVABLE_REDRAWS):
            try:
                obs, info = env.reset(seed=level_seed, options=options)
                return obs, info, level_seed
            except UnsolvableLevel:
                self.unsolvable_redraws += 1
                level_seed = int(self._rng.integers(2**31 - 1))
        source = self.mixture.entries[self._active].source
        raise UnsolvableLevel(
            f"mixture source {self._active} ({source.model_dump_json()}) produced no solvable layout in "
            f"{UNSOLVABLE_REDRAWS} level seeds in a row"
        )

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        obs, reward, terminated, truncated, info = self._envs[self._active].step(action)
        info["source"] = self._active
        info["level_seed"] = self.current_level[1]
        return obs, float(reward), terminated, truncated, info

    def render(self) -> Any:
        return self._envs[self._active].render()

    def close(self) -> None:
        for env in self._envs.values():
            env.close()
