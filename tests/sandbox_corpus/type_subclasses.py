# expect: static
# attack: type() to reach object and its subclasses
def reward(obs, action, next_obs, info, state):
    t = type(obs)
    return 0.0, {}
