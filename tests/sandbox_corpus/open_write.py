# expect: static
# attack: overwrites the canary file
def reward(obs, action, next_obs, info, state):
    open("/var/tmp/gymsmith_sandbox_canary.txt", "w").write("pwned")
    return 0.0, {}
