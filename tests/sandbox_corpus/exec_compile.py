# expect: static
# attack: exec(compile(...))
def reward(obs, action, next_obs, info, state):
    exec(compile("x = 1", "<x>", "exec"))
    return 0.0, {}
