"""Recorded venue sessions: replay a JSONL file as if the venue were sending it, or record one.

Any venue whose source receives text messages (websocket frames, HTTP bodies) records and
replays them in this one format; a venue's ``source`` module decides what a message means.

Format (one JSON object per line, UTF-8)::

    {"t_ms": 0, "text": "{\\"jsonrpc\\":\\"2.0\\",\\"id\\":1,\\"result\\":\\"...\\"}"}
    {"t_ms": 137, "text": "{\\"jsonrpc\\":\\"2.0\\",\\"method\\":\\"event\\",...}"}

``t_ms`` is milliseconds since the start of the recording (non-decreasing); ``text`` is the
message exactly as received (e.g. a websocket frame), valid or not: a malformed *message* is
data and goes on to the normaliser, whereas a malformed *line* of this file is an error
naming its line number.
Blank lines are ignored.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Literal

from unrip.contracts.envelope import utc_now
from unrip.venues.sources import ReceivedMessage

Pace = Literal["recorded", "fast"]
Relabel = Callable[[str, int], str]
"""(message text, pass number >= 1) -> the text to replay on that pass of a looping feed."""


class FeedFormatError(ValueError):
    """A line of a feed file that is not a feed record; names the file and line number."""

    def __init__(self, path: Path, line_number: int, problem: str) -> None:
        super().__init__(f"{path}:{line_number}: {problem}")
        self.path = path
        self.line_number = line_number


class FileFeed:
    """Async-iterable replay of a feed file, yielding ``ReceivedMessage`` like ``RelayClient``.

    ``pace="recorded"`` reproduces the recorded gaps divided by ``speed``; each message is due
    at ``start + t_ms / speed``, so a slow consumer delays messages but never shifts the
    schedule (no drift). ``pace="fast"`` yields as fast as the consumer takes them.
    ``received_at`` is the moment a message is yielded.

    With ``loop=True`` the file repeats forever, each pass starting where the previous one
    ended. Venue ids must stay unique downstream (they key commands and dedupe demands), so
    on every pass after the first each message goes through the venue's ``relabel`` (NEAR
    Intents suffixes the quote id with ``#<pass>``); without one, messages repeat verbatim.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        pace: Pace,
        speed: float = 1.0,
        loop: bool = False,
        relabel: Relabel | None = None,
        now: Callable[[], datetime] = utc_now,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.path = Path(path)
        self.pace = pace
        self.speed = speed
        self.loop = loop
        self._relabel = relabel
        self._now = now
        self._clock = clock
        self._sleep = sleep

    def __aiter__(self) -> AsyncIterator[ReceivedMessage]:
        return self._replay()

    @property
    def connected(self) -> bool:
        return True  # a recording is always there to read

    # ``async with`` like a live source, so the ingest drives either with the same code.
    async def __aenter__(self) -> FileFeed:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def _replay(self) -> AsyncIterator[ReceivedMessage]:
        start = self._clock()
        offset_ms = 0
        passes = 0
        while True:
            last_ms = 0
            for t_ms, text in _records(self.path):
                last_ms = t_ms
                if passes and self._relabel is not None:
                    text = self._relabel(text, passes)
                if self.pace == "recorded":
                    delay = start + (offset_ms + t_ms) / 1000 / self.speed - self._clock()
                    await self._sleep(max(delay, 0.0))
                else:
                    await self._sleep(0)  # let other tasks run between messages
                yield ReceivedMessage(text=text, received_at=self._now())
            passes += 1
            offset_ms += last_ms
            if not self.loop:
                return


def _records(path: Path) -> Iterator[tuple[int, str]]:
    """(t_ms, text) per record, each line validated as it is read."""
    previous_ms = 0
    with path.open("rb") as lines:  # decoded per line, so a bad byte names its line
        for line_number, raw in enumerate(lines, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise FeedFormatError(path, line_number, f"not UTF-8: {exc.reason}") from None
            if not line.strip():
                continue
            try:
                t_ms, text = parse_line(line, previous_ms=previous_ms)
            except ValueError as exc:
                raise FeedFormatError(path, line_number, str(exc)) from None
            previous_ms = t_ms
            yield t_ms, text


def parse_line(line: str, *, previous_ms: int = 0) -> tuple[int, str]:
    """One feed record; ``ValueError`` says what is wrong with it."""
    try:
        record = json.loads(line)
    except ValueError as exc:
        raise ValueError(f"not a JSON object: {exc}") from None
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object, got {type(record).__name__}")
    t_ms, text = record.get("t_ms"), record.get("text")
    if type(t_ms) is not int or t_ms < 0:
        raise ValueError(f"t_ms must be a non-negative integer, got {t_ms!r}")
    if t_ms < previous_ms:
        raise ValueError(f"t_ms goes backwards ({t_ms} after {previous_ms})")
    if not isinstance(text, str):
        raise ValueError(f"text must be a string (the frame), got {type(text).__name__}")
    extra = set(record) - {"t_ms", "text"}
    if extra:
        raise ValueError(f"unknown fields {sorted(extra)}")
    return t_ms, text


def format_line(t_ms: int, text: str) -> str:
    """One feed record, newline-terminated."""
    return json.dumps({"t_ms": t_ms, "text": text}, ensure_ascii=False) + "\n"


class FeedRecorder:
    """Writes received frames to a feed file, ``t_ms`` measured from the first frame."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._file: IO[str] | None = None
        self._first: datetime | None = None
        self._previous_ms = 0

    def __enter__(self) -> FeedRecorder:
        self._file = self.path.open("w", encoding="utf-8")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def write(self, message: ReceivedMessage) -> None:
        if self._file is None:
            raise RuntimeError("use FeedRecorder as a context manager")
        if self._first is None:
            self._first = message.received_at
        t_ms = int((message.received_at - self._first).total_seconds() * 1000)
        # Clock steps backwards must not produce an unreadable file.
        self._previous_ms = max(self._previous_ms, t_ms)
        self._file.write(format_line(self._previous_ms, message.text))
