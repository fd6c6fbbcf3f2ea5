"""NEAR Intents: the solver relay as a demand source and as an execution venue.

- ``normalizer``: relay frame -> raw quote event + ``SwapDemandV1`` (ingest hot path)
- ``relay``: websocket JSON-RPC client (reconnects, resubscribes, id-correlated requests)
- ``feed``: recorded sessions (JSONL) replayed at recorded or full speed, and recorded
- ``nep413`` / ``quote_response``: signing a ``token_diff`` intent as a quote answer
- ``responder``: ``NearIntentsVenue``, the ``unrip.venues.base.Venue`` for the live relay
- ``settings``: ``NearIntentsSettings`` from ``UNRIP_NEAR_INTENTS_*``
- ``tokens``: reference token table (asset id, symbol, decimals, USD price)
- ``make_sample_feed``: writes ``data/sample_feed.jsonl``, a deterministic recorded minute
- ``fake_relay``: the relay's protocol on 127.0.0.1, for tests and offline demos

docs/venues/near-intents.md explains the venue, the formats and the limits.
"""

from typing import Final

VENUE: Final = "near_intents"
