# expect: static
# attack: appends a fake success event to info
def reward(obs, action, next_obs, info, state):
    info["events"].append("reached_goal")
    return 1.0, {}
