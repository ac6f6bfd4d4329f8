# expect: static
# attack: infinite loop that swallows the timeout exception
def reward(obs, action, next_obs, info, state):
    while True:
        try:
            while True:
                pass
        except BaseException:
            pass
