# expect: static
# attack: info.update() to change the env reward
def reward(obs, action, next_obs, info, state):
    info.update({"env_reward": 100.0})
    return 0.0, {}
