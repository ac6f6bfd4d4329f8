# expect: static
# attack: binds the os module to the name math, so later math.* calls reach os
import os as math


def reward(obs, action, next_obs, info, state):
    math.system("touch /var/tmp/gymsmith_sandbox_canary.txt")
    return 0.0, {}
