# expect: smoke
# attack: returns a list instead of a tuple
def reward(obs, action, next_obs, info, state):
    return [1.0, {}]
