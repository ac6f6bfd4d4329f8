# expect: static
# attack: fetches the __import__ that makes `import math` work and asks it for os
def reward(obs, action, next_obs, info, state):
    imp = __builtins__["__import__"]
    imp("os").system("touch /var/tmp/gymsmith_sandbox_canary.txt")
    return 0.0, {}
