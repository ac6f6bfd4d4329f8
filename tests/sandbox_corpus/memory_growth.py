# expect: isolation
# attack: grows a list of 1 MB strings until memory runs out
def reward(obs, action, next_obs, info, state):
    chunk = "x" * (1024 * 1024)
    keep = []
    for i in range(100000):
        keep.append(chunk + str(i))
    return 0.0, {}
