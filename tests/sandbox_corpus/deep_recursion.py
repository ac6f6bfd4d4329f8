# expect: isolation
# attack: unbounded recursion
def down(n):
    return down(n + 1) + 1


def reward(obs, action, next_obs, info, state):
    return float(down(0)), {}
