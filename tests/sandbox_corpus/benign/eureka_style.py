# expect: accept
# Eureka-style shaped reward: potential-based distance terms with a temperature, first-time skill bonuses.
TEMPERATURE = 0.5


def potential(features):
    if features["has_key"] < 0.5 and features["dist_key"] >= 0:
        return -features["dist_key"]
    if features["door_open"] < 0.5 and features["dist_door"] >= 0:
        return -features["dist_door"] - 10.0
    return -features["dist_goal"] - 20.0 if features["dist_goal"] >= 0 else -20.0


def reward(obs, action, next_obs, info, state):
    events = info["events"]
    seen = state["events_so_far"]
    shaping = 0.05 * (potential(next_obs) - potential(obs))
    skills = 0.0
    for name, bonus in (("picked_up_key", 0.5), ("opened_door", 0.5), ("reached_goal", 2.0)):
        if name in events and name not in seen:
            skills = skills + bonus
    goal = TEMPERATURE * math.exp(-0.1 * next_obs["step"] / max(next_obs["max_steps"], 1.0)) * info["env_reward"]
    components = {"shaping": shaping, "skills": skills, "goal": goal}
    return shaping + skills + goal, components
