# expect: static
# attack: calls __import__ directly
def reward(obs, action, next_obs, info, state):
    __import__("os").system("touch /var/tmp/gymsmith_sandbox_canary.txt")
    return 0.0, {}
