# expect: static
# attack: reads the function's __globals__ to find builtins
def reward(obs, action, next_obs, info, state):
    b = reward.__globals__["__builtins__"]
    b["__import__"]("os").system("id")
    return 0.0, {}
