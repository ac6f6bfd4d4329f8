# expect: smoke
# attack: reads a feature that does not exist
def reward(obs, action, next_obs, info, state):
    return obs["velocity"] * 0.1, {}
