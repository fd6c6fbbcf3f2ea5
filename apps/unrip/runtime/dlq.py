"""Dead-lettering: a record a consumer cannot accept goes to ``dlq.<topic>`` with the reason.

The original value is kept (text if it is UTF-8, base64 otherwise), with its headers,
partition and offset, so it can be inspected and replayed after a fix. A dead letter must
always fit the broker's record limit, or rejecting a ~1 MiB record would crash the consumer
that rejects it, over and over: the copy is cut to ``MAX_RAW_BYTES`` (its SHA-256 and length
describe the whole original, ``DeadLetterV2``), and keys, details and headers are cut too.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from datetime import UTC, datetime

from aiokafka.structs import ConsumerRecord
from prometheus_client import Counter

from unrip.contracts import ContractError, DeadLetterV2, make_envelope
from unrip.runtime.kafka import Outgoing
from unrip.topics import dlq_topic

log = logging.getLogger(__name__)

DEAD_LETTERS = Counter(
    "unrip_dead_letters_total", "Records sent to a DLQ", ["source_topic", "reason_code"]
)


# 256 KiB of the original (base64 makes it at most ~342 KiB, JSON escaping at most 6x for
# control characters: ~1.5 MiB worst case would not fit, so the text is cut again after
# escaping below). Everything else in a dead letter is bounded to a few KiB.
MAX_RAW_BYTES = 256 * 1024
_MAX_ESCAPED_CHARS = 600 * 1024
_MAX_KEY_CHARS = 1024
_MAX_DETAIL_CHARS = 2000
_MAX_HEADERS = 32
_MAX_HEADER_CHARS = 256


def _text_or_base64(value: bytes) -> tuple[str, str]:
    try:
        return value.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(value).decode("ascii"), "base64"


def _bounded_copy(value: bytes) -> tuple[str, str, bool]:
    # The start of the value, never split inside a UTF-8 character; base64 if not UTF-8.
    truncated = len(value) > MAX_RAW_BYTES
    head = value[:MAX_RAW_BYTES]
    if truncated:
        cut = head.decode("utf-8", errors="ignore").encode("utf-8")
        if len(cut) >= len(head) - 3:
            head = cut  # only a split character was dropped: still text
    raw, encoding = _text_or_base64(head)
    if encoding == "utf-8" and len(raw) > 1024 and _escaped_length(raw) > _MAX_ESCAPED_CHARS:
        raw, encoding = base64.b64encode(head).decode("ascii"), "base64"
    return raw, encoding, truncated


def _escaped_length(text: str) -> int:
    # What the text costs inside a JSON string (control characters become \u00XX).
    return len(text) + 5 * sum(1 for ch in text if ch < " ") + text.count('"') + text.count("\\")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}...(+{len(text) - limit} chars)"


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
    original = value or b""
    raw, encoding, truncated = _bounded_copy(original)
    key_text = _cut(key.decode("utf-8", errors="replace"), _MAX_KEY_CHARS) if key else None
    detail = _cut(detail, _MAX_DETAIL_CHARS)
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
    payload = DeadLetterV2(
        source_topic=source_topic,
        source_partition=partition,
        source_offset=offset,
        source_key=key_text,
        consumer=consumer,
        reason_code=reason_code,
        detail=detail,
        raw_encoding=encoding,
        raw_length=len(original),
        raw_sha256=hashlib.sha256(original).hexdigest(),
        raw_truncated=truncated,
        original_headers={
            _cut(k, _MAX_HEADER_CHARS): _cut(v.decode("utf-8", errors="replace"), _MAX_HEADER_CHARS)
            for k, v in (headers or [])[:_MAX_HEADERS]
        },
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


HANDLER_FAILURES = Counter(
    "unrip_handler_failures_total",
    "Records whose handling raised an unexpected exception (dead-lettered as handler_error)",
    ["consumer"],
)


def failed_record(
    record: ConsumerRecord, exc: Exception, *, consumer: str, venue: str = "unknown"
) -> Outgoing:
    """The DLQ record for a record whose handling failed: a contract error keeps its code,
    anything else (a bug met by one record) is ``handler_error`` with the traceback logged,
    so one poisonous record costs a dead letter, never a crash loop on its partition."""
    if isinstance(exc, ContractError):
        return dead_letter_record(
            record, reason_code=exc.code, detail=exc.detail, consumer=consumer, venue=venue
        )
    HANDLER_FAILURES.labels(consumer).inc()
    log.error(
        "record handling failed; dead-lettering it",
        exc_info=exc,
        extra={"topic": record.topic, "partition": record.partition, "offset": record.offset},
    )
    return dead_letter_record(
        record,
        reason_code="handler_error",
        detail=f"{type(exc).__name__}: {exc}",
        consumer=consumer,
        venue=venue,
    )
