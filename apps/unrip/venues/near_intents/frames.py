"""The unit the relay client and the file feed both produce: one websocket frame, verbatim."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    """One text frame exactly as it arrived, and when it arrived (UTC).

    ``text`` is kept byte-for-byte so the raw topic holds the venue's truth and a recorded
    session replays into exactly the same normalised events.
    """

    text: str
    received_at: datetime


def event_fields(text: str) -> dict[str, Any] | None:
    """The fields of a relay event in either form (live ``params.data``, or the documented flat
    ``params``); None for anything that is not a JSON-RPC message with params."""
    try:
        message = json.loads(text)
    except ValueError:
        return None
    params = message.get("params") if isinstance(message, dict) else None
    if not isinstance(params, dict):
        return None
    data = params.get("data")
    return data if isinstance(data, dict) else params
