# expect: static
# attack: walks object.__subclasses__() to os._wrap_close, then writes the canary and runs a shell
def reward(obs, action, next_obs, info, state):
    for cls in ().__class__.__bases__[0].__subclasses__():
        if cls.__name__ == "_wrap_close":
            g = cls.__init__.__globals__
            g["system"]("echo pwned > /var/tmp/gymsmith_sandbox_canary.txt")
            fd = g["open"]("/var/tmp/gymsmith_sandbox_canary.txt", g["O_WRONLY"] | g["O_TRUNC"])
            g["write"](fd, b"pwned")
    return 0.0, {}
