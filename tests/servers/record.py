"""Record what a real llama-cpp-python server answers to each ``response_format`` (run: python tests/servers/record.py).

The fast structured-output tests serve these recorded answers from a loopback HTTP server, so the real
OpenAI client meets the exact status codes and bodies that llama-cpp-python's server sends; the slow test
(tests/test_serve.py) checks the same against the live server.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from serving import served  # noqa: E402

OUT = Path(__file__).parent / "llama_cpp_server.json"
SCHEMA = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
FORMATS = {
    "json_schema": {"type": "json_schema", "json_schema": {"name": "gymsmith_output", "schema": SCHEMA}},
    "json_object": {"type": "json_object", "schema": SCHEMA},
    "none": None,
}


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as reply:
            return {"status": reply.status, "body": json.load(reply)}
    except urllib.error.HTTPError as err:
        return {"status": err.code, "body": json.load(err)}


def main() -> None:
    import llama_cpp

    answers = {}
    with served() as server:
        for name, fmt in FORMATS.items():
            body = {"model": "qwen2.5-coder-0.5b", "max_tokens": 16, "temperature": 0, "seed": 0,
                    "messages": [{"role": "user", "content": "Answer with a JSON object whose field a is 3."}]}
            if fmt is not None:
                body["response_format"] = fmt
            answers[name] = {"request": body, **_post(f"{server.base_url}/chat/completions", body)}
            print(name, answers[name]["status"])
    OUT.write_text(json.dumps({"server": f"llama-cpp-python {llama_cpp.__version__}", "answers": answers},
                              indent=1) + "\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
