# expect: smoke
# attack: returns 1e9 per step
def reward(obs, action, next_obs, info, state):
    return 1e9, {"bonus": 1e9}
