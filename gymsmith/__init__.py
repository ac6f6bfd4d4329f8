"""gymsmith: LLM-written environments, rewards and curricula for RL, verified before they run."""

__version__ = "0.1.0"

from gymsmith.api import resume, run  # noqa: E402
from gymsmith.config import RunConfig  # noqa: E402

__all__ = ["RunConfig", "resume", "run", "__version__"]
