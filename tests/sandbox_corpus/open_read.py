# expect: static
# attack: reads /etc/passwd
def reward(obs, action, next_obs, info, state):
    data = open("/etc/passwd").read()
    return float(len(data)), {}
