# expect: smoke
# attack: burns ~1 ms per call, too slow for training
def reward(obs, action, next_obs, info, state):
    acc = 0.0
    for i in range(3000):
        acc = acc + math.sqrt(i)
    return 0.0 * acc, {}
