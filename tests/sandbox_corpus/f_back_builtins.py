# expect: static
# attack: frame walk to f_builtins
def reward(obs, action, next_obs, info, state):
    g = (x for x in [1])
    imp = g.gi_frame.f_builtins
    return 0.0, {}
