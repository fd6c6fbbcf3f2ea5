"""The archiver's files: partitioned by topic and event hour, exact bytes, no record twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from aiokafka.structs import ConsumerRecord, TopicPartition
from unrip.archiver.service import ArchiverService
from unrip.archiver.settings import ArchiverSettings
from unrip.topics import NORM_SWAP_DEMAND

from tests.factories import VENUE, demand, envelope_of

TP = TopicPartition(NORM_SWAP_DEMAND, 2)
T0 = datetime(2026, 11, 28, 18, 59, 58, tzinfo=UTC)


def record(offset: int, value: bytes, tp: TopicPartition = TP) -> ConsumerRecord:
    return ConsumerRecord(
        topic=tp.topic,
        partition=tp.partition,
        offset=offset,
        timestamp=int(T0.timestamp() * 1000),
        timestamp_type=0,
        key=f"{VENUE}:q-{offset}".encode(),
        value=value,
        checksum=None,
        serialized_key_size=-1,
        serialized_value_size=len(value),
        headers=[("event_type", b"swap_demand")],
    )


def demand_value(offset: int) -> bytes:
    # One second apart across 18:59:58 → 19:00:02, so the records span two hours.
    at = T0 + timedelta(seconds=offset)
    envelope = envelope_of(demand(f"q-{offset}", now=at), observed_at=at)
    return envelope.to_bytes()


def archiver(root: Path) -> ArchiverService:
    return ArchiverService(ArchiverSettings(archiver_uri=str(root), archiver_topics="norm.*"))


def handle(service: ArchiverService, records: list[ConsumerRecord]) -> None:
    async def go() -> None:
        await service.on_assigned({TP})
        await service.handle({TP: records})

    asyncio.run(go())


def archived_rows(root: Path) -> list[tuple[object, ...]]:
    return duckdb.execute(
        f"SELECT topic, date, hour, \"offset\", value FROM read_parquet('{root}/**/*.parquet',"
        ' hive_partitioning=true) ORDER BY "offset"'
    ).fetchall()


def test_records_are_partitioned_by_topic_and_event_hour_with_their_exact_bytes(
    tmp_path: Path,
) -> None:
    values = [demand_value(offset) for offset in range(5)]
    values.append(b"{not an envelope")
    handle(archiver(tmp_path), [record(i, v) for i, v in enumerate(values)])

    rows = archived_rows(tmp_path)
    assert [row[3] for row in rows] == list(range(6))
    assert [row[4] for row in rows] == values
    assert {(row[0], str(row[1]), int(str(row[2]))) for row in rows} == {
        (NORM_SWAP_DEMAND, "2026-11-28", 18),
        (NORM_SWAP_DEMAND, "2026-11-28", 19),
    }
    files = sorted(p.name for p in tmp_path.rglob("*.parquet"))
    # Runs of consecutive offsets in one hour, named by partition and offset range.
    assert files[0].startswith("p002-00000000000000000000-00000000000000000001")


def test_envelope_fields_are_typed_columns_and_the_payload_is_json(tmp_path: Path) -> None:
    handle(archiver(tmp_path), [record(0, demand_value(0))])
    [(event_type, observed_at, payload)] = duckdb.execute(
        f"SELECT event_type, observed_at, payload->>'quote_id' FROM read_parquet("
        f"'{tmp_path}/**/*.parquet')"
    ).fetchall()
    assert event_type == "swap_demand"
    assert observed_at == T0
    assert payload == "q-0"


def test_redelivered_records_after_a_crash_are_not_archived_twice(tmp_path: Path) -> None:
    values = [demand_value(offset) for offset in range(5)]
    handle(archiver(tmp_path), [record(i, values[i]) for i in range(3)])
    # A new archiver (the old one died before committing) gets offsets 0..4 again.
    handle(archiver(tmp_path), [record(i, values[i]) for i in range(5)])

    assert [row[3] for row in archived_rows(tmp_path)] == list(range(5))


def test_rewriting_the_same_range_yields_the_same_file(tmp_path: Path) -> None:
    records = [record(i, demand_value(i)) for i in range(2)]
    handle(archiver(tmp_path / "a"), records)
    handle(archiver(tmp_path / "b"), records)
    first = {
        p.relative_to(tmp_path / "a"): p.read_bytes() for p in (tmp_path / "a").rglob("*.parquet")
    }
    second = {
        p.relative_to(tmp_path / "b"): p.read_bytes() for p in (tmp_path / "b").rglob("*.parquet")
    }
    assert first == second


def test_a_topic_pattern_matching_nothing_names_the_setting() -> None:
    with pytest.raises(ValueError, match="UNRIP_ARCHIVER_TOPICS"):
        ArchiverSettings(archiver_topics="nrom.*").topics()


def test_object_storage_without_credentials_names_the_settings(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="UNRIP_ARCHIVER_S3_ACCESS_KEY"):
        archiver_settings = ArchiverSettings(archiver_uri="s3://bucket/unrip")
        ArchiverService(archiver_settings)
