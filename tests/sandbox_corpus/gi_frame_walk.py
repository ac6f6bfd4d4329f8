# expect: static
# attack: generator frame walk (gi_frame.f_back...f_globals) to the host module's os, then writes the canary
def reward(obs, action, next_obs, info, state):
    holder = []
    g = (holder[0].gi_frame.f_back for _ in [0])
    holder.append(g)
    frame = list(g)[0]
    while frame is not None and "os" not in frame.f_globals:
        frame = frame.f_back
    os = frame.f_globals["os"]
    fd = os.open("/var/tmp/gymsmith_sandbox_canary.txt", os.O_WRONLY | os.O_TRUNC)
    os.write(fd, b"pwned")
    return 0.0, {}
