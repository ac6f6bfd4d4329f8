# expect: accept
# Uses helpers, comprehensions, sorted/min/max/clip and dict access the way an LLM typically writes code.
WEIGHTS = {"key": 0.2, "door": 0.2, "goal": 0.2}


def closer(before, after):
    if before < 0 or after < 0:
        return 0.0
    return clip(before - after, -1.0, 1.0)


def reward(obs, action, next_obs, info, state):
    terms = {name: w * closer(obs["dist_" + name], next_obs["dist_" + name]) for name, w in WEIGHTS.items()}
    firsts = [e for e in info["events"] if e not in state["events_so_far"]]
    terms["firsts"] = 0.5 * len(firsts)
    terms["time"] = -0.002
    ordered = sorted(terms.values())
    total = sum(ordered)
    terms["lava"] = -1.0 if "died_in_lava" in info["events"] else 0.0
    total = total + terms["lava"]
    return max(min(total, 5.0), -5.0), terms
