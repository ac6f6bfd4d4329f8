"""gymsmith: LLM-written environments, rewards and curricula for RL, verified before they run."""

__version__ = "0.1.0"
