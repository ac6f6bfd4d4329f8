# expect: accept
# The env's sparse reward plus first-time bonuses for each DoorKey skill.
BONUS = {"picked_up_key": 0.3, "opened_door": 0.3, "reached_goal": 1.0}


def reward(obs, action, next_obs, info, state):
    bonus = 0.0
    for event in info["events"]:
        if event not in state["events_so_far"]:
            bonus = bonus + BONUS.get(event, 0.0)
    return info["env_reward"] + bonus, {"env": info["env_reward"], "events": bonus}
