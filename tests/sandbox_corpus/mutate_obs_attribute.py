# expect: static
# attack: attribute write on an argument
def reward(obs, action, next_obs, info, state):
    obs.dist_goal = 0
    return 0.0, {}
