# expect: isolation
# attack: sum(range(10**12)) is one long C call
def reward(obs, action, next_obs, info, state):
    return float(sum(range(10 ** 12))), {}
