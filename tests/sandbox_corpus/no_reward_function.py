# expect: static
# attack: defines no reward function
def shaped(obs, action, next_obs, info, state):
    return 0.0, {}
