"""Dead-lettering: a record a consumer cannot accept goes to ``dlq.<topic>`` with the reason.

The original value is kept exactly (text if it is UTF-8, base64 otherwise), with its headers,
partition and offset, so it can be inspected and replayed after a fix.
"""

from __future__ import annotations

import base64
import logging
from datetime import UTC, datetime

from aiokafka.structs import ConsumerRecord
from prometheus_client import Counter

from unrip.contracts import DeadLetterV1, make_envelope
from unrip.runtime.kafka import Outgoing
from unrip.topics import dlq_topic

log = logging.getLogger(__name__)

DEAD_LETTERS = Counter(
    "unrip_dead_letters_total", "Records sent to a DLQ", ["source_topic", "reason_code"]
)


def _text_or_base64(value: bytes) -> tuple[str, str]:
    try:
        return value.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(value).decode("ascii"), "base64"


def dead_letter(
    *,
    source_topic: str,
    value: bytes | None,
    reason_code: str,
    detail: str,
    consumer: str,
    venue: str,
    key: bytes | None = None,
    partition: int | None = None,
    offset: int | None = None,
    headers: list[tuple[str, bytes]] | None = None,
    observed_at: datetime | None = None,
) -> Outgoing:
    """The DLQ record for a rejected input (published with the consumer's other outputs)."""
    raw, encoding = _text_or_base64(value or b"")
    key_text = key.decode("utf-8", errors="replace") if key is not None else None
    DEAD_LETTERS.labels(source_topic, reason_code).inc()
    log.warning(
        "dead-lettered",
        extra={
            **_ids(source_topic, key_text, headers),
            "source_topic": source_topic,
            "partition": partition,
            "offset": offset,
            "reason_code": reason_code,
            "detail": detail[:500],
        },
    )
    payload = DeadLetterV1(
        source_topic=source_topic,
        source_partition=partition,
        source_offset=offset,
        source_key=key_text,
        consumer=consumer,
        reason_code=reason_code,
        detail=detail,
        raw_encoding=encoding,
        original_headers={k: v.decode("utf-8", errors="replace") for k, v in headers or []},
    )
    envelope = make_envelope(
        payload, venue=venue, observed_at=observed_at or datetime.now(UTC), raw=raw
    )
    return Outgoing(dlq_topic(source_topic), key_text, envelope)


def dead_letter_record(
    record: ConsumerRecord, *, reason_code: str, detail: str, consumer: str, venue: str = "unknown"
) -> Outgoing:
    return dead_letter(
        source_topic=record.topic,
        value=record.value,
        reason_code=reason_code,
        detail=detail,
        consumer=consumer,
        venue=venue,
        key=record.key,
        partition=record.partition,
        offset=record.offset,
        headers=list(record.headers or []),
    )


def _ids(
    source_topic: str, key: str | None, headers: list[tuple[str, bytes]] | None
) -> dict[str, str]:
    """The command and demand a rejected record was about, as far as its key and headers say."""
    ids: dict[str, str] = {}
    # Command and result records are keyed by their command_id (unrip.topics).
    if key and source_topic.split(".", 1)[0] in ("cmd", "exec"):
        ids["command_id"] = key
    for name, value in headers or []:
        if name == "correlation_id":
            ids["correlation_id"] = value.decode("utf-8", errors="replace")
    return ids
