"""PNG renders of sampled levels, for `gymsmith show`, `generate` and reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from gymsmith.envs.family import family_for, family_of, make_env
from gymsmith.schemas import EnvSpec, TargetEnv


def render_config(config: EnvSpec, seed: int = 0) -> dict[str, np.ndarray]:
    """Named RGB images of one sampled level (Crafter gives a local view and the world map), or of the target."""
    if isinstance(config, TargetEnv):
        return family_for(config.env_id).render_target(seed)
    return family_of(config).render(config, seed)


def save_render(config: Any, path: str | Path, seed: int = 0) -> list[Path]:
    """Write one PNG per view; a single view keeps the given name, several get a suffix each."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    views = render_config(config, seed)
    written = []
    for name, image in views.items():
        target = path if len(views) == 1 else path.with_name(f"{path.stem}_{name}.png")
        Image.fromarray(np.asarray(image, dtype=np.uint8)).save(target)
        written.append(target)
    return written


def save_rollout_gif(config: Any, path: str | Path, seed: int = 0, steps: int = 64, fps: int = 8) -> Path:
    """A short random-policy rollout of one sampled level as a GIF: shows the dynamics a still cannot.

    A new episode (next seed) starts when one ends, so the GIF always has ``steps + 1`` frames.
    """
    import imageio.v2 as imageio

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    family = family_of(config)
    env = make_env(config, render_mode="rgb_array")

    def _frame(env: Any) -> np.ndarray:
        frame = np.asarray(family.frame(env), dtype=np.uint8)
        if frame.shape[0] < 128:  # a small view (Crafter's 64x64): upscale so the GIF is legible
            factor = 256 // frame.shape[0]
            frame = frame.repeat(factor, axis=0).repeat(factor, axis=1)
        return frame

    try:
        env.reset(seed=seed)
        env.action_space.seed(seed)
        frames = [_frame(env)]
        episode = 0
        for _ in range(steps):
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            if terminated or truncated:
                episode += 1
                env.reset(seed=seed + episode)
            frames.append(_frame(env))
    finally:
        env.close()
    imageio.mimsave(path, frames, duration=1000 / fps, loop=0)
    return path
