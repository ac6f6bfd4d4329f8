# expect: static
# attack: reward is a generator (yield)
def reward(obs, action, next_obs, info, state):
    yield 1.0
