"""One registry per vocabulary (families, curricula), so a name is declared once.

The CLI help, the config check and the error for an unknown name are all generated from the registry entries,
so a name cannot be accepted in one place and unknown in another. Registries live where their vocabulary is
defined (families in ``envs/``, curricula in ``curricula/``); this module is only the mechanism.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class UnknownName(ValueError):
    """A name no entry has; the message lists the known ones (and close matches)."""


@dataclass(frozen=True)
class Entry(Generic[T]):
    """A registered name: the object behind it, one line of help, and free-form facts (e.g. families served)."""

    name: str
    value: T
    help: str = ""
    facts: dict[str, Any] = field(default_factory=dict)


class Registry(Generic[T]):
    """Ordered name → entry map; registering a taken name is an error, not an override."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}

    def register(self, name: str, value: T, help: str = "", **facts: Any) -> T:
        if name in self._entries and self._entries[name].value is not value:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = Entry(name, value, help, dict(facts))
        return value

    def decorator(self, name: str, help: str = "", **facts: Any) -> Callable[[T], T]:
        def register(value: T) -> T:
            return self.register(name, value, help, **facts)

        return register

    def entry(self, name: str) -> Entry[T]:
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownName(self.unknown(name)) from None

    def get(self, name: str) -> T:
        return self.entry(name).value

    def unknown(self, name: str) -> str:
        close = difflib.get_close_matches(name, list(self._entries), n=2)
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        return f"unknown {self.kind} {name!r}{hint}; choose one of {', '.join(self._entries)}"

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def help_text(self) -> str:
        """``name: help`` lines, for CLI help and error messages."""
        return "; ".join(f"{e.name}: {e.help}" if e.help else e.name for e in self._entries.values())

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Entry[T]]:
        return iter(list(self._entries.values()))
