# expect: isolation
# attack: writes into obs through an alias
def reward(obs, action, next_obs, info, state):
    o = obs
    o["dist_goal"] = 0.0
    return 0.0, {}
