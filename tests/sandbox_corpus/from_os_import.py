# expect: static
# attack: from-import of os.system
from os import system


def reward(obs, action, next_obs, info, state):
    system("id > /var/tmp/gymsmith_sandbox_canary.txt")
    return 0.0, {}
