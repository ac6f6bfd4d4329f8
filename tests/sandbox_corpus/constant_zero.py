# expect: hack
# attack: no signal at all
def reward(obs, action, next_obs, info, state):
    return 0.0, {"nothing": 0.0}
