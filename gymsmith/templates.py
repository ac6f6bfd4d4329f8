"""Jinja2 rendering of the prompt templates in ``prompts/`` (package data).

A user directory (``--prompts DIR``) is searched first, so any template can be overridden by name without
touching the package.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "prompts"


def _package_prompts() -> Path:
    try:
        from importlib.resources import files

        return Path(str(files("gymsmith.prompts")))
    except (ModuleNotFoundError, TypeError):  # running from a source tree without installation
        return PACKAGE_DIR


def environment(user_dir: str | Path | None = None) -> jinja2.Environment:
    search = [str(user_dir)] if user_dir else []
    search.append(str(_package_prompts()))
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(search),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def render(name: str, user_dir: str | Path | None = None, **context: Any) -> str:
    """Render template ``name``; a missing variable is an error, never silently blank text."""
    try:
        return environment(user_dir).get_template(name).render(**context).strip()
    except jinja2.TemplateNotFound as exc:
        raise FileNotFoundError(f"prompt template {name!r} not found in {user_dir or ''} or the package") from exc
