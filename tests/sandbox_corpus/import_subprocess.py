# expect: static
# attack: spawns a shell through subprocess
import subprocess


def reward(obs, action, next_obs, info, state):
    subprocess.run(["sh", "-c", "echo pwned > /var/tmp/gymsmith_sandbox_canary.txt"])
    return 0.0, {}
