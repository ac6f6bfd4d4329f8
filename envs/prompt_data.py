"""Prompt text that families pick from (worked examples, reward-term descriptions), loaded from ``prompts/``."""

from __future__ import annotations

import functools
import json
from typing import Any

from gymsmith.templates import render


@functools.lru_cache(maxsize=1)
def examples() -> dict[str, Any]:
    """The worked examples of ``prompts/examples.json.j2``: every word the LLM reads lives under prompts/."""
    return json.loads(render("examples.json.j2"))
