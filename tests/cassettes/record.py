"""Record the test cassettes from the embedded local models (real responses; run with `make record`).

``python tests/cassettes/record.py [NAME ...]`` records only the named scenarios (loop, repair and the keys
of `scenarios.GENERATE_SCENARIOS`); without names it records all of them.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scenarios import (  # noqa: E402
    CRAFTER_LOOP_CASSETTE,
    CRAFTER_REWARD_ARGS,
    CRAFTER_REWARD_CASSETTE,
    GENERATE_SCENARIOS,
    LLM_REWARD_CASSETTE,
    LOOP_CASSETTE,
    REPAIR_CASSETTE,
    REWARD_ARGS,
    REWARD_CASSETTE,
    crafter_loop_config,
    llm_reward_config,
    loop_config,
    repair_proposer_kwargs,
)

import gymsmith  # noqa: E402
from gymsmith.envs import family_for  # noqa: E402
from gymsmith.generator.llm import LLMClient, make_chat_model  # noqa: E402
from gymsmith.generator.proposer import Proposer  # noqa: E402
from gymsmith.schemas import DEFAULT_TARGET  # noqa: E402


def record_loop() -> None:
    with tempfile.TemporaryDirectory() as runs:
        LOOP_CASSETTE.unlink(missing_ok=True)
        cfg = loop_config(runs, backend="local", cassette=None, record=str(LOOP_CASSETTE))
        summary = gymsmith.run(cfg)
        print("loop cassette:", LOOP_CASSETTE, summary.llm_totals)


def record_crafter_loop() -> None:
    os.environ["GYMSMITH_TORCH_THREADS"] = "1"  # the replaying test pins one thread too (see the scenario)
    with tempfile.TemporaryDirectory() as runs:
        CRAFTER_LOOP_CASSETTE.unlink(missing_ok=True)
        cfg = crafter_loop_config(runs, backend="local", cassette=None, record=str(CRAFTER_LOOP_CASSETTE))
        summary = gymsmith.run(cfg)
        print("crafter loop cassette:", CRAFTER_LOOP_CASSETTE, summary.llm_totals)


def record_repair() -> None:
    REPAIR_CASSETTE.unlink(missing_ok=True)
    client = LLMClient(make_chat_model("local", model="gemma3-270m"), backend="local", use_cache=False,
                       record_path=REPAIR_CASSETTE)
    family = family_for(DEFAULT_TARGET)
    proposal = Proposer(client, family=family, **repair_proposer_kwargs()).propose(family.task())
    print("repair cassette:", REPAIR_CASSETTE, client.totals(), proposal.errors, len(proposal.rejected))


def record_generate(name: str) -> None:
    """Run the real CLI against the local model, so the recorded calls are exactly the ones the tests make."""
    from typer.testing import CliRunner

    from gymsmith.cli import app

    cassette, args = GENERATE_SCENARIOS[name]
    cassette.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as out:
        result = CliRunner().invoke(
            app, ["generate", *args, "--out", out, "--backend", "local", "--no-cache", "--record", str(cassette)]
        )
    print(f"{name} cassette: {cassette} (exit code {result.exit_code})")
    print(result.output)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    if result.exit_code not in (0, 1):  # 1: nothing accepted, which the repair scenario expects
        raise SystemExit(f"recording {name} failed")


def record_reward(cassette: Path = REWARD_CASSETTE, args: list[str] = REWARD_ARGS) -> None:
    from typer.testing import CliRunner

    from gymsmith.cli import app

    cassette.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as runs:
        result = CliRunner().invoke(app, ["reward", *args, "--runs-dir", runs, "--backend", "local",
                                          "--no-cache", "--record", str(cassette)])
    print(result.output)
    if result.exit_code != 0:
        raise SystemExit(f"recording reward failed: {result.exception!r}")


def record_llm_reward() -> None:
    with tempfile.TemporaryDirectory() as runs:
        LLM_REWARD_CASSETTE.unlink(missing_ok=True)
        cfg = llm_reward_config(runs, backend="local", cassette=None, record=str(LLM_REWARD_CASSETTE))
        summary = gymsmith.run(cfg)
        print("llm-reward cassette:", LLM_REWARD_CASSETTE, summary.llm_totals)


RECORDERS = {"loop": record_loop, "crafter_loop": record_crafter_loop, "repair": record_repair, "reward": record_reward,
             "crafter_reward": lambda: record_reward(CRAFTER_REWARD_CASSETTE, CRAFTER_REWARD_ARGS),
             "llm_reward": record_llm_reward,
             **{name: (lambda name=name: record_generate(name)) for name in GENERATE_SCENARIOS}}


def main(names: list[str]) -> None:
    unknown = [n for n in names if n not in RECORDERS]
    if unknown:
        raise SystemExit(f"unknown scenarios {unknown}; choose from {', '.join(RECORDERS)}")
    for name in names or list(RECORDERS):
        RECORDERS[name]()


if __name__ == "__main__":
    main(sys.argv[1:])
