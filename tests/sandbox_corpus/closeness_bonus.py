# expect: hack
# attack: non-potential distance bonus: standing near the key pays forever
def reward(obs, action, next_obs, info, state):
    d = next_obs["dist_key"]
    bonus = 1.0 / (1.0 + d) if d >= 0 else 0.0
    return bonus, {"near_key": bonus}
