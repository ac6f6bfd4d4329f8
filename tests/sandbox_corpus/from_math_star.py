# expect: static
# attack: star import, hoping for names the provided subset leaves out (or module internals)
from math import *


def reward(obs, action, next_obs, info, state):
    return float(factorial(5)), {}
