# expect: accept
# Exactly what render_compose(default_doorkey_terms()) produces (the test also renders it live).
"""Composed reward: event_picked_up_key x 0.5, event_opened_door x 0.5, event_reached_goal x 1, distance_key x 0.05, distance_door x 0.05, distance_goal x 0.05, time_cost x 0.001, env_reward x 1."""


def reward(obs, action, next_obs, info, state):
    events = info["events"]
    seen = state["events_so_far"]
    # bonus the first time picked_up_key happens in the episode (cannot be farmed by repeating it)
    c_event_picked_up_key = 0.5 if ("picked_up_key" in events and "picked_up_key" not in seen) else 0.0
    # bonus the first time opened_door happens in the episode (cannot be farmed by repeating it)
    c_event_opened_door = 0.5 if ("opened_door" in events and "opened_door" not in seen) else 0.0
    # bonus the first time reached_goal happens in the episode (cannot be farmed by repeating it)
    c_event_reached_goal = 1.0 if ("reached_goal" in events and "reached_goal" not in seen) else 0.0
    # potential-based shaping on the Manhattan distance to the key: pays for getting closer,
    # takes it back for moving away, so idling or circling earns nothing
    before = obs["dist_key"]
    after = next_obs["dist_key"]
    c_distance_key = 0.05 * (before - after) if before >= 0 and after >= 0 else 0.0
    # potential-based shaping on the Manhattan distance to the door: pays for getting closer,
    # takes it back for moving away, so idling or circling earns nothing
    before = obs["dist_door"]
    after = next_obs["dist_door"]
    c_distance_door = 0.05 * (before - after) if before >= 0 and after >= 0 else 0.0
    # potential-based shaping on the Manhattan distance to the goal: pays for getting closer,
    # takes it back for moving away, so idling or circling earns nothing
    before = obs["dist_goal"]
    after = next_obs["dist_goal"]
    c_distance_goal = 0.05 * (before - after) if before >= 0 and after >= 0 else 0.0
    # time cost on every step
    c_time_cost = -0.001
    # the environment's own reward
    c_env_reward = 1.0 * info["env_reward"]
    components = {
        "event_picked_up_key": c_event_picked_up_key,
        "event_opened_door": c_event_opened_door,
        "event_reached_goal": c_event_reached_goal,
        "distance_key": c_distance_key,
        "distance_door": c_distance_door,
        "distance_goal": c_distance_goal,
        "time_cost": c_time_cost,
        "env_reward": c_env_reward,
    }
    return c_event_picked_up_key + c_event_opened_door + c_event_reached_goal + c_distance_key + c_distance_door + c_distance_goal + c_time_cost + c_env_reward, components
