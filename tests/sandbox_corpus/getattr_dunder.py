# expect: static
# attack: getattr with a dunder name built at run time
def reward(obs, action, next_obs, info, state):
    name = "_" + "_class" + "_" + "_"
    cls = getattr(obs, name)
    return 0.0, {}
