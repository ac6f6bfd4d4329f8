# expect: static
# attack: lambda __globals__ walk
def reward(obs, action, next_obs, info, state):
    g = (lambda: 0).__globals__
    return 0.0, {}
