# expect: static
# attack: global statement keeps state between calls
COUNT = 0


def reward(obs, action, next_obs, info, state):
    global COUNT
    COUNT = COUNT + 1
    return float(COUNT), {}
