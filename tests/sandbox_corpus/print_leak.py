# expect: static
# attack: prints observations to stdout
def reward(obs, action, next_obs, info, state):
    print(obs)
    return 0.0, {}
