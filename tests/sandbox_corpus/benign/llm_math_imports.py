# expect: accept
# What code models write out of habit: math imported on top (and inside the function), then potential-based
# shaping plus first-time skill bonuses.
import math
from math import exp, sqrt


def potential(features):
    if features["has_key"] < 0.5 and features["dist_key"] >= 0:
        return -sqrt(features["dist_key"])
    if features["door_open"] < 0.5 and features["dist_door"] >= 0:
        return -sqrt(features["dist_door"]) - 10.0
    return -sqrt(max(features["dist_goal"], 0.0)) - 20.0


def reward(obs, action, next_obs, info, state):
    import math as m

    shaping = 0.05 * (potential(next_obs) - potential(obs))
    bonus = 0.0
    for name, value in (("picked_up_key", 0.5), ("opened_door", 0.5), ("reached_goal", 2.0)):
        if name in info["events"] and name not in state["events_so_far"]:
            bonus += value
    decay = exp(-next_obs["step"] / max(next_obs["max_steps"], 1.0))
    goal = math.floor(info["env_reward"] + 0.5) * decay * m.e / m.e
    return shaping + bonus + goal, {"shaping": shaping, "bonus": bonus, "goal": goal}
