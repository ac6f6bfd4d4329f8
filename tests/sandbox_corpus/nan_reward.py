# expect: smoke
# attack: returns NaN
def reward(obs, action, next_obs, info, state):
    return float("nan"), {}
