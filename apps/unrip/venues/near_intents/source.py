"""The NEAR Intents quote stream as the ingest hosts it: relay or recording in, demands out.

Every quote event becomes a raw event (``raw.near_intents.quote``, keyed by quote id, with
the exact frame) and a ``norm.swap_demand`` keyed by ``near_intents:<quote id>``. Frames that
are not quote events (acks, ``quote_status``) are ignored; malformed quote events raise
``NormalizeError`` with a stable code, which the ingest dead-letters.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

from unrip.topics import NORM_SWAP_DEMAND, RAW_NEAR_INTENTS_QUOTE, demand_key
from unrip.venues.near_intents import VENUE
from unrip.venues.near_intents.frames import event_fields
from unrip.venues.near_intents.settings import DEFAULT_RELAY_URL, NearIntentsSettings
from unrip.venues.sources import (
    Derived,
    MessageSource,
    Normalized,
    Normalizer,
    ReceivedMessage,
    SourceKind,
    Stream,
)


def open_relay() -> MessageSource:
    """The live relay, subscribed to quotes (reconnects and resubscribes on its own)."""
    from unrip.venues.near_intents.relay import Backoff, RelayClient

    near = NearIntentsSettings()
    return RelayClient(
        near.relay_url,
        jwt=near.jwt,
        subscriptions=near.subscriptions,
        quote_filter=near.quote_filter(),
        backoff=Backoff(initial_s=near.reconnect_initial_s, max_s=near.reconnect_max_s),
        request_timeout_s=near.request_timeout_s,
    )


def quote_normalizer() -> Normalizer:
    from unrip.venues.near_intents.normalizer import normalize

    window_ms = NearIntentsSettings().response_window_ms

    def normalized(message: ReceivedMessage, *, source: SourceKind) -> Normalized | None:
        quote = normalize(
            message.text,
            observed_at=message.received_at,
            source="relay" if source == "live" else "file",
            response_window_ms=window_ms,
        )
        if quote is None:
            return None
        demand = Derived(
            topic=NORM_SWAP_DEMAND, key=demand_key(VENUE, quote.quote_id), payload=quote.demand
        )
        return Normalized(key=quote.quote_id, raw=quote.raw, derived=(demand,))

    return normalized


def relabel_quote_id(text: str, pass_number: int) -> str:
    """A looping recording's frame on a later pass: its quote id suffixed ``#<pass>``.

    Quote ids key demands and commands, so a replayed quote must not look like a duplicate;
    nothing else in the frame changes.
    """
    fields = event_fields(text) if "quote_id" in text else None
    quote_id = fields.get("quote_id") if fields is not None else None
    if not isinstance(quote_id, str):
        return text
    return text.replace(json.dumps(quote_id), json.dumps(f"{quote_id}#{pass_number}"))


def relay_reachable() -> bool:
    """A partner JWT is set and the relay accepts connections (``invoke dev --source auto``)."""
    if not os.environ.get("UNRIP_NEAR_INTENTS_JWT"):
        return False
    url = urlsplit(os.environ.get("UNRIP_NEAR_INTENTS_RELAY_URL", DEFAULT_RELAY_URL))
    try:
        with socket.create_connection((url.hostname or "", url.port or 443), timeout=2):
            return True
    except OSError:
        return False


QUOTES = Stream(
    name="quotes",
    raw_topic=RAW_NEAR_INTENTS_QUOTE,
    open_live=open_relay,
    normalizer=quote_normalizer,
    recorded_feed=Path(__file__).with_name("data") / "sample_feed.jsonl",
    relabel=relabel_quote_id,
    live_configured=relay_reachable,
)
