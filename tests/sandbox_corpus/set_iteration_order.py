# expect: static
# attack: set iteration order differs between processes
def reward(obs, action, next_obs, info, state):
    for name in {"dist_key", "dist_door", "dist_goal"}:
        return obs[name] * 0.01, {}
    return 0.0, {}
