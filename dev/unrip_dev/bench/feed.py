"""Fixed-rate feed files for the real ingest: the sample feed's quote frames, evenly spaced.

The ingest replays a feed file at its recorded pace divided by ``speed``. Record ``i`` is
written at ``t_ms = i``, so with ``UNRIP_INGEST_FEED_SPEED = rate / 1000`` it is due exactly
``i / rate`` seconds after the start: a fixed-rate driver that goes through the same code as
a live relay session.

The frames are the sample feed's valid quote requests (both relay forms, every token pair,
realistic sizes), with two changes so that every event measures the whole pipeline:

- each quote id becomes ``<prefix><n>``, unique per step (the reactor decides a quote id only
  once) and recognisable in the results;
- ``max_wait_ms`` is dropped, so the deadline is the ingest's response window (the bench sets
  it to a minute) and a backlog shows up as latency rather than as expired demands.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from unrip.venues.feed import format_line, parse_line
from unrip.venues.near_intents.normalizer import NormalizeError, normalize
from unrip.venues.near_intents.source import QUOTES

assert QUOTES.recorded_feed is not None
SAMPLE_FEED = QUOTES.recorded_feed


def _quote_fields(message: dict[str, Any]) -> dict[str, Any]:
    params = message["params"]
    data = params.get("data")
    return data if isinstance(data, dict) else params


@cache
def template_frames() -> tuple[str, ...]:
    """The sample feed's frames that normalise into a demand (malformed and status dropped)."""
    frames = []
    at = datetime.now(UTC)
    for line in SAMPLE_FEED.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        _, text = parse_line(line)
        try:
            normalized = normalize(text, observed_at=at, source="file", response_window_ms=1000)
        except NormalizeError:
            continue
        if normalized is not None:
            frames.append(text)
    return tuple(frames)


def frames(prefix: str, count: int) -> Iterator[str]:
    """``count`` quote frames with quote ids ``<prefix>0`` .. ``<prefix><count-1>``."""
    templates = template_frames()
    for n in range(count):
        message = json.loads(templates[n % len(templates)])
        fields = _quote_fields(message)
        fields["quote_id"] = f"{prefix}{n}"
        fields.pop("max_wait_ms", None)
        yield json.dumps(message, separators=(",", ":"))


def write_feed(path: Path, prefix: str, count: int) -> Path:
    """A feed file of ``count`` frames at ``t_ms = 0, 1, 2, ...`` (1,000/s at speed 1)."""
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for n, text in enumerate(frames(prefix, count)):
            handle.write(format_line(n, text))
    return path


def speed_for(rate_per_s: float) -> float:
    """The ingest's feed speed that replays a ``write_feed`` file at ``rate_per_s``."""
    return rate_per_s / 1000.0
