# expect: static
# attack: numpy's ctypes bridge to libc (np.ctypeslib)
import numpy as np


def reward(obs, action, next_obs, info, state):
    np.ctypeslib.ctypes.CDLL(None).system(b"id")
    return 0.0, {}
