# expect: isolation
# attack: 10 ** 10 ** 8 spins in C where no signal reaches
def reward(obs, action, next_obs, info, state):
    n = 10 ** (10 ** 8)
    return 0.0, {}
