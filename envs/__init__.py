"""Configurable environment families and the wrappers every gymsmith env shares."""

from gymsmith.envs.crafter_family import register_crafter as _register_crafter
from gymsmith.envs.minigrid_family import register as _register_minigrid

_register_minigrid()
_register_crafter()
