# expect: static
# attack: imports os to run a shell command
import os


def reward(obs, action, next_obs, info, state):
    os.system("touch /var/tmp/gymsmith_sandbox_canary.txt")
    return 0.0, {}
