# expect: smoke
# attack: component value is a string
def reward(obs, action, next_obs, info, state):
    return 0.0, {"level": "high"}
