"""What the ingest publishes for one venue message: pure, so it is tested without a broker.

An accepted message becomes its raw event (the exact text in ``raw``) followed by the events
derived from it; the raw event starts the lineage, so everything downstream carries its id as
correlation and the derived events name it as their cause. A rejected message becomes a
dead letter of the stream's raw topic with the normaliser's reason and the exact text.
"""

from __future__ import annotations

from unrip.contracts import make_envelope
from unrip.contracts.ids import new_event_id
from unrip.runtime.dlq import dead_letter
from unrip.runtime.kafka import Outgoing
from unrip.venues.sources import Normalized, NormalizeError, ReceivedMessage


def accepted(
    normalized: Normalized, message: ReceivedMessage, *, venue: str, raw_topic: str
) -> list[Outgoing]:
    origin = new_event_id()
    raw = make_envelope(
        normalized.raw,
        venue=venue,
        observed_at=message.received_at,
        raw=message.text,
        event_id=origin,
        correlation_id=origin,
    )
    records = [Outgoing(raw_topic, normalized.key, raw)]
    for derived in normalized.derived:
        envelope = make_envelope(
            derived.payload,
            venue=venue,
            observed_at=message.received_at,
            correlation_id=origin,
            causation_id=origin,
        )
        records.append(Outgoing(derived.topic, derived.key, envelope))
    return records


def rejected(
    error: NormalizeError, message: ReceivedMessage, *, venue: str, raw_topic: str
) -> Outgoing:
    return dead_letter(
        source_topic=raw_topic,
        value=message.text.encode(),
        reason_code=error.code,
        detail=error.detail,
        consumer="ingest",
        venue=venue,
        observed_at=message.received_at,
    )
