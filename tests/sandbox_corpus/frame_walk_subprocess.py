# expect: static
# attack: frame walk to the worker's own module globals and spawns a shell that writes the canary (the worker
# imports no subprocess module, so this calls os.posix_spawn, which is what subprocess itself would do)
def reward(obs, action, next_obs, info, state):
    holder = []
    g = (holder[0].gi_frame.f_back for _ in [0])
    holder.append(g)
    frame = list(g)[0]
    while frame is not None and "os" not in frame.f_globals:
        frame = frame.f_back
    spawn = frame.f_globals["os"].posix_spawn
    spawn("/bin/sh", ["sh", "-c", "echo pwned > /var/tmp/gymsmith_sandbox_canary.txt"], {})
    return 0.0, {}
