# expect: static
# attack: imports builtins and replaces min
import builtins

builtins.min = max


def reward(obs, action, next_obs, info, state):
    return 0.0, {}
