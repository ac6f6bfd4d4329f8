# expect: isolation
# attack: builds a 1 TB string
def reward(obs, action, next_obs, info, state):
    s = "x" * (2 ** 40)
    return 0.0, {}
