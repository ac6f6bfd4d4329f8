# expect: static
# attack: vars()/locals()/globals() namespace access
def reward(obs, action, next_obs, info, state):
    g = globals()
    return float(len(vars()) + len(locals())), {}
