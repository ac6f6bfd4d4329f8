# expect: isolation
# attack: 1 << 2**40 allocates an enormous integer
def reward(obs, action, next_obs, info, state):
    n = 1 << (2 ** 40)
    return 0.0, {}
