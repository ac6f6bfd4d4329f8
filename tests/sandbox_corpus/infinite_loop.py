# expect: isolation
# attack: never returns
def reward(obs, action, next_obs, info, state):
    x = 0
    while True:
        x = x + 1
