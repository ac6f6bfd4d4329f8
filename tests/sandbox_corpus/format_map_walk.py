# expect: static
# attack: format_map attribute walk
def reward(obs, action, next_obs, info, state):
    leak = "{a.__class__}".format_map({"a": obs})
    return 0.0, {}
