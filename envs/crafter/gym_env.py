"""Crafter under the Gymnasium API in gymsmith's info convention, maps and censuses of worlds, and the score."""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping
from typing import Any

import crafter
import gymnasium as gym
import numpy as np
from crafter import constants, engine

from gymsmith.envs.crafter.spec import CrafterWorldSpec
from gymsmith.envs.crafter.worldgen import SpecCrafter

#: The 22 Crafter achievements, in Crafter's order; the Crafter score is taken over exactly these.
CRAFTER_ACHIEVEMENTS: tuple[str, ...] = tuple(constants.achievements)


# ---------------------------------------------------------------------------------- Gymnasium envs


#: Keys of ``info["features"]``: every inventory count (vitals, materials, tools), position, daylight, progress.
CRAFTER_FEATURES: tuple[str, ...] = (
    *(f"inv_{item}" for item in constants.items),
    "player_x", "player_y", "daylight", "achievements", "step",
)  # fmt: skip


def _no_semantic_map() -> None:
    return None


class CrafterGymEnv(gym.Env):
    """Crafter under the Gymnasium API in gymsmith's info convention.

    ``info["events"]`` are the achievements unlocked for the first time in the episode (the moments Crafter
    rewards), so per-skill success is "the event happened in the episode"; ``info["features"]`` are the
    symbolic quantities reward programs read; on the last step ``info["success"]`` is the share of the 22
    achievements the episode unlocked (Crafter has no single success, so this graded value is what per-world
    training success means). Crafter's full semantic map stays out of ``info`` (32 KB a step through worker
    pipes); `crafter_env` exposes it to code that needs it.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(
        self,
        seed: int | None = None,
        render_mode: str | None = None,
        area: int = 64,
        length: int = 10000,
        reward: bool = True,
    ) -> None:
        self._area, self._length = area, length
        self._reward = reward
        self._setup(seed, render_mode)

    def _setup(self, seed: int | None, render_mode: str | None) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode {render_mode!r} is not supported; use 'rgb_array'")
        self.render_mode = render_mode
        self._env = self._build(seed)
        # Crafter computes its semantic map on every step for info["semantic"], which this env drops (see the
        # class docstring); `crafter_env` still serves the world to code that needs it.
        self._env._sem_view = _no_semantic_map
        self.observation_space = gym.spaces.Box(0, 255, (*self._env._size, 3), np.uint8)
        self.action_space = gym.spaces.Discrete(len(constants.actions))
        self._unlocked: set[str] = set()

    def _build(self, seed: int | None) -> crafter.Env:
        # The default spec generates Crafter's own worlds seed for seed (tests compare every cell and creature),
        # with the vectorised generator (reset ~20x faster) and renderer (same pixels, ~2x cheaper).
        return SpecCrafter(CrafterWorldSpec(area=self._area, length=self._length), seed=seed)

    @property
    def crafter_env(self) -> crafter.Env:
        """The underlying Crafter env (world, player), for maps, probes and tests."""
        return self._env

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if seed is not None:
            # Crafter derives each world from (seed, episode index): restart the count so a seed is a level.
            self._env._seed = int(seed)
            self._env._episode = 0
        obs = self._env.reset()
        self._unlocked = set()
        player = self._env._player
        info = {
            "inventory": player.inventory.copy(),
            "achievements": player.achievements.copy(),
            "discount": 1.0,
            "player_pos": player.pos.copy(),
            "reward": 0.0,
            "events": [],
            "features": self.features(),
        }
        return obs, info

    def features(self) -> dict[str, float]:
        env = self._env
        player = env._player
        values = {f"inv_{item}": float(count) for item, count in player.inventory.items()}
        values["player_x"], values["player_y"] = float(player.pos[0]), float(player.pos[1])
        values["daylight"] = float(env._world.daylight)
        values["achievements"] = float(len(self._unlocked))
        values["step"] = float(env._step)
        return values

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        obs, reward, done, info = self._env.step(int(action))
        info.pop("semantic", None)
        events = [
            name for name, count in info["achievements"].items() if count and name not in self._unlocked
        ]
        if events:
            self._unlocked.update(events)
        info["events"] = events
        info["player_pos"] = info["player_pos"].copy()  # Crafter hands out the player's own array
        info["features"] = self.features()
        terminated = info["discount"] == 0.0
        truncated = bool(done) and not terminated
        if terminated or truncated:
            info["success"] = len(self._unlocked) / len(CRAFTER_ACHIEVEMENTS)
        return obs, float(reward) if self._reward else 0.0, terminated, truncated, info

    def render(self) -> np.ndarray | None:
        if self.render_mode == "rgb_array":
            return self._env.render()
        return None


class CrafterGenEnv(CrafterGymEnv):
    """A world sampled from a `CrafterWorldSpec`; ``reset(seed=s)`` always yields the same world for ``s``."""

    def __init__(
        self,
        spec: CrafterWorldSpec | Mapping[str, Any] | None = None,
        seed: int | None = None,
        render_mode: str | None = None,
    ) -> None:
        if spec is None:
            spec = CrafterWorldSpec()
        elif not isinstance(spec, CrafterWorldSpec):
            spec = CrafterWorldSpec.model_validate(dict(spec))
        # Not ``self.spec``: gymnasium.make stores its EnvSpec there.
        self.world_spec = spec
        self._area, self._length = spec.area, spec.length
        self._reward = True
        self._setup(seed, render_mode)

    def _build(self, seed: int | None) -> crafter.Env:
        return SpecCrafter(self.world_spec, seed=seed)


# ------------------------------------------------------------------------------------- maps & census


@functools.lru_cache(maxsize=1)
def _textures() -> engine.Textures:
    return engine.Textures(constants.root / "assets")


def _resolve(env: Any) -> crafter.Env:
    base = getattr(env, "unwrapped", env)
    inner = base.crafter_env if isinstance(base, CrafterGymEnv) else base
    if not isinstance(inner, crafter.Env):
        raise TypeError(f"expected a Crafter env, got {type(env).__name__}")
    if inner._player is None:
        raise RuntimeError("the env has no world yet: call reset() first")
    return inner


def render_world_map(env: Any, unit: int = 8) -> np.ndarray:
    """The whole world as one RGB image (``area*unit`` pixels square), for reports and spec previews.

    Unlike the observation it ignores daylight and the view window, so it shows what the spec generated.
    """
    inner = _resolve(env)
    world = inner._world
    textures = _textures()
    width, height = world.area
    canvas = np.zeros((width * unit, height * unit, 3), np.uint8)
    tiles: dict[str, np.ndarray] = {}
    for x in range(width):
        for y in range(height):
            name = world[x, y][0]
            if name not in tiles:
                tiles[name] = textures.get(name, (unit, unit))[..., :3]
            canvas[x * unit : (x + 1) * unit, y * unit : (y + 1) * unit] = tiles[name]
    for obj in world.objects:
        x, y = int(obj.pos[0]), int(obj.pos[1])
        texture = textures.get(obj.texture, (unit, unit))
        cell = canvas[x * unit : (x + 1) * unit, y * unit : (y + 1) * unit]
        if texture.shape[-1] == 4:
            alpha = texture[..., 3:].astype(np.float32) / 255
            blended = alpha * texture[..., :3].astype(np.float32) + (1 - alpha) * cell.astype(np.float32)
            cell[:] = blended.astype(np.uint8)
        else:
            cell[:] = texture
    return canvas.transpose((1, 0, 2))


def render_views(
    spec: CrafterWorldSpec | Mapping[str, Any], seed: int = 0, unit: int = 8
) -> dict[str, np.ndarray]:
    """The agent's first observation and the whole world map of one sampled world (for `gymsmith show`)."""
    env = CrafterGenEnv(spec, render_mode="rgb_array")
    try:
        obs, _ = env.reset(seed=seed)
        return {"local": obs, "map": render_world_map(env, unit=unit)}
    finally:
        env.close()


def world_census(env: Any) -> dict[str, int]:
    """Counts of every material and creature in the current world: what a spec actually produced."""
    inner = _resolve(env)
    world = inner._world
    counts = {name: int(world.count(name)) for name in constants.materials}
    for kind in ("cow", "zombie", "skeleton", "arrow", "plant"):
        counts[kind] = 0
    for obj in world.objects:
        kind = type(obj).__name__.lower()
        if kind in counts:
            counts[kind] += 1
    return counts


# ------------------------------------------------------------------------------------------- scoring


def achievement_success_rates(episodes: Iterable[Mapping[str, int]]) -> dict[str, float]:
    """Per-achievement success rate in percent (share of episodes where it was unlocked at least once).

    Takes the final ``info["achievements"]`` of each episode; this is the input of the Crafter score.
    """
    episodes = list(episodes)
    if not episodes:
        raise ValueError("no episodes: success rates are undefined")
    return {
        name: 100.0 * sum(1 for ep in episodes if ep.get(name, 0) > 0) / len(episodes)
        for name in CRAFTER_ACHIEVEMENTS
    }


def crafter_score(success_rates_percent: Mapping[str, float]) -> float:
    """The Crafter score (Hafner 2021): geometric mean of ``1 + s_i`` over the 22 achievements, minus 1.

    Missing achievements count as 0 %; unknown names raise, because a typo would silently lower the score.
    """
    unknown = set(success_rates_percent) - set(CRAFTER_ACHIEVEMENTS)
    if unknown:
        raise ValueError(f"unknown achievements: {sorted(unknown)}")
    logs = [math.log1p(float(success_rates_percent.get(name, 0.0))) for name in CRAFTER_ACHIEVEMENTS]
    return math.exp(sum(logs) / len(logs)) - 1
