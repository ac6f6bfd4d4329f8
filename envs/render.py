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
