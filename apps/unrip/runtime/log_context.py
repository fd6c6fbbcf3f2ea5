"""Which command or demand a log line is about, carried by context variables.

A service binds the ids while it works on one command (or one batch of them); every line
logged meanwhile, by its own code or by a venue adapter it calls, then carries ``command_id`` /
``command_ids`` / ``correlation_id`` without each call site passing them. asyncio tasks copy
the context when they are created, so a task started while bound keeps the ids after the
binding is reset (the NEAR venue waits for a settlement that way).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any, Final

# At most this many ids of a batch on one line: enough to grep for, never a page of ids.
MAX_IDS_PER_LINE: Final = 20

_COMMAND_ID: ContextVar[str | None] = ContextVar("unrip_command_id", default=None)
_COMMAND_IDS: ContextVar[tuple[str, ...] | None] = ContextVar("unrip_command_ids", default=None)
_CORRELATION_ID: ContextVar[str | None] = ContextVar("unrip_correlation_id", default=None)
_FIELDS: Final = (
    ("command_id", _COMMAND_ID),
    ("command_ids", _COMMAND_IDS),
    ("correlation_id", _CORRELATION_ID),
)


class bind:  # noqa: N801 (used like a function: `with bind(...)` or `tags = bind(...)`)
    """Tag log lines until ``reset`` (or the end of a ``with`` block); a batch of one is
    tagged as that command."""

    def __init__(
        self,
        *,
        command_id: str | None = None,
        command_ids: Sequence[str] | None = None,
        correlation_id: str | None = None,
    ) -> None:
        if command_ids is not None and len(command_ids) == 1 and command_id is None:
            command_id = command_ids[0]
        ids = tuple(command_ids[:MAX_IDS_PER_LINE]) if command_ids else None
        self._tokens: list[tuple[ContextVar[Any], Token[Any]]] = []
        if command_id is not None:
            self._tokens.append((_COMMAND_ID, _COMMAND_ID.set(command_id)))
        if ids is not None:
            self._tokens.append((_COMMAND_IDS, _COMMAND_IDS.set(ids)))
        if correlation_id is not None:
            self._tokens.append((_CORRELATION_ID, _CORRELATION_ID.set(correlation_id)))

    def reset(self) -> None:
        for var, token in reversed(self._tokens):
            var.reset(token)
        self._tokens = []

    def __enter__(self) -> bind:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.reset()


class ContextFilter(logging.Filter):
    """Adds the bound ids to each record (an explicit ``extra`` of the same name wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in _FIELDS:
            value = var.get()
            if value is not None and not hasattr(record, name):
                setattr(record, name, list(value) if isinstance(value, tuple) else value)
        return True
