# expect: static
# attack: class with a __del__ finaliser
class Sneaky:
    def __del__(self):
        pass


def reward(obs, action, next_obs, info, state):
    Sneaky()
    return 0.0, {}
