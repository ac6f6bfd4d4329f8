"""Start a real `gymsmith serve` (llama-cpp-python's server) on a free loopback port; always stop it after."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Server:
    base_url: str
    #: What the server printed until it answered (the model, its sha256, the suggested flags).
    banner: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served(model: str | None = None, threads: int = 1, n_ctx: int = 2048, timeout_s: float = 90.0) -> Iterator[Server]:
    """Yield the server's base URL once ``/v1/models`` answers; the server log is in the error if it dies."""
    port = free_port()
    cmd = [sys.executable, "-m", "gymsmith.cli", "serve", "--port", str(port), "--threads", str(threads),
           "--n-ctx", str(n_ctx)] + (["--model", model] if model else [])
    env = {**os.environ, "GYMSMITH_LLM_THREADS": str(threads), "COLUMNS": "200"}
    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / "serve.log"
        with log_path.open("w") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        base = f"http://127.0.0.1:{port}/v1"
        try:
            _wait_until_up(base, proc, timeout_s, log_path)
            yield Server(base, log_path.read_text())
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_until_up(base: str, proc: subprocess.Popen, timeout_s: float, log_path: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gymsmith serve exited with {proc.returncode}:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(f"{base}/models", timeout=2) as reply:
                if reply.status == 200 and json.load(reply).get("data"):
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
            pass
        time.sleep(0.25)
    raise RuntimeError(f"gymsmith serve did not answer within {timeout_s:.0f}s:\n{log_path.read_text()}")
