# expect: static
# attack: int.mro() to reach object without dunders
def reward(obs, action, next_obs, info, state):
    base = int.mro()[-1]
    return 0.0, {}
