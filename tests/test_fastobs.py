"""The fast egocentric observation is MiniGrid's own, cell for cell, on rollouts of many registered envs."""

from __future__ import annotations

import gymnasium as gym
import minigrid  # noqa: F401  (registers the ids)
import numpy as np
import pytest
from minigrid.minigrid_env import MiniGridEnv

from gymsmith.envs.minigrid.fastobs import fast_gen_obs, install

ENVS = [
    "MiniGrid-DoorKey-8x8-v0", "MiniGrid-LavaCrossingS9N2-v0", "MiniGrid-SimpleCrossingS9N1-v0",
    "MiniGrid-MultiRoom-N4-S5-v0", "MiniGrid-KeyCorridorS3R3-v0", "MiniGrid-FourRooms-v0",
    "MiniGrid-UnlockPickup-v0", "MiniGrid-BlockedUnlockPickup-v0", "MiniGrid-ObstructedMaze-1Dlhb-v0",
    "MiniGrid-PutNear-6x6-N2-v0", "MiniGrid-Fetch-8x8-N3-v0", "MiniGrid-GoToDoor-8x8-v0",
    "MiniGrid-Dynamic-Obstacles-8x8-v0", "MiniGrid-LavaGapS7-v0", "MiniGrid-MemoryS13Random-v0",
]


@pytest.mark.parametrize("env_id", ENVS)
def test_fast_observation_equals_minigrids(env_id: str) -> None:
    env = gym.make(env_id)
    base = env.unwrapped
    rng = np.random.default_rng(0)
    for episode in range(3):
        env.reset(seed=episode)
        for _ in range(120):  # random actions: turns, moves, pickups, drops and toggles change what is seen
            expected = MiniGridEnv.gen_obs(base)
            got = fast_gen_obs(base)
            np.testing.assert_array_equal(got["image"], expected["image"])
            assert got["direction"] == expected["direction"] and got["mission"] == expected["mission"]
            _, _, terminated, truncated, _ = env.step(int(rng.integers(base.action_space.n)))
            if terminated or truncated:
                break
    env.close()


def test_installed_only_where_minigrids_own_observation_is_used() -> None:
    env = gym.make("MiniGrid-DoorKey-5x5-v0").unwrapped
    assert install(env) and env.gen_obs.__func__ is fast_gen_obs

    class Custom(type(env)):  # an env with its own observation keeps it
        def gen_obs(self):  # type: ignore[no-untyped-def]
            return super().gen_obs()

    custom = Custom()
    assert not install(custom) and type(custom).gen_obs is Custom.gen_obs
    see_through = gym.make("MiniGrid-DoorKey-5x5-v0", see_through_walls=True).unwrapped
    see_through.reset(seed=1)
    np.testing.assert_array_equal(fast_gen_obs(see_through)["image"], MiniGridEnv.gen_obs(see_through)["image"])


def test_the_extractor_one_hots_each_channel_side_by_side() -> None:
    """One scatter at offset ids gives exactly the per-channel one-hots concatenated (values out of range clamp)."""
    import torch

    from gymsmith.agents.policies import CategoricalGridExtractor

    categories = (11, 6, 3)
    space = gym.spaces.Box(0, 255, (7, 7, 3), np.uint8)
    extractor = CategoricalGridExtractor(space, categories)
    obs = torch.randint(0, 14, (5, 7, 7, 3))
    seen: list[torch.Tensor] = []
    extractor.net.register_forward_pre_hook(lambda module, args: seen.append(args[0]))
    extractor(obs)
    expected = torch.cat([torch.nn.functional.one_hot(obs[..., i].clamp(0, n - 1), n)
                          for i, n in enumerate(categories)], dim=-1).float().permute(0, 3, 1, 2)
    assert torch.equal(seen[0], expected)
