# expect: static
# attack: replaces math.sqrt for later programs
def reward(obs, action, next_obs, info, state):
    math.sqrt = lambda x: 1000.0
    return 0.0, {}
