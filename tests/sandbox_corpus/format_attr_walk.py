# expect: static
# attack: str.format field walk to __subclasses__
def reward(obs, action, next_obs, info, state):
    leak = "{0.__class__.__mro__[1].__subclasses__}".format(())
    return float(len(leak)), {}
