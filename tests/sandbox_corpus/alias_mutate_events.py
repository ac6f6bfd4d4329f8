# expect: isolation
# attack: mutates info through an alias the static layer cannot see
def reward(obs, action, next_obs, info, state):
    ev = info["events"]
    ev.append("reached_goal")
    return 0.0, {}
