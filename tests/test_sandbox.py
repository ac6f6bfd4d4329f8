"""The reward-program sandbox against a corpus of hostile programs, plus its OS layers on their own.

Every hostile program must be rejected at the layer its header names; programs that the static layer stops
are run again with that layer bypassed, so each deeper layer is shown to hold by itself. Throughout, a canary
file outside the sandbox must stay untouched, a listening socket on 127.0.0.1 must never be contacted, and
this test process must stay healthy (unconfined, able to fork and use the network).
"""

from __future__ import annotations

import multiprocessing
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from gymsmith.envs import family_for  # noqa: E402
from gymsmith.generator.verify_reward import RewardFixtures, reward_fixtures, verify_reward_program
from gymsmith.sandbox import (
    InProcessProgram,
    Sandbox,
    SandboxError,
    confine_current_process,
    encode_row,
    process_confined,
    sandbox_layers,
    static_check,
)
from gymsmith.schemas import DEFAULT_TARGET  # noqa: E402

CORPUS = Path(__file__).parent / "sandbox_corpus"
CANARY = Path("/var/tmp/gymsmith_sandbox_canary.txt")
LISTEN_PORT = 48213
LAYERS = ("static", "isolation", "smoke", "hack")


def _expected(path: Path) -> str:
    match = re.search(r"^# expect: (\w+)", path.read_text(), re.M)
    assert match, f"{path.name} has no '# expect:' header"
    return match.group(1)


HOSTILE = sorted(CORPUS.glob("*.py"))
BENIGN = sorted((CORPUS / "benign").glob("*.py"))
STATIC_ONLY = [p for p in HOSTILE if _expected(p) == "static"]


# ------------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def fixtures() -> RewardFixtures:
    return reward_fixtures(family_for(DEFAULT_TARGET))


@pytest.fixture(scope="module")
def box() -> Sandbox:
    sandbox = Sandbox()
    yield sandbox
    sandbox.close()


@pytest.fixture(scope="module")
def canary() -> str:
    token = secrets.token_hex(16)
    CANARY.write_text(token)
    CANARY.chmod(0o666)  # writable by anyone: only the sandbox stands in the way
    yield token
    CANARY.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def listener() -> socket.socket | None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", LISTEN_PORT))
    except OSError:
        sock.close()
        yield None  # port taken: the no-contact assertions are skipped, everything else still runs
        return
    sock.listen(8)
    sock.setblocking(False)
    yield sock
    sock.close()


def _assert_outside_untouched(canary: str, listener: socket.socket | None) -> None:
    assert CANARY.read_text() == canary, "the canary file outside the sandbox was modified"
    if listener is not None:
        with pytest.raises(BlockingIOError):
            conn, _ = listener.accept()
            conn.close()


# ------------------------------------------------------------------------------------------------- corpus


def test_corpus_shape() -> None:
    assert len(HOSTILE) >= 40
    assert len(BENIGN) >= 3
    counts = {layer: sum(_expected(p) == layer for p in HOSTILE) for layer in LAYERS}
    assert set(counts) == set(LAYERS) and sum(counts.values()) == len(HOSTILE), "unknown expected layer"
    # the deeper layers must really be exercised, not just the static one
    assert counts["isolation"] >= 5 and counts["smoke"] >= 5 and counts["hack"] >= 3, counts
    for path in BENIGN:
        assert _expected(path) == "accept"


@pytest.mark.parametrize("path", HOSTILE, ids=lambda p: p.stem)
def test_hostile_rejected_at_expected_layer(
    path: Path, fixtures: RewardFixtures, box: Sandbox, canary: str, listener: socket.socket | None
) -> None:
    verdict = verify_reward_program(path.read_text(), fixtures, sandbox=box)
    assert not verdict.accepted, f"{path.name} was accepted"
    assert verdict.rejections[0].layer == _expected(path), verdict.reason()
    assert len(verdict.rejections[0].reason) > 10
    _assert_outside_untouched(canary, listener)


@pytest.mark.parametrize("path", BENIGN, ids=lambda p: p.stem)
def test_benign_accepted(path: Path, fixtures: RewardFixtures, box: Sandbox) -> None:
    verdict = verify_reward_program(path.read_text(), fixtures, sandbox=box)
    assert verdict.accepted, verdict.reason()
    assert verdict.details["layers"] == {"static": "ok", "isolation": "ok", "smoke": "ok", "hack": "ok"}
    assert verdict.details["returns"]["progress"] > verdict.details["returns"]["noop"]


@pytest.mark.parametrize("mode", ["ast", "all"])
def test_static_layer_bypassed_deeper_layers_hold(
    mode: str, fixtures: RewardFixtures, box: Sandbox, canary: str, listener: socket.socket | None
) -> None:
    """Without the AST allow-list (and, for 'all', without RestrictedPython) nothing gets out either."""
    for path in STATIC_ONLY:
        verdict = verify_reward_program(path.read_text(), fixtures, sandbox=box, test_bypass=mode)
        assert not verdict.accepted, f"{path.name} accepted with the static layer bypassed ({mode})"
        _assert_outside_untouched(canary, listener)


@pytest.mark.parametrize(
    "name",
    ["subclasses_walk", "gi_frame_walk", "frame_walk_network", "frame_walk_subprocess", "frame_walk_kill_parent"],
)
def test_language_escapes_stopped_by_os_layers(
    name: str, fixtures: RewardFixtures, box: Sandbox, canary: str, listener: socket.socket | None
) -> None:
    """Real escapes to os/subprocess/socket, with no language layer at all: seccomp/bwrap refuse them."""
    verdict = verify_reward_program((CORPUS / f"{name}.py").read_text(), fixtures, sandbox=box, test_bypass="all")
    assert not verdict.accepted
    assert verdict.rejections[0].layer == "isolation", verdict.reason()
    assert "PermissionError" in verdict.reason() or "Operation not permitted" in verdict.reason()
    _assert_outside_untouched(canary, listener)


def test_plain_transition_lists_and_recording(fixtures: RewardFixtures, box: Sandbox) -> None:
    from gymsmith.generator.verify_reward import record_transitions

    source = (CORPUS / "benign" / "sparse_plus_events.py").read_text()
    verdict = verify_reward_program(source, fixtures.transitions, episodes=fixtures.episodes, sandbox=box)
    assert (
        verdict.accepted
        and verdict.details["returns"] == verify_reward_program(source, fixtures, sandbox=box).details["returns"]
    )
    assert (
        verify_reward_program(source, fixtures.transitions, sandbox=box).details["layers"]["hack"].startswith("skipped")
    )
    factory = family_for("MiniGrid-DoorKey-5x5-v0").make_target
    first, again = record_transitions(factory, 40, seed=3), record_transitions(factory, 40, seed=3)
    assert first == again and len(first) == 40
    assert [t["state"]["episode_step"] for t in first[:3]] == [0, 1, 2]
    assert all(t["next_obs"] == u["obs"] for t, u in zip(first, first[1:], strict=False) if not t["info"]["truncated"]
               and not t["info"]["terminated"])  # fmt: skip


def test_composed_file_matches_renderer() -> None:
    from gymsmith.generator.reward_catalogue import default_program

    text = (CORPUS / "benign" / "composed_default.py").read_text()
    assert text.split("\n", 2)[2] == default_program(family_for(DEFAULT_TARGET)).source


# --------------------------------------------------------------------------------- OS layers, no language


PROBES = {
    "fork": "import os\nos.fork()",
    "subprocess": "import subprocess\nsubprocess.run(['true'])",
    "execve": "import os\nos.execv('/bin/true', ['true'])",
    # _socket, not socket: the worker preloads it, so these reach the syscall under every launcher (in the
    # fallbacks the uid drop hides socket.py, and an import error would prove nothing about the network)
    "socket": "import _socket\n_socket.socket()",
    "connect_listener": f"import _socket\n_socket.socket().connect(('127.0.0.1', {LISTEN_PORT}))",
    "write_canary": f"open('{CANARY}', 'w').write('pwned')",
    "append_canary": f"open('{CANARY}', 'a').write('pwned')",
    "create_file": "open('/var/tmp/gymsmith_sandbox_new_file', 'x')",
    "unlink_canary": f"import os\nos.unlink('{CANARY}')",
    "kill_parent": "import os\nos.kill(os.getppid(), 9)",
    "kill_init": "import os\nos.kill(1, 9)",
    "setuid": "import os\nos.setuid(0)",
    "raise_rlimit": "import resource\nresource.setrlimit(resource.RLIMIT_AS, (2**40, 2**40))",
    "mount": "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
    "assert libc.mount(b'none', b'/mnt', b'tmpfs', 0, None) == 0, os.strerror(ctypes.get_errno())",
    "unshare": "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
    "assert libc.unshare(0x40000000) == 0, os.strerror(ctypes.get_errno())",
    "memory": "x = bytearray(1 << 30)",
}


@pytest.mark.parametrize("name", sorted(PROBES))
def test_os_layer_blocks(name: str, box: Sandbox, canary: str, listener: socket.socket | None) -> None:
    with pytest.raises(SandboxError) as info:
        box.probe(PROBES[name])
    message = str(info.value)
    if name == "memory":
        assert info.value.kind == "memory"
    else:
        assert "Operation not permitted" in message or "not allowed to raise" in message, message
    _assert_outside_untouched(canary, listener)
    assert not Path("/var/tmp/gymsmith_sandbox_new_file").exists()


def test_bwrap_alone_without_seccomp(canary: str, listener: socket.socket | None) -> None:
    """Layer independence: with seccomp switched off, bubblewrap still gives a read-only, offline world."""
    if sandbox_layers()["launcher"] != "bwrap":
        pytest.skip("bubblewrap is not usable here")
    with Sandbox(launcher="bwrap", seccomp=False) as bare:
        assert bare.layers()["seccomp"] == "disabled by configuration"
        with pytest.raises(SandboxError, match="Read-only file system|No such file"):
            bare.probe(f"open('{CANARY}', 'w').write('pwned')")
        with pytest.raises(SandboxError, match="Connection refused|Network is unreachable"):
            bare.probe(f"import socket\nsocket.create_connection(('127.0.0.1', {LISTEN_PORT}), timeout=1)")
        assert bare.probe("import os\nresult = sorted(os.environ)") in ("['LC_CTYPE', 'PWD']", "['PWD']", "[]")
    _assert_outside_untouched(canary, listener)


def test_os_system_cannot_spawn(box: Sandbox, canary: str) -> None:
    status = box.probe(f"import os\nresult = os.system('echo pwned > {CANARY}')")
    assert status != "0"
    assert CANARY.read_text() == canary


def test_timeout_kills_and_restarts(box: Sandbox) -> None:
    box.load("def reward(obs, action, next_obs, info, state):\n    return 1.0, {'one': 1.0}\n")
    old_pid = box._proc.pid
    with pytest.raises(SandboxError) as info:
        box.probe("while True:\n    pass", timeout_s=0.5)
    assert info.value.kind == "timeout"
    with pytest.raises(ProcessLookupError):
        os.kill(old_pid, 0)  # killed and reaped
    # the restarted worker has the program back
    assert box.call_batch([({"x": 1.0}, 0, {"x": 1.0}, {}, {})]) == [(1.0, {"one": 1.0})]


def test_cpu_limit_kills_c_level_loops() -> None:
    with Sandbox(cpu_s=1) as short:
        with pytest.raises(SandboxError) as info:
            short.probe("result = sum(range(10**11))", timeout_s=15)
    assert info.value.kind == "cpu"


def test_layers_report() -> None:
    layers = sandbox_layers()
    for key in ("launcher", "bwrap", "network_namespace", "readonly_filesystem", "seccomp", "rlimits"):
        assert key in layers
    assert all(isinstance(v, bool | str) for v in layers.values())
    assert layers["restricted_python"] is True
    assert layers["sockets_blocked"] is True
    if shutil.which("bwrap") and layers["launcher"] == "bwrap":
        assert layers["network_namespace"] is True
        assert layers["readonly_filesystem"] is True
    try:
        import ctypes

        ctypes.CDLL("libseccomp.so.2")
        assert layers["seccomp"] is True and layers["seccomp_selftest"] is True
    except OSError:
        assert isinstance(layers["seccomp"], str)


@pytest.mark.parametrize("launcher", ["unshare --net", "none"])
def test_fallback_launchers_keep_seccomp(launcher: str, canary: str) -> None:
    if launcher.startswith("unshare") and (os.geteuid() != 0 or not shutil.which("unshare")):
        pytest.skip("unshare --net needs root")
    with Sandbox(launcher=launcher) as fallback:
        layers = fallback.layers()
        assert layers["launcher"] == launcher
        fallback.load("def reward(obs, action, next_obs, info, state):\n    return 0.5, {}\n")
        assert fallback.call_batch([({"a": 1.0}, 1, {"a": 2.0}, {}, {})]) == [(0.5, {})]
        if layers["seccomp"] is True:
            assert layers["sockets_blocked"] is True
            with pytest.raises(SandboxError, match="Operation not permitted"):
                fallback.probe(f"import _socket\n_socket.socket().connect(('127.0.0.1', {LISTEN_PORT}))")
            with pytest.raises(SandboxError):
                fallback.probe("import os\nos.kill(os.getppid(), 0)")
            with pytest.raises(SandboxError):
                fallback.probe(f"open('{CANARY}', 'w')")
    assert CANARY.read_text() == canary


# --------------------------------------------------------------------------------------- batch API & wrapper


def test_call_batch_api(box: Sandbox, fixtures: RewardFixtures) -> None:
    import numpy as np

    box.load(
        "def reward(obs, action, next_obs, info, state):\n"
        "    d = obs.get('x', 0.0) - next_obs.get('x', 0.0)\n"
        "    return d, {'d': d}\n"
    )
    rows = [
        ({"x": 3.0}, 1, {"x": 1.0}, {"events": ["picked_up_key"]}, {"episode_step": 0}),
        {"obs": {"x": np.float32(2)}, "action": np.int64(2), "next_obs": {"x": 2.0}, "info": {}, "state": {}},
    ]
    assert box.call_batch(rows) == [(2.0, {"d": 2.0}), (0.0, {"d": 0.0})]
    rows = fixtures.transitions[:64]
    assert len(box.call_batch(rows)) == 64
    assert encode_row(rows[0])[3]["events"] == tuple(rows[0]["info"]["events"])


def test_continued_rows_see_the_obs_they_continue(box: Sandbox) -> None:
    """A row whose obs is the mapping sent as that row's next_obs last time is not sent again; the program must
    see exactly what a full row would show it, also after a failed call and a restart."""
    box.load(
        "def reward(obs, action, next_obs, info, state):\n"
        "    if action == 9:\n        return 1.0 / 0.0, {}\n"
        "    d = next_obs['x'] - obs['x']\n    return d, {'d': d, 'obs_x': obs['x']}\n"
    )
    a, b, c, d = ({"x": float(v)} for v in (1, 2, 4, 8))
    info, state = {"events": ()}, {"episode_step": 0, "events_so_far": ()}

    def call(rows: list) -> list:
        names, flat, k = box.call_arrays(rows, encoded=True)
        return [(flat[i * (k + 1)], flat[i * (k + 1) + 2]) for i in range(len(rows))]  # (total, obs_x)

    assert call([(a, 0, b, info, state), (c, 0, d, info, state)]) == [(1.0, 1.0), (4.0, 4.0)]
    assert box._last_next == [b, d]
    # row 0 continues (b is its last next_obs), row 1 starts afresh (a new episode: its obs is not d)
    assert call([(b, 0, c, info, state), (a, 0, b, info, state)]) == [(2.0, 2.0), (1.0, 1.0)]
    with pytest.raises(SandboxError):
        box.call_arrays([(c, 9, d, info, state), (b, 0, c, info, state)], encoded=True)
    assert box._last_next == []  # nothing continues a failed call
    assert call([(c, 0, d, info, state), (b, 0, c, info, state)]) == [(4.0, 4.0), (2.0, 2.0)]
    box.restart()
    assert box._last_next == []
    assert call([(d, 0, a, info, state), (c, 0, d, info, state)]) == [(-7.0, 8.0), (4.0, 4.0)]


def test_fast_replies_follow_a_change_of_components(box: Sandbox) -> None:
    row = ({"x": 1.0}, 0, {"x": 1.0}, {"events": ()}, {"episode_step": 0, "events_so_far": ()})
    box.load("def reward(obs, action, next_obs, info, state):\n    return 1.0, {'a': 1.0}\n")
    for _ in range(3):  # the first reply names the components, the next ones do not repeat them
        assert box.call_batch([row, row]) == [(1.0, {"a": 1.0})] * 2
    box.load("def reward(obs, action, next_obs, info, state):\n    return 2.0, {'b': 2.0, 'c': 0.5}\n")
    assert box.call_batch([row]) == [(2.0, {"b": 2.0, "c": 0.5})]
    assert box.call_batch([row]) == [(2.0, {"b": 2.0, "c": 0.5})]


def _expert_episode(env, policy) -> list[dict]:
    import random

    rng = random.Random(0)
    env.reset(seed=3)
    infos = []
    while True:
        _, _, terminated, truncated, info = env.step(policy(env, rng))
        infos.append(info)
        if terminated or truncated:
            return infos


def test_wrapper_unconfined_process_uses_sandbox_runner() -> None:
    from gymsmith.envs import make_env
    from gymsmith.envs.minigrid.expert import expert_policy
    from gymsmith.envs.reward_wrapper import GeneratedReward, summarise_components
    from gymsmith.generator.reward_catalogue import default_program
    from gymsmith.schemas import TargetEnv

    program = default_program(family_for(DEFAULT_TARGET))
    env = GeneratedReward(make_env(TargetEnv()), program)
    infos = _expert_episode(env, expert_policy)
    assert env.runner_kind == "sandbox"  # this test process is not confined: LLM code must not run in it
    final = infos[-1]
    assert "reached_goal" in final["events"]
    comps = final["reward_components"]
    assert comps["event_picked_up_key"] == 0.5 and comps["event_reached_goal"] == 1.0
    log = env.pop_episode_log()
    assert len(log) == 1 and env.pop_episode_log() == []
    stats = summarise_components(log)
    assert stats["event_opened_door"].mean == 0.5 and stats["return"].n == 1
    env.close()


def test_batched_vec_wrapper_logs_components() -> None:
    import numpy as np
    from stable_baselines3.common.vec_env import DummyVecEnv

    from gymsmith.envs import make_env
    from gymsmith.envs.reward_wrapper import GeneratedRewardVecEnv
    from gymsmith.generator.reward_catalogue import default_program
    from gymsmith.schemas import TargetEnv

    program = default_program(family_for(DEFAULT_TARGET))
    venv = GeneratedRewardVecEnv(DummyVecEnv([lambda: make_env(TargetEnv()) for _ in range(2)]), program)
    venv.seed(0)
    venv.reset()
    rng = np.random.default_rng(0)
    finished = []
    for _ in range(641):  # DoorKey-8x8 truncates at 640 steps: every sub-env finishes at least once
        _, rewards, dones, infos = venv.step(rng.integers(0, 7, size=2))
        assert rewards.dtype == np.float32 and np.all(np.isfinite(rewards))
        finished += [info["reward_components"] for info, done in zip(infos, dones, strict=True) if done]
    assert len(finished) >= 2 and venv.last_fault == ""
    assert set(finished[0]) == set(program.components)
    assert len(venv.pop_episode_log()) == len(finished)
    venv.close()


def test_wrapper_refuses_unverifiable_program() -> None:
    from gymsmith.envs import make_env
    from gymsmith.envs.reward_wrapper import GeneratedReward
    from gymsmith.schemas import TargetEnv

    with pytest.raises(ValueError, match="static layer"):
        GeneratedReward(make_env(TargetEnv()), (CORPUS / "import_os.py").read_text())


def _confined_child(queue: multiprocessing.Queue) -> None:
    out: dict = {}
    try:
        from gymsmith.envs import make_env
        from gymsmith.envs.minigrid.expert import expert_policy
        from gymsmith.envs.reward_wrapper import GeneratedReward, confined_env_factory
        from gymsmith.generator.reward_catalogue import default_program
        from gymsmith.schemas import TargetEnv

        program = default_program(family_for(DEFAULT_TARGET))
        factory = confined_env_factory(lambda: GeneratedReward(make_env(TargetEnv()), program))
        env = factory()
        out["report"] = confine_current_process()  # what the factory applied (calling again changes nothing)
        out["confined"] = process_confined()
        for name, attempt in {
            "socket": lambda: socket.socket(),
            "fork": lambda: os.fork(),
            "write": lambda: open(CANARY, "w"),
            "kill_parent": lambda: os.kill(os.getppid(), 0),
        }.items():
            try:
                attempt()
                out[name] = "allowed"
            except PermissionError:
                out[name] = "blocked"
        infos = _expert_episode(env, expert_policy)
        out["runner"] = env.runner_kind
        out["components"] = infos[-1]["reward_components"]
        # a runaway loop in-process is cut by the per-call alarm
        slow = InProcessProgram("def reward(obs, action, next_obs, info, state):\n    while True:\n        pass\n")
        try:
            slow({}, 0, {}, {"events": ()}, {"events_so_far": ()})
            out["alarm"] = "no"
        except SandboxError as exc:
            out["alarm"] = exc.kind
    except Exception as exc:  # pragma: no cover - reported to the parent
        out["error"] = repr(exc)
    queue.put(out)


def test_inprocess_runner_in_confined_worker(canary: str, listener: socket.socket | None) -> None:
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_confined_child, args=(queue,))
    proc.start()
    out = queue.get(timeout=60)
    proc.join(timeout=10)
    assert "error" not in out, out
    assert out["confined"] is True and out["report"]["seccomp"] is True
    assert out["report"]["network_namespace"] is True or os.geteuid() != 0
    assert {out[k] for k in ("socket", "fork", "write", "kill_parent")} == {"blocked"}
    assert out["runner"] == "inprocess"
    assert out["components"]["event_reached_goal"] == 1.0
    assert out["alarm"] == "timeout"
    _assert_outside_untouched(canary, listener)


def test_confining_the_main_process_is_refused() -> None:
    with pytest.raises(RuntimeError, match="main process"):
        confine_current_process()


def test_compose_validation_and_schema() -> None:
    from gymsmith.generator.reward_catalogue import compose_json_schema, render_compose, validate_terms

    family = family_for(DEFAULT_TARGET)
    with pytest.raises(ValueError) as info:
        validate_terms([{"term": "distance", "weight": 1.0, "target": "lava"}, {"term": "teleport", "weight": 1.0}],
                       family)
    assert "target must be one of key, door, goal" in str(info.value) and "unknown term 'teleport'" in str(info.value)
    def shapes(family):
        schema = compose_json_schema(family)
        return {s["properties"]["term"]["const"]: s for s in schema["properties"]["terms"]["items"]["anyOf"]}

    assert set(shapes(family)) == {"distance", "event", "time_cost", "env_reward"}  # DoorKey has no lava
    lava = family_for("MiniGrid-LavaCrossingS9N1-v0")  # lava levels add the hazard term
    assert set(shapes(lava)) == {"distance", "event", "hazard", "time_cost", "env_reward"}
    assert "target" in shapes(lava)["distance"]["required"] and "target" not in shapes(lava)["hazard"]["properties"]
    program = render_compose(
        [{"term": "hazard", "weight": 2.0}, {"term": "event", "target": "reached_goal", "weight": -0.5}], lava
    )
    assert static_check(program.source) == []
    assert program.components == ["hazard", "event_reached_goal"]


# ------------------------------------------------------------------------------------ imports of math


ROW = ({"x": 4.0}, 0, {"x": 9.0}, {"events": ()}, {"events_so_far": ()})

#: What code models write out of habit; each must compute sqrt(9) + exp(0) = 4 in the sandbox.
MATH_IMPORTS = {
    "import_on_top": "import math\n\ndef reward(obs, action, next_obs, info, state):\n"
    "    v = math.sqrt(next_obs['x']) + math.exp(0.0)\n    return v, {'v': v}\n",
    "from_import_on_top": "from math import sqrt, exp\n\ndef reward(obs, action, next_obs, info, state):\n"
    "    v = sqrt(next_obs['x']) + exp(0.0)\n    return v, {'v': v}\n",
    "inside_function": "def reward(obs, action, next_obs, info, state):\n    import math\n"
    "    from math import sqrt\n    v = sqrt(next_obs['x']) + math.exp(0.0)\n    return v, {'v': v}\n",
    "aliased": "import math as m\nfrom math import sqrt as root\n\ndef reward(obs, action, next_obs, info, state):\n"
    "    v = root(next_obs['x']) + m.exp(0.0)\n    return v, {'v': v}\n",
}


@pytest.mark.parametrize("name", sorted(MATH_IMPORTS))
def test_math_imports_are_accepted_and_run(name: str, box: Sandbox) -> None:
    source = MATH_IMPORTS[name]
    assert static_check(source) == []
    box.load(source)
    assert box.call_batch([ROW]) == [(4.0, {"v": 4.0})]


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ("import os", "import of os is not allowed: only `import math`"),
        ("import math, os", "import of os is not allowed: only `import math`"),
        ("import os as math", "import of os is not allowed: only `import math`"),
        ("from math import *", "`from math import *` is not allowed; name what you use"),
        ("from math import factorial", "math.factorial is not available; math offers: pi, e"),
        ("from os import path as math", "importing from os is not allowed: only `import math`"),
        ("import math.sqrt", "import of math.sqrt is not allowed: only `import math`"),
        ("from math import sqrt as _s", "cannot bind an import to the name '_s'"),
        ("from math import sqrt as open", "cannot bind an import to the name 'open'"),
        ("x = __import__('os')", "'__import__' starts with an underscore"),
    ],
)
def test_other_imports_refused_naming_what_is_available(source: str, why: str) -> None:
    reasons = static_check(source + "\n\ndef reward(obs, action, next_obs, info, state):\n    return 0.0, {}\n")
    assert any(why in r for r in reasons), reasons


@pytest.mark.parametrize("statement", ["import os", "from math import factorial", "from os import path"])
def test_runtime_import_guard_holds_without_the_static_layer(statement: str, box: Sandbox, fixtures) -> None:
    """RestrictedPython compiles imports as they are: the namespace's __import__ is what refuses them."""
    source = f"def reward(obs, action, next_obs, info, state):\n    {statement}\n    return 0.0, {{}}\n"
    verdict = verify_reward_program(source, fixtures, sandbox=box, test_bypass="ast")
    assert not verdict.accepted and verdict.rejections[0].layer == "isolation", verdict.reason()
    assert "ImportError" in verdict.reason() and "math" in verdict.reason()


def test_designer_keeps_imports_of_a_whole_program_answer() -> None:
    from gymsmith.generator.reward_designer import extract_body

    answer = "```python\nimport math\nfrom math import sqrt\n\ndef reward(obs, action, next_obs, info, state):\n" \
             "    v = sqrt(next_obs['x']) + math.exp(0.0)\n    return v, {'v': v}\n```"  # fmt: skip
    source = "def reward(obs, action, next_obs, info, state):\n" + extract_body(answer) + "\n"
    assert static_check(source) == []
    with Sandbox() as fresh:
        fresh.load(source)
        assert fresh.call_batch([ROW]) == [(4.0, {"v": 4.0})]
    numpy_answer = "import numpy as np\ndef reward(obs, action, next_obs, info, state):\n    return 0.0, {}"
    source = "def reward(obs, action, next_obs, info, state):\n" + extract_body(numpy_answer) + "\n"
    assert any("import of numpy is not allowed" in r for r in static_check(source))


# -------------------------------------------------------------------------------------------- epilogue


def test_process_still_healthy(canary: str, listener: socket.socket | None) -> None:
    """Run last (file order): the verifier's host process kept its powers and nothing reached outside."""
    _assert_outside_untouched(canary, listener)
    assert not process_confined()
    assert subprocess.run([sys.executable, "-c", "pass"], check=False).returncode == 0
    with socket.socket() as s:
        s.settimeout(1)
        if listener is not None:
            s.connect(("127.0.0.1", LISTEN_PORT))  # our own connection works, and is the first one
            conn, _ = listener.accept()
            conn.close()
