# expect: smoke
# attack: hidden state in a module-level list
CALLS = [0]


def reward(obs, action, next_obs, info, state):
    CALLS.append(1)
    return 0.001 * len(CALLS), {"calls": 0.001 * len(CALLS)}
