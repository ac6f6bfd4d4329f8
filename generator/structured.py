"""Structured output on OpenAI-compatible servers: the strongest mode a server accepts, found once.

Servers differ in what ``response_format`` they take. OpenAI takes ``json_schema``; llama-cpp-python's server
only ``text`` or ``json_object`` (with a ``schema`` it compiles into a grammar) and answers anything else with
an HTTP 500; other servers ignore or reject both. Rather than guess from a URL, the first call to a
(server, model) asks for ``json_schema`` and steps down to ``json_object`` and then to free text only when the
server's error says it refused the ``response_format``; the mode that worked is remembered for the process.
Free text is still validated and repaired once by the caller, so a weaker server degrades the answers'
quality, never the command. Any other error (no server, a wrong key, a crash) is reported as what it is.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any, NoReturn, get_args

from gymsmith.schemas import StructuredMode

MODES: tuple[StructuredMode, ...] = get_args(StructuredMode)
JSON_SCHEMA, JSON_OBJECT, UNCONSTRAINED = MODES
#: Status codes a server uses to refuse a request it cannot parse: 400/422 as meant, 500 from llama-cpp-python.
REFUSAL_STATUS = (400, 422, 500)
_REFUSAL_TEXT = re.compile(r"response_format|json_schema|json_object", re.IGNORECASE)


class LLMBackendError(RuntimeError):
    """A server could not answer (unreachable, a rejected key, an error that is not a refusal), said plainly."""


def response_format(mode: StructuredMode, schema: dict[str, Any]) -> dict[str, Any] | None:
    """The ``response_format`` request field for ``mode``; None means none is sent."""
    if mode == JSON_SCHEMA:
        return {"type": "json_schema", "json_schema": {"name": "gymsmith_output", "schema": schema}}
    if mode == JSON_OBJECT:
        return {"type": "json_object", "schema": schema}
    return None


def _one_line(text: str, limit: int = 240) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _message(exc: BaseException) -> str:
    """The server's own words: the error body's message where there is one (OpenAI error shape)."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return _one_line(body["message"])
    return _one_line(getattr(exc, "message", None) or str(exc))


def is_refusal(exc: BaseException) -> bool:
    """The server refused the ``response_format`` itself: an HTTP error status whose message is about it."""
    return getattr(exc, "status_code", None) in REFUSAL_STATUS and bool(_REFUSAL_TEXT.search(_message(exc)))


def explain(exc: BaseException, server: str) -> LLMBackendError:
    """One line that names the server and what went wrong, for errors that are not refusals."""
    import openai

    if isinstance(exc, openai.APIConnectionError):
        return LLMBackendError(f"cannot reach the openai backend at {server}: {_message(exc)} (is the server up?)")
    status = getattr(exc, "status_code", None)
    if status in (401, 403):
        return LLMBackendError(
            f"the openai backend at {server} rejected the API key (HTTP {status}: {_message(exc)}); "
            "set OPENAI_API_KEY"
        )
    if status is not None:
        return LLMBackendError(f"the openai backend at {server} answered HTTP {status}: {_message(exc)}")
    return LLMBackendError(f"the openai backend at {server} failed: {type(exc).__name__}: {_message(exc)}")


@dataclass
class Negotiated:
    """What one (server, model) accepts, learned from its first structured call."""

    mode: StructuredMode
    #: The modes it refused, with the server's message.
    refused: dict[str, str] = field(default_factory=dict)

    def note(self) -> str:
        if not self.refused:
            return ""
        return f"fallback: the server refused {' and '.join(self.refused)}"


_KNOWN: dict[tuple[str, str], Negotiated] = {}
_LOCK = threading.Lock()


def known(server: str, model: str) -> Negotiated | None:
    with _LOCK:
        return _KNOWN.get((server, model))


def forget(server: str | None = None) -> None:
    """Drop what was learned (about one server, or all): the next call negotiates again."""
    with _LOCK:
        for key in [k for k in _KNOWN if server is None or k[0] == server]:
            del _KNOWN[key]


def server_url(chat: Any) -> str:
    """Where a chat model sends its requests: the (server, model) pair is what a mode is learned for."""
    base = getattr(chat, "openai_api_base", None)
    if not base:
        client = getattr(chat, "root_client", None)
        base = str(getattr(client, "base_url", "") or "") or type(chat).__name__
    return str(base).rstrip("/")


def invoke(chat: Any, model: str, messages: list[Any], params: dict[str, Any],
           schema: dict[str, Any] | None) -> tuple[Any, StructuredMode]:
    """Call ``chat`` in the strongest mode its server accepts; returns the answer and the mode used.

    Without a schema the call is plain text. With one, the first call to a (server, model) tries the modes
    strongest first; later calls start at the mode that worked.
    """
    server = server_url(chat)
    if not schema:
        return _call(chat, messages, params, server), UNCONSTRAINED
    learned = known(server, model)
    start = MODES.index(learned.mode) if learned else 0
    refused: dict[str, str] = {}
    for mode in MODES[start:]:
        kwargs = dict(params)
        fmt = response_format(mode, schema)
        if fmt is not None:
            kwargs["response_format"] = fmt
        try:
            result = chat.invoke(messages, **kwargs)
        except Exception as exc:
            if mode != UNCONSTRAINED and is_refusal(exc):
                refused[mode] = _message(exc)
                continue
            _reraise(exc, server)
        if learned is None or refused:
            with _LOCK:
                _KNOWN[(server, model)] = Negotiated(mode, {**(learned.refused if learned else {}), **refused})
        return result, mode
    raise AssertionError("unreachable: the unconstrained mode is never refused")


def _call(chat: Any, messages: list[Any], params: dict[str, Any], server: str) -> Any:
    try:
        return chat.invoke(messages, **params)
    except Exception as exc:
        _reraise(exc, server)


def _reraise(exc: Exception, server: str) -> NoReturn:
    """Server errors become one clear line; anything else (a bug, a cassette miss) stays what it is."""
    import openai

    if isinstance(exc, openai.APIError):
        raise explain(exc, server) from exc
    raise exc
