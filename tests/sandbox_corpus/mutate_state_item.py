# expect: static
# attack: resets the episode step in state
def reward(obs, action, next_obs, info, state):
    state["episode_step"] = 0
    return 0.0, {}
