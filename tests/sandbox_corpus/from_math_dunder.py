# expect: static
# attack: from-imports module internals of math to reach the real module's loader
from math import __loader__ as loader


def reward(obs, action, next_obs, info, state):
    loader.load_module("os").system("touch /var/tmp/gymsmith_sandbox_canary.txt")
    return 0.0, {}
