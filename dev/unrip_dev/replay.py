"""`invoke replay` and `invoke restore`: archived (or retained) events back onto a bus, or
straight through the production reactor on a simulated clock.

- ``--into PREFIX``: every record is published again, same key, headers, bytes and partition,
  into ``PREFIX<topic>`` (scratch topics made from the catalogue's spec), at the recorded pace
  or as fast as possible. With an empty prefix and the original topics this is the restore
  after a volume loss (docs/disaster-recovery.md), which refuses non-empty targets.
- ``--reactor``: recorded demands and trade results go through ``ReactorService.handle`` (the
  production code, its clock set to each record's time, its output captured instead of
  published). Same input, same command ids: the summary carries their digest.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import heapq
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord, RecordMetadata, TopicPartition
from unrip.contracts import ExecuteTradeV1, ReactorSkipV1, decode
from unrip.reactor.service import ReactorService, ReactorSettings
from unrip.reactor.strategy import DEFAULT_STRATEGY_PATH
from unrip.runtime.kafka import ensure_topics, make_producer
from unrip.runtime.replay import read_to_end
from unrip.runtime.settings import ServiceSettings
from unrip.topics import CMD_EXECUTE_TRADE, EXEC_TRADE_RESULT, NORM_SWAP_DEMAND, spec

from unrip_dev.archive import ArchivedRecord, read_window
from unrip_dev.supervisor import LOCAL_COMMAND_SIGNING_KEY

Pace = Literal["recorded", "fast"]


async def read_retained(
    bootstrap_servers: str, topics: Sequence[str], start: datetime | None, end: datetime | None
) -> list[ArchivedRecord]:
    """A topic's retained range as archive records (event time: the broker timestamp)."""
    since_ms = int(start.timestamp() * 1000) if start is not None else None
    records = []
    async for r in read_to_end(bootstrap_servers, topics, since_ms=since_ms):
        record = _from_consumer(r)
        if end is None or record.at < end:
            records.append(record)
    records.sort(key=lambda r: (r.at, r.topic, r.partition, r.offset))
    return records


def _from_consumer(r: ConsumerRecord) -> ArchivedRecord:
    return ArchivedRecord(
        topic=r.topic,
        partition=r.partition,
        offset=r.offset,
        key=r.key,
        value=r.value or b"",
        headers=list(r.headers or ()),
        at=datetime.fromtimestamp(r.timestamp / 1000).astimezone(),
    )


def load(
    archive: Path | None,
    bootstrap_servers: str | None,
    topics: Sequence[str],
    start: datetime | None,
    end: datetime | None,
) -> list[ArchivedRecord]:
    if archive is not None:
        return read_window(archive, topics, start, end)
    if bootstrap_servers is None:
        raise ValueError("give --archive DIR or --source-bootstrap-servers to read from")
    return asyncio.run(read_retained(bootstrap_servers, topics, start, end))


class _Pacer:
    """Sleeps so that records leave at their recorded spacing (divided by ``speed``)."""

    def __init__(self, pace: Pace, speed: float) -> None:
        self.pace, self.speed = pace, speed
        self.origin: tuple[datetime, float] | None = None

    async def wait(self, at: datetime) -> None:
        if self.pace == "fast":
            return
        if self.origin is None:
            self.origin = (at, time.monotonic())
            return
        due = self.origin[1] + (at - self.origin[0]).total_seconds() / self.speed
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)  # the recording's own spacing


async def _topic_sizes(bootstrap_servers: str, topics: Sequence[str]) -> dict[str, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=None)
    await consumer.start()
    try:
        await consumer.topics()
        sizes = {}
        for topic in topics:
            parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
            ends = await consumer.end_offsets(parts) if parts else {}
            sizes[topic] = sum(ends.values())
        return sizes
    finally:
        await consumer.stop()


def bus_order(records: Sequence[ArchivedRecord]) -> Iterator[ArchivedRecord]:
    """``records`` with each partition in offset order, partitions interleaved by event time.

    Event time is not monotonic within a partition: the executor stamps a result when its
    outcome is known but publishes results in its commit order, and dead letters carry the
    time of the event they quarantine. Publishing in event-time order would therefore
    reorder a partition, and a restore must give back the lost partitions record for record.
    """
    partitions: dict[tuple[str, int], list[ArchivedRecord]] = defaultdict(list)
    for record in records:
        partitions[(record.topic, record.partition)].append(record)
    runs = [sorted(run, key=lambda r: r.offset) for _, run in sorted(partitions.items())]
    return heapq.merge(*runs, key=lambda r: r.at)


async def publish(
    records: Sequence[ArchivedRecord],
    bootstrap_servers: str,
    *,
    prefix: str,
    pace: Pace = "fast",
    speed: float = 1.0,
    allow_non_empty: bool = False,
) -> dict[str, Any]:
    """Publish ``records`` into ``prefix + topic``, same partition, key, headers and bytes,
    each partition in its original offset order (``bus_order``)."""
    topics = sorted({r.topic for r in records})
    targets = [dataclasses.replace(spec(t), name=prefix + t) for t in topics]
    report = await ensure_topics(bootstrap_servers, targets)
    if report.mismatched:
        raise ValueError(f"target topics differ from the catalogue: {report.mismatched}")
    if not allow_non_empty:
        full = {
            t: n
            for t, n in (await _topic_sizes(bootstrap_servers, [s.name for s in targets])).items()
            if n
        }
        if full:
            raise ValueError(
                f"target topics already hold records {full}; restoring would duplicate them "
                "(pass --append if that is what you want)"
            )
    producer = make_producer(ServiceSettings(kafka_bootstrap_servers=bootstrap_servers), "replay")
    await producer.start()
    pacer = _Pacer(pace, speed)
    counts: Counter[str] = Counter()
    started = time.monotonic()
    try:
        futures: list[asyncio.Future[RecordMetadata]] = []
        for record in bus_order(records):
            await pacer.wait(record.at)
            futures.append(
                await producer.send(
                    prefix + record.topic,
                    value=record.value,
                    key=record.key,
                    headers=record.headers,
                    partition=record.partition,
                )
            )
            counts[prefix + record.topic] += 1
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    seconds = time.monotonic() - started
    return {
        "published": dict(counts),
        "records": sum(counts.values()),
        "seconds": round(seconds, 3),
        "events_per_s": round(sum(counts.values()) / seconds, 1) if seconds else None,
    }


class _Clock:
    """The simulated clock: the time of the record being handled."""

    def __init__(self) -> None:
        self.now = datetime.now().astimezone()

    def __call__(self) -> datetime:
        return self.now


class _CapturingProducer:
    """Stands where the reactor's Kafka producer would: keeps what it would have published."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    async def send(self, topic: str, **kwargs: Any) -> asyncio.Future[None]:
        self.sent.append((topic, kwargs["value"]))
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future


async def through_reactor(
    records: Sequence[ArchivedRecord],
    strategy: Path | None = None,
    *,
    pace: Pace = "fast",
    speed: float = 1.0,
) -> dict[str, Any]:
    """Recorded demands and results through the production reactor, clock set per record."""
    reactor = ReactorService(
        ReactorSettings(
            reactor_strategy_file=strategy or DEFAULT_STRATEGY_PATH,
            # Replayed commands are computed, never sent to an executor: the local key signs.
            command_signing_key=LOCAL_COMMAND_SIGNING_KEY,
        )
    )
    sink = _CapturingProducer()
    reactor.producer = sink
    clock = _Clock()
    reactor.clock = clock
    pacer = _Pacer(pace, speed)
    replayed = 0
    started = time.monotonic()
    for record in records:
        if record.topic not in (NORM_SWAP_DEMAND, EXEC_TRADE_RESULT):
            continue
        await pacer.wait(record.at)
        clock.now = record.at
        await reactor.handle({TopicPartition(record.topic, record.partition): [_consumer(record)]})
        replayed += 1
    seconds = time.monotonic() - started
    command_ids, skips = [], Counter[str]()
    for topic, value in sink.sent:
        payload = decode(value, None).payload
        if topic == CMD_EXECUTE_TRADE and isinstance(payload, ExecuteTradeV1):
            command_ids.append(payload.command_id)
        elif isinstance(payload, ReactorSkipV1):
            skips[payload.reason.value] += 1
    return {
        "replayed": replayed,
        "commands": len(command_ids),
        "skips": sum(skips.values()),
        "skip_reasons": dict(sorted(skips.items())),
        "command_ids_sha256": hashlib.sha256("\n".join(command_ids).encode()).hexdigest(),
        "seconds": round(seconds, 3),
        "events_per_s": round(replayed / seconds, 1) if seconds else None,
    }


def _consumer(record: ArchivedRecord) -> ConsumerRecord:
    return ConsumerRecord(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        timestamp=int(record.at.timestamp() * 1000),
        timestamp_type=0,
        key=record.key,
        value=record.value,
        checksum=None,
        serialized_key_size=-1,
        serialized_value_size=len(record.value),
        headers=record.headers,
    )
