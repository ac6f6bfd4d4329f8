"""The Crafter family (importing it registers the family, its spec and its Gymnasium ids)."""

from gymsmith.envs.crafter.family import CRAFTER_TARGET, CrafterFamily, register
from gymsmith.envs.crafter.gym_env import CRAFTER_ACHIEVEMENTS, CrafterGenEnv, CrafterGymEnv, crafter_score
from gymsmith.envs.crafter.spec import CrafterWorldSpec

register()

__all__ = ["CRAFTER_ACHIEVEMENTS", "CRAFTER_TARGET", "CrafterFamily", "CrafterGenEnv", "CrafterGymEnv",
           "CrafterWorldSpec", "crafter_score"]
