"""LLM backends: replay of recorded real responses, the disk cache, recording, and the embedded model."""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from scenarios import LOOP_CASSETTE, REPAIR_CASSETTE, loop_config, repair_proposer_kwargs

from gymsmith.envs import family_for
from gymsmith.envs.minigrid import MiniGridLevelSpec
from gymsmith.generator import llm, structured
from gymsmith.generator.llm import CassetteMiss, LLMClient, call_key, load_cassette, make_chat_model
from gymsmith.generator.proposer import Proposer, parse_answer
from gymsmith.schemas import DEFAULT_TARGET, TaskSpec

FAMILY = family_for(DEFAULT_TARGET)
TASK = FAMILY.task()


def _loop_proposer(client: LLMClient) -> Proposer:
    cfg = loop_config("unused")
    return Proposer(client, family=FAMILY, k=cfg.k_levels, temperature=cfg.temperature, max_tokens=cfg.max_tokens,
                    seed=cfg.seed)


def test_replay_returns_the_recorded_real_response():
    cassette = load_cassette(LOOP_CASSETTE)
    client = LLMClient(make_chat_model("replay", cassette=LOOP_CASSETTE), backend="replay", use_cache=False)
    proposal = _loop_proposer(client).propose(TASK)
    call = proposal.llm_calls[0]
    assert call.model == cassette["model"] == "qwen2.5-coder-0.5b"
    recorded = {e["response"] for e in cassette["entries"].values()}
    assert call.response in recorded
    assert call.completion_tokens > 0 and call.prompt_tokens > 0
    # the mode comes back as recorded with the answer (older cassettes have none: unknown, not guessed)
    modes = {e.get("structured") for e in cassette["entries"].values() if e["response"] == call.response}
    assert call.structured in modes and call.structured in (None, "json_schema", "json_object")
    # three levels asked: each accepted, or rejected with its layer (this answer had one invalid level, repaired once)
    assert len(proposal.env_configs) + len(proposal.rejected) == 3 and proposal.env_configs
    assert all(isinstance(s, MiniGridLevelSpec) for s in proposal.env_configs)
    assert all(r.reason.startswith("[") for r in proposal.rejected)


def test_replay_miss_names_the_cassette():
    chat = make_chat_model("replay", cassette=LOOP_CASSETTE)
    with pytest.raises(CassetteMiss, match="no recorded response"):
        chat.invoke([SystemMessage("s"), HumanMessage("never recorded")], temperature=0.1)


def test_second_identical_call_is_served_from_disk_cache():
    chat = make_chat_model("replay", cassette=LOOP_CASSETTE)
    first = LLMClient(chat, backend="replay")
    _loop_proposer(first).propose(TASK)
    assert first.model_calls >= 1  # the proposal, and its repair round where the answer needed one
    second = LLMClient(chat, backend="replay")
    proposal = _loop_proposer(second).propose(TASK)
    assert second.model_calls == 0
    assert all(c.cached for c in proposal.llm_calls)
    assert second.totals()["cached"] == first.model_calls


def test_record_writes_a_cassette_that_replays(tmp_path):
    source = LLMClient(make_chat_model("replay", cassette=LOOP_CASSETTE), backend="replay", use_cache=False,
                       record_path=tmp_path / "copy.json")
    _loop_proposer(source).propose(TASK)
    copy = load_cassette(tmp_path / "copy.json")
    assert copy["model"] == "qwen2.5-coder-0.5b" and len(copy["entries"]) == source.model_calls
    replay = LLMClient(make_chat_model("replay", cassette=tmp_path / "copy.json"), backend="replay", use_cache=False)
    assert _loop_proposer(replay).propose(TASK).llm_calls[0].response == source.calls[0].response


def test_invalid_answer_is_repaired_once_then_rejected_with_reason():
    """Recorded from the Gemma 270M *base* model without a grammar: its answers are not a valid level list."""
    client = LLMClient(make_chat_model("replay", cassette=REPAIR_CASSETTE), backend="replay", use_cache=False)
    proposal = Proposer(client, family=FAMILY, **repair_proposer_kwargs()).propose(TASK)
    assert proposal.repaired
    assert [c.template for c in proposal.llm_calls] == ["env_proposal.j2", "repair.j2"]
    assert proposal.env_configs == []
    assert proposal.errors and any(w in proposal.errors[0] for w in ("not valid JSON", 'a "levels" list'))


def test_parse_keeps_valid_items_and_explains_invalid_ones():
    level = {"name": "a", "layout": "two_rooms", "size": 5, "locked_doors": 1, "objective": {"type": "goal"}}
    text = json.dumps({"rationale": "r", "levels": [
        level, {**level, "name": "b", "layout": "room"}, {**level, "name": "c", "size": 99},
    ]})
    result = parse_answer(text, FAMILY, TASK, k=3)
    assert [s.name for s in result.specs] == ["a"]
    reasons = [r.reason for r in result.rejected]
    assert 'layout "room" has at most 0 locked doors' in reasons[0] and "size" in reasons[1]
    assert parse_answer("Sure! ```json\n" + text + "\n```", FAMILY, TASK, k=3).specs[0].name == "a"


def test_factory_errors_name_the_problem(monkeypatch):
    with pytest.raises(ValueError, match="unknown LLM backend 'gpt'"):
        make_chat_model("gpt")
    with pytest.raises(ValueError, match="cassette"):
        make_chat_model("replay")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ValueError, match="OPENAI_API_KEY"):
        make_chat_model("openai")
    chat = make_chat_model("openai", base_url="http://127.0.0.1:9/v1", model="local-server-model")
    assert llm.model_id(chat) == "local-server-model"


def test_openai_backend_response_formats_strongest_first():
    schema = {"type": "object"}
    assert structured.MODES == ("json_schema", "json_object", "unconstrained")
    assert structured.response_format("json_schema", schema) == {
        "type": "json_schema", "json_schema": {"name": "gymsmith_output", "schema": schema}}
    assert structured.response_format("json_object", schema) == {"type": "json_object", "schema": schema}
    assert structured.response_format("unconstrained", schema) is None


def test_call_key_depends_on_model_messages_and_params():
    msgs = [HumanMessage("x")]
    base = call_key("m", msgs, {"t": 1})
    assert base == call_key("m", msgs, {"t": 1})
    assert base != call_key("m2", msgs, {"t": 1})
    assert base != call_key("m", [HumanMessage("y")], {"t": 1})
    assert base != call_key("m", msgs, {"t": 2})


def test_tampered_model_file_is_never_loaded(tmp_path, monkeypatch):
    monkeypatch.setenv("GYMSMITH_CACHE", str(tmp_path))
    spec = llm.EMBEDDED_MODELS["gemma3-270m"]
    target = tmp_path / "models" / spec.filename
    path = llm.ensure_model_file("gemma3-270m")
    assert path == target and llm._sha256(path) == spec.sha256
    with target.open("r+b") as fh:  # flip one byte: the next load must re-assemble and re-verify
        fh.seek(1000)
        byte = fh.read(1)
        fh.seek(1000)
        fh.write(bytes([byte[0] ^ 0xFF]))
    assert llm._sha256(target) != spec.sha256
    llm.ensure_model_file("gemma3-270m")
    assert llm._sha256(target) == spec.sha256
    bad = llm.EmbeddedModel(**{**spec.__dict__, "name": "bad", "filename": "bad.gguf", "sha256": "0" * 64})
    monkeypatch.setitem(llm.EMBEDDED_MODELS, "bad", bad)
    with pytest.raises(RuntimeError, match="not loading it"):
        llm.ensure_model_file("bad")
    assert not (tmp_path / "models" / "bad.gguf").exists()


def test_local_backend_generates_a_valid_spec():
    """The embedded default model, really running, under the JSON-schema grammar."""
    client = LLMClient(make_chat_model("local"), backend="local", use_cache=False)
    proposal = Proposer(client, family=FAMILY, k=1, max_tokens=200, seed=5).propose(TASK)
    assert proposal.llm_calls[0].model == llm.DEFAULT_LOCAL_MODEL
    assert proposal.llm_calls[0].structured == "json_object"  # the schema became a llama.cpp grammar
    assert not proposal.llm_calls[0].cached
    assert len(proposal.env_configs) == 1
    assert isinstance(proposal.env_configs[0], MiniGridLevelSpec)


def test_llm_threads_env_pins_llama_threads(monkeypatch):
    from gymsmith.generator.llm import _llm_threads

    monkeypatch.setenv("GYMSMITH_LLM_THREADS", "1")
    assert _llm_threads() == 1
    monkeypatch.setenv("GYMSMITH_LLM_THREADS", "two")
    with pytest.raises(ValueError, match="GYMSMITH_LLM_THREADS must be a positive integer, not 'two'"):
        _llm_threads()
    monkeypatch.delenv("GYMSMITH_LLM_THREADS")
    assert _llm_threads() >= 1


def test_llm_call_records_from_before_the_mode_still_load():
    from gymsmith.schemas import LLMCall, Proposal

    stored = {"backend": "local", "model": "qwen2.5-coder-0.5b", "template": "env_proposal.j2", "prompt_hash": "ab",
              "prompt_tokens": 10, "completion_tokens": 5, "latency_s": 1.5, "cached": False, "response": "{}"}
    assert LLMCall.model_validate(stored).structured is None
    proposal = Proposal.model_validate_json(json.dumps({"task": TaskSpec().model_dump(), "llm_calls": [stored]}))
    assert proposal.llm_calls[0].structured is None
    with pytest.raises(ValueError, match="structured"):
        LLMCall.model_validate({**stored, "structured": "xml"})
