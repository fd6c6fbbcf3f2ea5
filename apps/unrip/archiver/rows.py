"""Kafka records as archive rows: the envelope's fields typed, the payload as JSON, bytes exact.

Every record is archived, valid or not: ``value`` keeps the record's exact bytes (what replay and
restores publish again), and the envelope columns are filled where the value parses as an
envelope. Parsing is plain JSON rather than the contracts' pydantic models, so the archive keeps
schema versions this build does not know yet. A record's hour is the hour its event was observed
(``observed_at``), or its broker timestamp when it is not an envelope.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from aiokafka.structs import ConsumerRecord

SCHEMA = pa.schema(
    [
        pa.field("partition", pa.int32(), nullable=False),
        pa.field("offset", pa.int64(), nullable=False),
        pa.field("kafka_timestamp", pa.timestamp("ms", tz="UTC"), nullable=False),
        pa.field("key", pa.string()),
        pa.field(
            "headers",
            pa.list_(pa.struct([("key", pa.string()), ("value", pa.binary())])),
            nullable=False,
        ),
        pa.field("value", pa.binary(), nullable=False),
        pa.field("event_id", pa.string()),
        pa.field("event_type", pa.string()),
        pa.field("schema_version", pa.int32()),
        pa.field("venue", pa.string()),
        pa.field("observed_at", pa.timestamp("us", tz="UTC")),
        pa.field("ingested_at", pa.timestamp("us", tz="UTC")),
        pa.field("correlation_id", pa.string()),
        pa.field("causation_id", pa.string()),
        pa.field("payload", pa.string()),
        pa.field("raw", pa.string()),
    ]
)

_ENVELOPE_TEXT = ("event_id", "event_type", "venue", "correlation_id", "causation_id", "raw")


@dataclass(frozen=True, slots=True)
class Run:
    """Consecutive records of one partition whose events fall in the same hour: one file."""

    hour: datetime
    rows: list[dict[str, Any]]

    @property
    def first_offset(self) -> int:
        return int(self.rows[0]["offset"])

    @property
    def last_offset(self) -> int:
        return int(self.rows[-1]["offset"])


def _timestamp(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value.astimezone(UTC) if value.tzinfo else None


def to_row(record: ConsumerRecord) -> dict[str, Any]:
    value: bytes = record.value or b""
    row: dict[str, Any] = {
        "partition": record.partition,
        "offset": record.offset,
        "kafka_timestamp": datetime.fromtimestamp(record.timestamp / 1000, UTC),
        "key": record.key.decode("utf-8", "replace") if record.key is not None else None,
        "headers": [{"key": k, "value": v} for k, v in (record.headers or ())],
        "value": value,
    }
    try:
        envelope = json.loads(value)
    except ValueError:
        envelope = None
    if isinstance(envelope, dict):
        for name in _ENVELOPE_TEXT:
            field = envelope.get(name)
            row[name] = field if isinstance(field, str) else None
        version = envelope.get("schema_version")
        row["schema_version"] = version if isinstance(version, int) else None
        row["observed_at"] = _timestamp(envelope.get("observed_at"))
        row["ingested_at"] = _timestamp(envelope.get("ingested_at"))
        if "payload" in envelope:
            row["payload"] = json.dumps(
                envelope["payload"], separators=(",", ":"), ensure_ascii=False, sort_keys=True
            )
    return row


def _hour_of(row: dict[str, Any]) -> datetime:
    at: datetime = row.get("observed_at") or row["kafka_timestamp"]
    return at.replace(minute=0, second=0, microsecond=0)


def runs(records: Sequence[ConsumerRecord]) -> Iterator[Run]:
    """Split one partition's records (in offset order) into same-hour runs, in offset order.

    Files are contiguous offset ranges written in offset order, so "the highest archived
    offset" always means "everything up to it is archived" (what a restart relies on).
    """
    current: Run | None = None
    for record in records:
        row = to_row(record)
        hour = _hour_of(row)
        if current is None or current.hour != hour:
            if current is not None:
                yield current
            current = Run(hour, [])
        current.rows.append(row)
    if current is not None:
        yield current


def parquet_bytes(run: Run) -> bytes:
    """The file's bytes: a pure function of the rows, so a rewrite yields the same file."""
    table = pa.Table.from_pylist(run.rows, schema=SCHEMA)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd", write_statistics=True)
    return bytes(sink.getvalue().to_pybytes())
