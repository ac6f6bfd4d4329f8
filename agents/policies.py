"""Feature extractors and the policy choice for gymsmith's observation conventions."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import torch
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

#: MiniGrid's symbolic cell encoding: (object index, colour index, state); max values from minigrid.core.
MINIGRID_CHANNELS = (11, 6, 3)


class MiniGridExtractor(BaseFeaturesExtractor):
    """One-hot the symbolic 7x7 view, then a small conv net.

    MiniGrid observations are category ids, not intensities: scaling them like pixels (SB3's default for uint8
    images) squashes the distinctions the agent needs, and a CNN sized for Atari cannot take a 7x7 input.
    """

    def __init__(self, observation_space: gym.spaces.Box, features_dim: int = 128) -> None:
        super().__init__(observation_space, features_dim)
        # SB3 transposes uint8 image spaces to channels-first (VecTransposeImage); accept either layout
        shape = observation_space.shape
        self.channels_first = shape[0] == 3 and shape[-1] != 3
        spatial = shape[1:] if self.channels_first else shape[:2]
        channels = sum(MINIGRID_CHANNELS)
        self.net = nn.Sequential(
            nn.Conv2d(channels, 32, 2),
            nn.ReLU(),
            nn.Conv2d(32, 64, 2),
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
        parts = [
            nn.functional.one_hot(obs[..., i].clamp(0, n - 1), n) for i, n in enumerate(MINIGRID_CHANNELS)
        ]
        x = torch.cat(parts, dim=-1).float().permute(0, 3, 1, 2)
        return self.head(self.net(x))


def is_minigrid_obs(space: gym.Space) -> bool:
    return isinstance(space, gym.spaces.Box) and len(space.shape) == 3 and space.shape[2] == 3 and space.shape[0] < 16


def policy_for(space: gym.Space) -> tuple[str, dict[str, Any]]:
    """Pick the SB3 policy and kwargs that suit the observation space."""
    if is_minigrid_obs(space):
        return "CnnPolicy", {
            "features_extractor_class": MiniGridExtractor,
            "features_extractor_kwargs": {"features_dim": 128},
            "normalize_images": False,
            "net_arch": {"pi": [64], "vf": [64]},
        }
    if isinstance(space, gym.spaces.Box) and len(space.shape) == 3:
        return "CnnPolicy", {}
    return "MlpPolicy", {}
