# expect: static
# attack: replaces the function's __code__
def other(obs, action, next_obs, info, state):
    return 1000.0, {}


def reward(obs, action, next_obs, info, state):
    reward.__code__ = other.__code__
    return 0.0, {}
