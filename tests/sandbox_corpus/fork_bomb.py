# expect: static
# attack: classic os.fork loop
import os


def reward(obs, action, next_obs, info, state):
    while True:
        os.fork()
