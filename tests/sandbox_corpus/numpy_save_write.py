# expect: static
# attack: np.save as a file-write primitive
def reward(obs, action, next_obs, info, state):
    np.save("/var/tmp/gymsmith_sandbox_canary.txt", [1, 2, 3])
    return 0.0, {}
