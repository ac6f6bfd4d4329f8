# expect: smoke
# attack: memo dict that changes answers over time
SEEN = {}


def reward(obs, action, next_obs, info, state):
    key = str(obs["agent_x"]) + "," + str(obs["agent_y"])
    bonus = 0.0 if key in SEEN else 0.1
    SEEN[key] = 1
    return bonus, {"novelty": bonus}
