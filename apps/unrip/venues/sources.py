"""What a venue's data side hands the ingest: received messages and their normalised meaning.

A venue streams text messages (websocket frames, HTTP bodies), live or replayed from a
recorded feed. Its normaliser turns each message into a raw event (the venue's own schema,
published with the exact text) plus the venue-independent events derived from it, or rejects
it with a stable reason code (the ingest dead-letters it), or ignores it (acks, pings). The
ingest publishes whatever a stream yields and knows nothing else of the venue.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Final, Literal, Protocol, Self

from unrip.contracts.envelope import Payload

SourceKind = Literal["live", "file"]


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    """One message exactly as it arrived, and when it arrived (UTC).

    ``text`` is kept byte-for-byte so the raw topic holds the venue's truth and a recorded
    session replays into exactly the same normalised events.
    """

    text: str
    received_at: datetime


class NormalizeError(ValueError):
    """A venue message that cannot become an event. ``code`` is stable, ``detail`` is prose
    (cut to 1,000 characters: it may quote a hostile message)."""

    def __init__(self, code: str, detail: str) -> None:
        if len(detail) > 1000:
            detail = f"{detail[:1000]}...(+{len(detail) - 1000} chars)"
        super().__init__(f"{code}: {detail}")
        self.code: Final = code
        self.detail: Final = detail


@dataclass(frozen=True, slots=True, kw_only=True)
class Derived:
    """One venue-independent event derived from a message: where it goes and what it says."""

    topic: str
    key: str
    payload: Payload


@dataclass(frozen=True, slots=True, kw_only=True)
class Normalized:
    """An accepted message: its raw event (keyed on the raw topic) and what it derives."""

    key: str
    raw: Payload
    derived: tuple[Derived, ...]


class Normalizer(Protocol):
    def __call__(self, message: ReceivedMessage, *, source: SourceKind) -> Normalized | None:
        """The message's meaning; None for traffic that is not an event; raises NormalizeError."""
        ...


class MessageSource(Protocol):
    """Received messages, opened with ``async with`` and read with ``async for``."""

    @property
    def connected(self) -> bool:
        """Whether messages can arrive now (readiness follows it; a file is always connected)."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    def __aiter__(self) -> AsyncIterator[ReceivedMessage]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Stream:
    """One stream of a venue (quotes, later prices or order books) as the ingest hosts it.

    The callables read the venue's own settings when called, in the ingest's process only.
    """

    name: str
    raw_topic: str
    open_live: Callable[[], MessageSource]
    normalizer: Callable[[], Normalizer]
    recorded_feed: Path | None = None
    relabel: Callable[[str, int], str] | None = None
    live_configured: Callable[[], bool] = lambda: False
