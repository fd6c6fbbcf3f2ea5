"""The unit the relay client and the file feed both produce: one websocket frame, verbatim."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    """One text frame exactly as it arrived, and when it arrived (UTC).

    ``text`` is kept byte-for-byte so the raw topic holds the venue's truth and a recorded
    session replays into exactly the same normalised events.
    """

    text: str
    received_at: datetime
