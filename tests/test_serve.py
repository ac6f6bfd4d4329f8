"""A live llama-cpp-python server (`gymsmith serve`) and `gymsmith generate --backend openai` against it.

This is the setup a user reported broken: the server refuses ``json_schema`` response formats with an HTTP
500. The client must step down to ``json_object`` (which the server compiles into a grammar), say so, and
still produce accepted specs. One thread, two short levels: about 30-45 s on a 2-core machine.
"""

from __future__ import annotations

import json

import pytest
from serving import served
from typer.testing import CliRunner

from gymsmith.cli import app
from gymsmith.generator import structured
from gymsmith.generator.local_models import EMBEDDED_MODELS


@pytest.mark.slow
def test_generate_against_a_live_llama_cpp_server_falls_back_to_json_object(tmp_path):
    structured.forget()
    sha = EMBEDDED_MODELS["qwen2.5-coder-0.5b"].sha256
    with served(threads=1, n_ctx=2048) as server:
        banner = " ".join(server.banner.split())
        assert "serving qwen2.5-coder-0.5b" in banner and sha in banner
        assert f"--base-url {server.base_url} --model qwen2.5-coder-0.5b" in banner
        result = CliRunner().invoke(app, [
            "generate", "Two small rooms with a locked door.", "--family", "minigrid", "-n", "2", "--goals", "0",
            "--backend", "openai", "--base-url", server.base_url, "--model", "qwen2.5-coder-0.5b",
            "--max-tokens", "256", "--seed", "0", "--no-cache", "--out", str(tmp_path),
        ])
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "structured output: json_object (fallback: the server refused json_schema)" in output
    index = json.loads((tmp_path / "index.json").read_text())
    assert len(index["accepted"]) >= 1, index
    assert index["llm_calls"] and {c["structured"] for c in index["llm_calls"]} == {"json_object"}
    assert index["llm"]["model_calls"] == len(index["llm_calls"]) and index["llm"]["completion_tokens"] > 0
    structured.forget()
