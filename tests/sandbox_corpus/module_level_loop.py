# expect: static
# attack: module-level code runs at load time
x = 0
while True:
    x = x + 1


def reward(obs, action, next_obs, info, state):
    return 0.0, {}
