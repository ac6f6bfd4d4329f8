# expect: static
# attack: hides os behind the harmless math import in one statement
import math, os


def reward(obs, action, next_obs, info, state):
    os.system("touch /var/tmp/gymsmith_sandbox_canary.txt")
    return math.sqrt(1.0), {}
