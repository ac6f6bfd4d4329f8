# expect: static
# attack: string.Formatter().get_field attribute walk
import string


def reward(obs, action, next_obs, info, state):
    f = string.Formatter()
    obj = f.get_field("0.__class__", [obs], {})
    return 0.0, {}
