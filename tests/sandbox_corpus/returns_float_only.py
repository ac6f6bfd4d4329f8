# expect: smoke
# attack: forgets the components dict
def reward(obs, action, next_obs, info, state):
    return 1.0
