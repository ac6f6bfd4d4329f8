"""Feature extractors and the policy choice for gymsmith's observation conventions."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import torch
from stable_baselines3.common.preprocessing import is_image_space
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


class _Residual(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv0 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv1(torch.relu(self.conv0(torch.relu(x))))


class ImpalaExtractor(BaseFeaturesExtractor):
    """The IMPALA ResNet (Espeholt et al. 2018): per stage a 3x3 conv, a 3x3 max-pool of stride 2 and two
    residual blocks; channels (16, 32, 32), then a 256-unit layer.

    The encoder of the strong PPO baselines on Crafter (Moon et al. 2023, and EnvGen's agent); it sees the full
    64x64 frame at 3x3 resolution, where NatureCNN's first 8x8 stride-4 filter blurs the 7-pixel cells.
    """

    def __init__(
        self, observation_space: gym.spaces.Box, channels: tuple[int, ...] = (16, 32, 32), features_dim: int = 256
    ) -> None:
        super().__init__(observation_space, features_dim)
        layers: list[nn.Module] = []
        depth = observation_space.shape[0]  # SB3 hands image spaces over channels-first
        for out in channels:
            layers += [nn.Conv2d(depth, out, 3, padding=1), nn.MaxPool2d(3, stride=2, padding=1),
                       _Residual(out), _Residual(out)]
            depth = out
        layers += [nn.ReLU(), nn.Flatten()]
        self.cnn = nn.Sequential(*layers)
        with torch.no_grad():
            n_flat = self.cnn(torch.zeros(1, *observation_space.shape)).shape[1]
        self.head = nn.Sequential(nn.Linear(n_flat, features_dim), nn.ReLU())

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return self.head(self.cnn(observations))


#: Encoders for RGB image observations (`RunConfig.policy`); ``auto`` picks `IMAGE_DEFAULT`.
IMAGE_POLICIES: dict[str, dict[str, Any]] = {
    "nature-cnn": {},  # SB3's CnnPolicy as it comes: NatureCNN (Mnih et al. 2015), 512 features
    "impala": {"features_extractor_class": ImpalaExtractor},
}
#: Chosen by measurement on Crafter (BENCHMARKS.md, "Crafter: training speed and the policy"): on a CPU the
#: IMPALA ResNet trains 9x fewer steps per second than NatureCNN at 64x64.
IMAGE_DEFAULT = "nature-cnn"
POLICY_CHOICES = ("auto", *IMAGE_POLICIES)


def policy_for(
    space: gym.Space, categories: tuple[int, ...] | None = None, choice: str = "auto"
) -> tuple[str, dict[str, Any]]:
    """The SB3 policy and kwargs that suit the observations: categorical grids one-hot, images a CNN.

    ``choice`` names an image encoder (`IMAGE_POLICIES`); it only applies to image observations, and asking
    for one where the observations are not images is an error rather than a silently different network.
    """
    if choice != "auto" and choice not in IMAGE_POLICIES:
        raise ValueError(f"policy {choice!r} is unknown; choose one of {', '.join(POLICY_CHOICES)}")
    if categories is None and is_image_space(space):
        return "CnnPolicy", dict(IMAGE_POLICIES[IMAGE_DEFAULT if choice == "auto" else choice])
    if choice != "auto":
        raise ValueError(f"policy {choice!r} is for RGB image observations; these are {space}: use auto")
    if categories is not None:
        return "CnnPolicy", {
            "features_extractor_class": CategoricalGridExtractor,
            "features_extractor_kwargs": {"categories": tuple(categories)},
            "normalize_images": False,
            "net_arch": {"pi": [64], "vf": [64]},
        }
    return "MlpPolicy", {}
