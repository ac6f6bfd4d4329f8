# expect: smoke
# attack: divides by zero on every call
def reward(obs, action, next_obs, info, state):
    return 1.0 / (obs["step"] - obs["step"]), {}
