# expect: smoke
# attack: component name is not a string
def reward(obs, action, next_obs, info, state):
    return 0.0, {1: 0.5}
