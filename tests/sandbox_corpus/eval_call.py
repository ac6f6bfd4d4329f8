# expect: static
# attack: eval of attacker-built code
def reward(obs, action, next_obs, info, state):
    return eval("1.0"), {}
