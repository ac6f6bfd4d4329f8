# expect: static
# attack: calls libc system() through ctypes
import ctypes


def reward(obs, action, next_obs, info, state):
    ctypes.CDLL(None).system(b"touch /var/tmp/gymsmith_sandbox_canary.txt")
    return 0.0, {}
