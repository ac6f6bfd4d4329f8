"""The MiniGrid family (importing it registers the family, its spec and its Gymnasium id)."""

from gymsmith.envs.minigrid.family import MINIGRID_EVENTS, MiniGridFamily, is_minigrid_id
from gymsmith.envs.minigrid.levels import GEN_ENV_ID, register
from gymsmith.envs.minigrid.spec import MiniGridLevelSpec

register()

__all__ = ["GEN_ENV_ID", "MINIGRID_EVENTS", "MiniGridFamily", "MiniGridLevelSpec", "is_minigrid_id"]
