"""``gymsmith serve``: llama-cpp-python's OpenAI-compatible server, for a local GGUF model, loaded safely.

``python -m llama_cpp.server`` loads its model itself, so it crashes on CPUs with AMX the same way an unpatched
in-process load does (see `local_models.without_extra_buffer_types`). This launcher applies the fix to the
serving process, resolves ``--model`` exactly as the local backend does (embedded name or GGUF path, by
content), and serves it under its gymsmith model id, so ``--backend openai --model <id>`` names the same model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gymsmith.generator.local_models import (
    LOCAL_EXTRA,
    LocalModel,
    disable_extra_buffer_types_for_process,
    llm_threads,
    require_llama_cpp,
    resolve_local_model,
)


@dataclass(frozen=True)
class ServePlan:
    """What `serve` will run: shown to the user before the (slow) model load starts."""

    model: LocalModel
    path: Path
    host: str
    port: int
    n_ctx: int
    threads: int

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"


def plan(model: str | None, host: str = "127.0.0.1", port: int = 8000, n_ctx: int = 4096,
         threads: int | None = None) -> ServePlan:
    """Resolve and check everything before loading: bad input fails here with one line."""
    require_llama_cpp()
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise ValueError(
            f"gymsmith serve needs llama-cpp-python's server: pip install 'gymsmith[{LOCAL_EXTRA}]'"
        ) from None
    if not 0 < port < 65536:
        raise ValueError(f"--port must be between 1 and 65535, not {port}")
    resolved = resolve_local_model(model)
    return ServePlan(resolved, resolved.file(), host, port, n_ctx, threads or llm_threads())


def build_app(serve_plan: ServePlan) -> Any:
    """The FastAPI app of llama-cpp-python's server, with the model loaded (under the AMX fix)."""
    from llama_cpp.server.app import create_app
    from llama_cpp.server.settings import ModelSettings, ServerSettings

    disable_extra_buffer_types_for_process()
    model_settings = ModelSettings(
        model=str(serve_plan.path),
        model_alias=serve_plan.model.model_id,
        chat_format=serve_plan.model.chat_format,
        n_ctx=serve_plan.n_ctx,
        n_threads=serve_plan.threads,
        n_threads_batch=serve_plan.threads,
        logits_all=False,  # the server's default computes logits for every prompt token: slower, unused here
        verbose=False,
    )
    server_settings = ServerSettings(host=serve_plan.host, port=serve_plan.port)
    return create_app(server_settings=server_settings, model_settings=[model_settings])


def run_server(serve_plan: ServePlan) -> None:
    """Serve until interrupted."""
    import uvicorn

    uvicorn.run(build_app(serve_plan), host=serve_plan.host, port=serve_plan.port, log_level="warning")
