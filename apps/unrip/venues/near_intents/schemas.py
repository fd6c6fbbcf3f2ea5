"""The NEAR Intents raw payload: what ``raw.near_intents.quote`` carries beside the exact frame.

Registered with the codec when the venue's plug-in is loaded (``unrip.venues.registry``), so
a reader of the raw topic decodes it like any other schema.
"""

from __future__ import annotations

from typing import Literal

from unrip.contracts.envelope import Payload
from unrip.contracts.payloads import Id


class NearIntentsQuoteEventV1(Payload):
    """A quote event from the NEAR Intents solver relay; the exact text is in ``raw``."""

    EVENT_TYPE = "near_intents.quote_event"
    SCHEMA_VERSION = 1

    source: Literal["relay", "file"]
    subscription: Id | None = None
    quote_id: Id | None = None
