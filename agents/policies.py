"""Feature extractors and the policy choice for gymsmith's observation conventions."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import torch
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn


class CategoricalGridExtractor(BaseFeaturesExtractor):
    """One-hot a small grid of category ids (e.g. MiniGrid's symbolic 7x7 view), then a small conv net.

    Such observations are category ids, not intensities: scaling them like pixels (SB3's default for uint8
    images) squashes the distinctions the agent needs, and a CNN sized for Atari cannot take a 7x7 input. The
    family says how many categories each channel has (`Family.obs_categories`). The widths (16 and 32 filters,
    64 features) are what the PPO update's cost is: 32/64/128 made each minibatch update 3x dearer and was most
    of a training run's CPU time, with no gain on the MiniGrid outcome benchmark (BENCHMARKS.md).
    """

    def __init__(
        self,
        observation_space: gym.spaces.Box,
        categories: tuple[int, ...],
        features_dim: int = 64,
        filters: tuple[int, int] = (16, 32),
    ) -> None:
        super().__init__(observation_space, features_dim)
        self.categories = tuple(int(c) for c in categories)
        # SB3 transposes uint8 image spaces to channels-first (VecTransposeImage); accept either layout
        shape = observation_space.shape
        self.channels_first = shape[0] == 3 and shape[-1] != 3
        spatial = shape[1:] if self.channels_first else shape[:2]
        channels = self.width = sum(self.categories)
        starts = [sum(self.categories[:i]) for i in range(len(self.categories))]
        self.register_buffer("offsets", torch.tensor(starts, dtype=torch.long), persistent=False)
        self.register_buffer("top", torch.tensor([c - 1 for c in self.categories], dtype=torch.long),
                             persistent=False)
        self.net = nn.Sequential(
            nn.Conv2d(channels, filters[0], 2),
            nn.ReLU(),
            nn.Conv2d(filters[0], filters[1], 2),
            nn.ReLU(),
            nn.Flatten(),
        )
        with torch.no_grad():
            n_flat = self.net(torch.zeros(1, channels, *spatial)).shape[1]
        self.head = nn.Sequential(nn.Linear(n_flat, features_dim), nn.ReLU())

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        obs = observations.long()
        if self.channels_first:
            obs = obs.permute(0, 2, 3, 1)
        # the channels' one-hots side by side: one scatter at offset ids instead of a one_hot and cat per channel
        ids = obs.clamp_min(0).minimum(self.top) + self.offsets
        x = torch.zeros((*ids.shape[:-1], self.width), dtype=torch.float32, device=ids.device)
        x.scatter_(-1, ids, 1.0)
        return self.head(self.net(x.permute(0, 3, 1, 2)))


def policy_for(space: gym.Space, categories: tuple[int, ...] | None = None) -> tuple[str, dict[str, Any]]:
    """The SB3 policy and kwargs that suit the observations: categorical grids one-hot, images a CNN."""
    if categories is not None:
        return "CnnPolicy", {
            "features_extractor_class": CategoricalGridExtractor,
            "features_extractor_kwargs": {"categories": tuple(categories)},
            "normalize_images": False,
            "net_arch": {"pi": [64], "vf": [64]},
        }
    if isinstance(space, gym.spaces.Box) and len(space.shape) == 3:
        return "CnnPolicy", {}
    return "MlpPolicy", {}
