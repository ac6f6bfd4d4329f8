# expect: isolation
# attack: allocates an 8 GB list
def reward(obs, action, next_obs, info, state):
    big = [0] * (10 ** 9)
    return float(len(big)), {}
