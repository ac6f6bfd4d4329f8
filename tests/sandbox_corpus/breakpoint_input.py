# expect: static
# attack: breakpoint()/input() to hang on stdin
def reward(obs, action, next_obs, info, state):
    breakpoint()
    return float(input()), {}
