"""PNG renders of sampled levels, for `gymsmith show`, `generate` and reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from gymsmith.schemas import CrafterWorldSpec, GymKwargsSpec, MiniGridLevelSpec


def render_config(config: Any, seed: int = 0) -> dict[str, np.ndarray]:
    """Named RGB images of one sampled level (Crafter gives a local view and the world map)."""
    if isinstance(config, MiniGridLevelSpec):
        from gymsmith.envs.minigrid_family import render_level

        return {"grid": render_level(config, seed)}
    if isinstance(config, CrafterWorldSpec):
        from gymsmith.envs.crafter_family import render_views

        return render_views(config, seed)
    if isinstance(config, GymKwargsSpec):
        import gymnasium as gym

        env = gym.make(config.env_id, render_mode="rgb_array", **config.kwargs)
        try:
            env.reset(seed=seed)
            frame = env.render()
            if hasattr(env.unwrapped, "get_frame"):  # MiniGrid: the full grid, not the agent's view
                frame = env.unwrapped.get_frame(highlight=False, tile_size=16)
            return {"frame": np.asarray(frame)}
        finally:
            env.close()
    raise TypeError(f"cannot render {type(config).__name__}")


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


def _frame(env: Any) -> np.ndarray:
    """What one rollout frame shows: the full grid for MiniGrid, the agent's view for Crafter."""
    base = env.unwrapped
    if hasattr(base, "get_frame"):  # MiniGrid: the whole level, so the agent's moves are visible
        return np.asarray(base.get_frame(highlight=True, tile_size=16))
    frame = env.render()
    if frame is None:
        raise RuntimeError(f"{type(base).__name__} renders no rgb_array frames")
    frame = np.asarray(frame, dtype=np.uint8)
    if frame.shape[0] < 128:  # Crafter's 64x64 view: upscale so the GIF is legible
        factor = 256 // frame.shape[0]
        frame = frame.repeat(factor, axis=0).repeat(factor, axis=1)
    return frame


def save_rollout_gif(config: Any, path: str | Path, seed: int = 0, steps: int = 64, fps: int = 8) -> Path:
    """A short random-policy rollout of one sampled level as a GIF: shows the dynamics a still cannot.

    A new episode (next seed) starts when one ends, so the GIF always has ``steps + 1`` frames.
    """
    import imageio.v2 as imageio

    from gymsmith.envs.mixture import make_source_env

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(config, CrafterWorldSpec):  # the mixture builder makes Crafter envs without rendering
        from gymsmith.envs.crafter_family import CrafterGenEnv

        env: Any = CrafterGenEnv(config, render_mode="rgb_array")
    else:
        env = make_source_env(config, render_mode="rgb_array")
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
