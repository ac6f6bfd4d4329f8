"""The openai backend finds the strongest structured-output mode a server accepts, once per (server, model).

The servers here are real HTTP servers on 127.0.0.1 that answer with what a real llama-cpp-python 0.3.36
server answered (recorded by tests/servers/record.py: the HTTP 500 refusing ``json_schema``, the completion
envelopes), so the real OpenAI client and LangChain meet real status codes and bodies. The live server is
exercised by tests/test_serve.py.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from scenarios import GENERATE_SCENARIOS
from serving import free_port
from typer.testing import CliRunner

from gymsmith.cli import app
from gymsmith.generator import structured
from gymsmith.generator.llm import LLMClient, load_cassette, make_chat_model
from gymsmith.generator.structured import LLMBackendError

RECORDED = json.loads((Path(__file__).parent / "servers" / "llama_cpp_server.json").read_text())["answers"]
SCHEMA = RECORDED["json_object"]["request"]["response_format"]["schema"]
PROMPT = RECORDED["json_object"]["request"]["messages"][0]["content"]
Reply = tuple[int, dict[str, Any]]


def _completion(content: str | None = None, base: str = "json_object") -> Reply:
    """A recorded completion envelope, optionally carrying another recorded answer's text."""
    body = json.loads(json.dumps(RECORDED[base]["body"]))
    if content is not None:
        body["choices"][0]["message"]["content"] = content
    return 200, body


def _error(status: int, message: str, kind: str = "invalid_request_error") -> Reply:
    """OpenAI's error shape, for server kinds not recorded here."""
    return status, {"error": {"message": message, "type": kind, "param": None, "code": None}}


def llama_cpp_server(fmt: str | None) -> Reply:
    """What llama-cpp-python's server answered: 500 for json_schema, a grammar-constrained answer otherwise."""
    if fmt == "json_schema":
        return RECORDED["json_schema"]["status"], RECORDED["json_schema"]["body"]
    return _completion(base="json_object" if fmt == "json_object" else "none")


def openai_like_server(fmt: str | None) -> Reply:
    return _completion()


def text_only_server(fmt: str | None) -> Reply:
    if fmt is not None:
        return _error(400, f"response_format of type {fmt!r} is not supported by this server")
    return _completion(base="none")


@dataclass
class Loopback:
    base_url: str
    policy: Callable[[str | None], Reply]
    #: The ``response_format.type`` of every request received (None: no response_format).
    formats: list[str | None] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def loopback() -> Iterator[Loopback]:
    state = Loopback(base_url="", policy=llama_cpp_server)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            fmt = (body.get("response_format") or {}).get("type")
            state.formats.append(fmt)
            state.bodies.append(body)
            status, reply = state.policy(fmt)
            payload = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    structured.forget()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        structured.forget()


def _client(base_url: str, model: str = "qwen2.5-coder-0.5b", **kwargs: Any) -> LLMClient:
    chat = make_chat_model("openai", model=model, base_url=base_url)
    return LLMClient(chat, backend="openai", **{"use_cache": False, **kwargs})


def _ask(client: LLMClient, schema: dict[str, Any] | None = SCHEMA) -> tuple[str, Any]:
    return client.complete("t.j2", "system", PROMPT, json_schema=schema, temperature=0.0, max_tokens=16, seed=0)


def test_llama_cpp_server_refusal_falls_back_to_json_object_once(loopback):
    client = _client(loopback.base_url)
    text, call = _ask(client)
    assert text == RECORDED["json_object"]["body"]["choices"][0]["message"]["content"]
    assert call.structured == "json_object"
    # json_schema first (the OpenAI client retries the 500 before it gives up), then the json_object fallback
    assert set(loopback.formats[:-1]) == {"json_schema"} and loopback.formats[-1] == "json_object"
    assert loopback.bodies[-1]["response_format"] == {"type": "json_object", "schema": SCHEMA}
    assert client.totals()["structured"] == "json_object (fallback: the server refused json_schema)"
    # detected once per (server, model): later calls, from this client or another, go straight to json_object
    seen = len(loopback.formats)
    _ask(client)
    _ask(_client(loopback.base_url))
    assert loopback.formats[seen:] == ["json_object", "json_object"]
    # another model on the same server is negotiated on its own
    _ask(_client(loopback.base_url, model="other-model"))
    assert loopback.formats[seen + 2] == "json_schema"


def test_server_that_takes_json_schema_keeps_it(loopback):
    loopback.policy = openai_like_server
    client = _client(loopback.base_url)
    _, call = _ask(client)
    assert loopback.formats == ["json_schema"] and call.structured == "json_schema"
    assert loopback.bodies[0]["response_format"]["json_schema"] == {"name": "gymsmith_output", "schema": SCHEMA}
    assert client.totals()["structured"] == "json_schema"


def test_server_without_structured_output_gets_free_text_then_validation(loopback):
    loopback.policy = text_only_server
    client = _client(loopback.base_url)
    text, call = _ask(client)
    assert loopback.formats == ["json_schema", "json_object", None]
    assert call.structured == "unconstrained" and json.loads(text) == {"a": 3}
    assert client.totals()["structured"] == (
        "unconstrained (fallback: the server refused json_schema and json_object)"
    )


def test_unconstrained_request_sends_no_response_format(loopback):
    loopback.policy = openai_like_server
    _, call = _ask(_client(loopback.base_url), schema=None)
    assert loopback.formats == [None] and call.structured == "unconstrained"


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (_error(401, "Incorrect API key provided: sk-wrong."), "rejected the API key (HTTP 401"),
        (_error(500, "the model crashed", "internal_server_error"), "answered HTTP 500: the model crashed"),
        (_error(404, "The model `nope` does not exist"), "answered HTTP 404: The model `nope` does not exist"),
    ],
)
def test_other_errors_are_reported_not_taken_for_refusals(loopback, reply, expected):
    loopback.policy = lambda fmt: reply
    with pytest.raises(LLMBackendError, match=expected.replace("(", r"\(")) as info:
        _ask(_client(loopback.base_url))
    assert loopback.base_url in str(info.value) and "\n" not in str(info.value)
    assert set(loopback.formats) == {"json_schema"}, "no fallback on an error that is not a refusal"
    assert structured.known(loopback.base_url, "qwen2.5-coder-0.5b") is None


def test_unreachable_server_is_reported_clearly():
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(LLMBackendError, match=r"cannot reach the openai backend at http://127\.0\.0\.1:\d+/v1"):
        _ask(_client(url))


def test_mode_survives_the_cache_and_cassettes(loopback, tmp_path):
    first = _client(loopback.base_url, use_cache=True, record_path=tmp_path / "c.json")
    _ask(first)
    cassette = load_cassette(tmp_path / "c.json")
    assert [e["structured"] for e in cassette["entries"].values()] == ["json_object"]
    second = _client(loopback.base_url, use_cache=True)
    _, call = _ask(second)
    assert call.cached and call.structured == "json_object" and second.model_calls == 0
    replay = LLMClient(make_chat_model("replay", cassette=tmp_path / "c.json"), backend="replay", use_cache=False)
    _, replayed = _ask(replay)
    assert replayed.structured == "json_object"


def test_generate_cli_reports_the_fallback_mode(loopback, tmp_path):
    """`gymsmith generate --backend openai` against the server: the recorded Qwen answer, in json_object mode."""
    cassette, args = GENERATE_SCENARIOS["generate_minigrid"]
    # the recorded levels answer, served for every call: the constraint step (its own answer) is left out
    answer = next(e["response"] for e in load_cassette(cassette)["entries"].values() if '"levels"' in e["response"])
    loopback.policy = lambda fmt: llama_cpp_server(fmt) if fmt == "json_schema" else _completion(answer)
    result = CliRunner().invoke(app, ["generate", *args, "--out", str(tmp_path), "--backend", "openai",
                                      "--base-url", loopback.base_url, "--model", "qwen2.5-coder-0.5b",
                                      "--no-cache", "--no-constraints"])
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "structured output: json_object (fallback: the server refused json_schema)" in output
    assert "(json_object)" in output  # on the call's own line too
    index = json.loads((tmp_path / "index.json").read_text())
    assert index["accepted"] and [c["structured"] for c in index["llm_calls"]] == ["json_object"]
    assert index["llm"]["structured"].startswith("json_object")


def test_refusal_is_recognised_from_the_error_not_the_url():
    import httpx
    import openai

    request = httpx.Request("POST", "http://127.0.0.1:1/v1/chat/completions")

    def error(status: int, message: str) -> openai.APIStatusError:
        response = httpx.Response(status, request=request, json={"error": {"message": message}})
        return openai.APIStatusError(message, response=response, body={"error": {"message": message}})

    assert structured.is_refusal(error(500, RECORDED["json_schema"]["body"]["error"]["message"]))
    assert structured.is_refusal(error(400, "Invalid schema for response_format 'gymsmith_output'"))
    assert structured.is_refusal(error(422, "response_format: extra fields not permitted"))
    assert not structured.is_refusal(error(500, "CUDA out of memory"))
    assert not structured.is_refusal(error(401, "response_format: no key"))
    assert not structured.is_refusal(ConnectionRefusedError("response_format"))


def _serve_recorded(loopback: Loopback, cassette: Path) -> None:
    """The server refuses json_schema as llama-cpp-python does and answers with a recorded real answer."""
    answer = next(iter(load_cassette(cassette)["entries"].values()))["response"]
    loopback.policy = lambda fmt: llama_cpp_server(fmt) if fmt == "json_schema" else _completion(answer)


def test_run_and_reward_report_the_mode_and_store_it(loopback, tmp_path):
    from scenarios import LOOP_CASSETTE, REWARD_CASSETTE

    from gymsmith.api import open_store

    server = ["--backend", "openai", "--base-url", loopback.base_url, "--model", "qwen2.5-coder-0.5b",
              "--runs-dir", str(tmp_path)]
    _serve_recorded(loopback, LOOP_CASSETTE)
    ran = CliRunner().invoke(app, ["run", "--curriculum", "llm", "--cycles", "1", "--steps", "256", "--n-envs", "2",
                                   "--eval-episodes", "1", "--device", "cpu", *server])
    assert ran.exit_code == 0, ran.output
    assert "structured output: json_object (fallback: the server refused json_schema)" in " ".join(ran.output.split())
    store = open_store(tmp_path)
    try:
        (run_id,) = store.db.execute("SELECT id FROM runs").fetchone()
        proposals = [json.loads(row["body"]) for row in store.table("proposals", run_id)]
    finally:
        store.close()
    modes = [c["structured"] for p in proposals for c in p["llm_calls"]]  # the proposal and any repair round
    assert modes and set(modes) == {"json_object"}

    structured.forget()  # a fresh process would negotiate again
    _serve_recorded(loopback, REWARD_CASSETTE)
    rewarded = CliRunner().invoke(app, ["reward", "pick up the key, open the door, reach the goal", "--env",
                                        "MiniGrid-DoorKey-5x5-v0", "-n", "1", "--iterations", "1", "--steps", "128",
                                        "--eval-episodes", "1", "--n-envs", "1", "--no-baseline", "--no-cache",
                                        *server])
    assert rewarded.exit_code == 0, rewarded.output
    assert "structured output: json_object (fallback: the server refused json_schema)" in " ".join(
        rewarded.output.split())
