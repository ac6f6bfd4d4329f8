"""LLM backends behind one factory, plus the call layer that caches, records and audits every call.

All backends are LangChain chat models, so a user can hand gymsmith any chat model they already have. The
call layer (`LLMClient`) is what makes runs cheap and reproducible: every call is keyed by a hash of
model + messages + params, answered from the disk cache when it can be, and optionally written to a cassette
that the `replay` backend serves later without a model or a network.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict, PrivateAttr

from gymsmith.generator import structured
from gymsmith.generator.local_models import (  # noqa: F401  (re-exported: where callers found them before)
    DEFAULT_LOCAL_MODEL,
    EMBEDDED_MODELS,
    EmbeddedModel,
    LocalModel,
    _sha256,
    cache_dir,
    ensure_model_file,
    require_llama_cpp,
    resolve_local_model,
    without_extra_buffer_types,
)
from gymsmith.generator.local_models import llm_threads as _llm_threads  # noqa: F401
from gymsmith.schemas import LLMCall, StructuredMode

BACKENDS = ("local", "openai", "replay")


# ----------------------------------------------------------------------------------------- call keys


def _message_pairs(messages: list[BaseMessage]) -> list[tuple[str, str]]:
    return [(m.type, str(m.content)) for m in messages]


def call_key(model: str, messages: list[BaseMessage], params: dict[str, Any]) -> str:
    """The identity of a call: same model, same messages, same params ⇒ same answer may be reused."""
    payload = json.dumps(
        {"model": model, "messages": _message_pairs(messages), "params": params}, sort_keys=True, default=str
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def prompt_hash(messages: list[BaseMessage]) -> str:
    return hashlib.sha256(json.dumps(_message_pairs(messages)).encode()).hexdigest()[:16]


# ------------------------------------------------------------------------------------------- local


class LocalLlamaChat(BaseChatModel):
    """llama.cpp through llama-cpp-python, with JSON-schema-constrained decoding when a schema is given.

    ``model_name`` is an embedded model's name or the path of a GGUF file (see `resolve_local_model`).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)
    model_name: str = DEFAULT_LOCAL_MODEL
    n_ctx: int = 4096
    n_threads: int | None = None
    _local: LocalModel | None = PrivateAttr(default=None)
    _llama: Any = PrivateAttr(default=None)

    def model_post_init(self, __context: Any) -> None:
        super().model_post_init(__context)
        self._local = resolve_local_model(self.model_name)

    @property
    def local_model(self) -> LocalModel:
        assert self._local is not None
        return self._local

    @property
    def recorded_model(self) -> str:
        """What call keys name: the embedded model's name, or the file by content (``gguf:<name>@<sha>``)."""
        return self.local_model.model_id

    @property
    def _llm_type(self) -> str:
        return "gymsmith-llama-cpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.recorded_model}

    def _load(self) -> Any:
        if self._llama is None:
            require_llama_cpp()
            from llama_cpp import Llama

            path = self.local_model.file()
            with without_extra_buffer_types():
                self._llama = Llama(
                    model_path=str(path),
                    n_ctx=self.n_ctx,
                    n_threads=self.n_threads or _llm_threads(),
                    chat_format=self.local_model.chat_format,
                    verbose=False,
                )
        return self._llama

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        llama = self._load()
        roles = {"system": "system", "human": "user", "ai": "assistant"}
        chat = [{"role": roles.get(m.type, "user"), "content": str(m.content)} for m in messages]
        schema = kwargs.get("json_schema")
        response_format = {"type": "json_object", "schema": schema} if schema else None
        out = llama.create_chat_completion(
            messages=chat,
            temperature=float(kwargs.get("temperature", 0.7)),
            max_tokens=int(kwargs.get("max_tokens", 512)),
            seed=kwargs.get("seed"),
            stop=stop,
            response_format=response_format,
        )
        text = out["choices"][0]["message"]["content"] or ""
        usage = out.get("usage", {})
        mode: StructuredMode = structured.JSON_OBJECT if schema else structured.UNCONSTRAINED
        message = AIMessage(
            content=text,
            usage_metadata={
                "input_tokens": usage.get("prompt_tokens", 0),
                "output_tokens": usage.get("completion_tokens", 0),
                "total_tokens": usage.get("total_tokens", 0),
            },
            response_metadata={"structured": mode},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


# ------------------------------------------------------------------------------------------- replay


class CassetteMiss(KeyError):
    """The replay backend was asked something that was never recorded."""


def load_cassette(path: str | Path) -> dict[str, Any]:
    data = json.loads(Path(path).read_text())
    if "entries" not in data:
        raise ValueError(f"{path} is not a gymsmith cassette (no 'entries')")
    return data


class ReplayChat(BaseChatModel):
    """Answers from a cassette of recorded real responses; never reaches a model or a network."""

    cassette_path: str
    _cassette: dict[str, Any] = PrivateAttr(default_factory=dict)

    def model_post_init(self, __context: Any) -> None:
        super().model_post_init(__context)
        self._cassette = load_cassette(self.cassette_path)

    @property
    def model_name(self) -> str:
        return str(self._cassette.get("model", "replay"))

    @property
    def _llm_type(self) -> str:
        return "gymsmith-replay"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        key = call_key(self.model_name, messages, kwargs)
        entry = self._cassette["entries"].get(key)
        if entry is None:
            raise CassetteMiss(
                f"no recorded response for this call in {self.cassette_path} (key {key[:12]}); "
                "re-record it with --record from a real backend"
            )
        usage = entry.get("usage", {})
        message = AIMessage(
            content=entry["response"],
            usage_metadata={
                "input_tokens": usage.get("input_tokens", 0),
                "output_tokens": usage.get("output_tokens", 0),
                "total_tokens": usage.get("input_tokens", 0) + usage.get("output_tokens", 0),
            },
            # the mode it was recorded in; cassettes from before modes were recorded have none
            response_metadata={"structured": entry.get("structured")},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


# ------------------------------------------------------------------------------------------ factory


def make_chat_model(
    backend: str = "local",
    model: str | None = None,
    base_url: str | None = None,
    cassette: str | Path | None = None,
    api_key: str | None = None,
) -> BaseChatModel:
    """Return a LangChain chat model for ``backend``; unknown names fail with the list of valid ones."""
    if backend == "local":
        require_llama_cpp()
        resolve_local_model(model)  # a bad name or path fails here as itself, not wrapped by pydantic
        return LocalLlamaChat(model_name=model or DEFAULT_LOCAL_MODEL)
    if backend == "openai":
        from langchain_openai import ChatOpenAI

        key = api_key or os.environ.get("OPENAI_API_KEY")
        if not key and base_url is None:
            raise ValueError("the openai backend needs OPENAI_API_KEY in the environment (or --base-url)")
        return ChatOpenAI(model=model or "gpt-4o-mini", base_url=base_url, api_key=key or "not-needed")
    if backend == "replay":
        if cassette is None:
            raise ValueError("the replay backend needs a cassette file (--cassette PATH)")
        return ReplayChat(cassette_path=str(cassette))
    raise ValueError(f"unknown LLM backend {backend!r}; choose one of {', '.join(BACKENDS)}")


def model_id(chat: BaseChatModel) -> str:
    """The model name that goes into call keys, so a cassette recorded from X replays only as X."""
    for attr in ("recorded_model", "model_name", "model"):
        value = getattr(chat, attr, None)
        if isinstance(value, str) and value:
            return value
    return type(chat).__name__


# --------------------------------------------------------------------------------------- call layer


@dataclass
class LLMClient:
    """Cache → model → record: the one path every LLM call in gymsmith takes."""

    chat: BaseChatModel
    backend: str = "local"
    use_cache: bool = True
    record_path: Path | None = None
    calls: list[LLMCall] = field(default_factory=list)
    model_calls: int = 0

    @property
    def model(self) -> str:
        return model_id(self.chat)

    def _cache_file(self, key: str) -> Path:
        return cache_dir() / "llm" / key[:2] / f"{key}.json"

    def _invoke(self, messages: list[BaseMessage], params: dict[str, Any]) -> tuple[BaseMessage, str | None]:
        """Ask the model; returns the answer and how its JSON was obtained (see `structured`).

        The openai backend negotiates the mode with its server; the other backends say which mode they used.
        """
        if self.backend == "openai":
            kwargs = {k: v for k, v in params.items() if k != "json_schema"}
            return structured.invoke(self.chat, self.model, messages, kwargs, params.get("json_schema"))
        result = self.chat.invoke(messages, **params)
        mode = (getattr(result, "response_metadata", None) or {}).get("structured")
        return result, mode if mode in structured.MODES else None

    def complete(self, template: str, system: str, user: str, **params: Any) -> tuple[str, LLMCall]:
        """One chat call; returns the text and its audit record (also appended to ``calls``)."""
        messages: list[BaseMessage] = [SystemMessage(system), HumanMessage(user)]
        key = call_key(self.model, messages, params)
        cached = self._cache_file(key)
        start = time.perf_counter()
        if self.use_cache and cached.exists():
            entry = json.loads(cached.read_text())
            text, usage, was_cached = entry["response"], entry.get("usage", {}), True
        else:
            result, mode = self._invoke(messages, params)
            self.model_calls += 1
            text = str(result.content)
            meta = getattr(result, "usage_metadata", None) or {}
            usage = {"input_tokens": meta.get("input_tokens", 0), "output_tokens": meta.get("output_tokens", 0)}
            was_cached = False
            entry = {"response": text, "usage": usage, "model": self.model}
            if mode is not None:
                entry["structured"] = mode
            if self.use_cache:
                cached.parent.mkdir(parents=True, exist_ok=True)
                cached.write_text(json.dumps(entry))
        if self.record_path is not None:
            self._record(key, entry)
        call = LLMCall(
            backend=self.backend,
            model=self.model,
            template=template,
            prompt_hash=prompt_hash(messages),
            prompt_tokens=int(usage.get("input_tokens", 0)),
            completion_tokens=int(usage.get("output_tokens", 0)),
            latency_s=time.perf_counter() - start,
            cached=was_cached,
            response=text,
            structured=entry.get("structured") if entry.get("structured") in structured.MODES else None,
        )
        self.calls.append(call)
        return text, call

    def _record(self, key: str, entry: dict[str, Any]) -> None:
        path = Path(self.record_path)  # type: ignore[arg-type]
        data = load_cassette(path) if path.exists() else {"model": self.model, "entries": {}}
        if data.get("model") != self.model:
            raise ValueError(f"cassette {path} holds model {data.get('model')!r}, not {self.model!r}")
        data["entries"][key] = {"response": entry["response"], "usage": entry.get("usage", {})}
        if entry.get("structured"):
            data["entries"][key]["structured"] = entry["structured"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=1, sort_keys=True))

    def structured_summary(self) -> str:
        """Which structured-output modes the answers came in, and why, e.g. ``json_object (fallback: ...)``.

        Empty when no call's mode is known (answers from cassettes recorded before modes were recorded).
        """
        modes = list(dict.fromkeys(c.structured for c in self.calls if c.structured))
        if not modes:
            return ""
        learned = structured.known(structured.server_url(self.chat), self.model) if self.backend == "openai" else None
        note = learned.note() if learned else ""
        return ", ".join(modes) + (f" ({note})" if note else "")

    def totals(self) -> dict[str, Any]:
        """Cost summary every command prints: calls made, cache hits, tokens, seconds, structured-output mode."""
        return {
            "calls": len(self.calls),
            "model_calls": self.model_calls,
            "cached": sum(c.cached for c in self.calls),
            "prompt_tokens": sum(c.prompt_tokens for c in self.calls),
            "completion_tokens": sum(c.completion_tokens for c in self.calls),
            "latency_s": round(sum(c.latency_s for c in self.calls), 2),
            "structured": self.structured_summary(),
        }
