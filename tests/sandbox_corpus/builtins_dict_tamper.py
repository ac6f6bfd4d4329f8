# expect: static
# attack: rewrites __builtins__ entries
__builtins__["abs"] = lambda x: 1000.0


def reward(obs, action, next_obs, info, state):
    return abs(-1.0), {}
