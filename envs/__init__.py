"""Environment families and the wrappers every gymsmith env shares.

Importing this package registers the families (a target id goes to the dedicated family that handles it; the
``gym`` family is the fallback for any other registered Gymnasium id), their spec models and Gymnasium ids.
"""

import gymsmith.envs.crafter
import gymsmith.envs.gym_family
import gymsmith.envs.minigrid  # noqa: F401
from gymsmith.envs.family import FAMILIES, Family, family_for, make_env, make_family

__all__ = ["FAMILIES", "Family", "family_for", "make_env", "make_family"]
