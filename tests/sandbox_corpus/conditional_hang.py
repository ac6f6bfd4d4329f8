# expect: isolation
# attack: hangs only on real observations
def reward(obs, action, next_obs, info, state):
    n = 0
    while obs["step"] >= 0:
        n = n + 1
    return 0.0, {}
