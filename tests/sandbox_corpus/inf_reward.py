# expect: smoke
# attack: returns +inf
def reward(obs, action, next_obs, info, state):
    return math.inf, {"bonus": math.inf}
