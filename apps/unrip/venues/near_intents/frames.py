"""Relay frames: the fields of an event, in either of the forms the relay has sent."""

from __future__ import annotations

import json
from typing import Any


def event_fields(text: str) -> dict[str, Any] | None:
    """The fields of a relay event in either form (live ``params.data``, or the documented flat
    ``params``); None for anything that is not a JSON-RPC message with params."""
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than json follows
        return None
    params = message.get("params") if isinstance(message, dict) else None
    if not isinstance(params, dict):
        return None
    data = params.get("data")
    return data if isinstance(data, dict) else params
