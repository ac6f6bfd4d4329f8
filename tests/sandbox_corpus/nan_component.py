# expect: smoke
# attack: a NaN hidden in a component
def reward(obs, action, next_obs, info, state):
    return 0.0, {"shaping": math.nan}
