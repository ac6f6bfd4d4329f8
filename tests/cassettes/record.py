"""Record the test cassettes from the embedded local models (real responses; run with `make record`)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scenarios import LOOP_CASSETTE, REPAIR_CASSETTE, loop_config, repair_proposer_kwargs  # noqa: E402

import gymsmith  # noqa: E402
from gymsmith.generator.llm import LLMClient, make_chat_model  # noqa: E402
from gymsmith.generator.proposer import Proposer  # noqa: E402
from gymsmith.schemas import TaskSpec  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as runs:
        LOOP_CASSETTE.unlink(missing_ok=True)
        cfg = loop_config(runs, backend="local", cassette=None, record=str(LOOP_CASSETTE))
        summary = gymsmith.run(cfg)
        print("loop cassette:", LOOP_CASSETTE, summary.llm_totals)
    REPAIR_CASSETTE.unlink(missing_ok=True)
    client = LLMClient(make_chat_model("local", model="gemma3-270m"), backend="local", use_cache=False,
                       record_path=REPAIR_CASSETTE)
    proposal = Proposer(client, **repair_proposer_kwargs()).propose(TaskSpec())
    print("repair cassette:", REPAIR_CASSETTE, client.totals(), proposal.errors, len(proposal.rejected))


if __name__ == "__main__":
    main()
