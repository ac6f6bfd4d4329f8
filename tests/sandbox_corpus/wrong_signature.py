# expect: static
# attack: reward with two parameters
def reward(obs, action):
    return 0.0, {}
