"""Read a time range of topics from outside any consumer group (state rebuilds, tallies)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord, TopicPartition


async def read_to_end(
    bootstrap_servers: str,
    topics: Sequence[str],
    *,
    since_ms: int | None = None,
    batch_records: int = 2000,
    client_id: str = "unrip-replay",
) -> AsyncIterator[ConsumerRecord]:
    """Every record of ``topics`` from ``since_ms`` (or the beginning) up to the end offsets
    as of the call; records appended later are not waited for."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        client_id=client_id,
        fetch_max_wait_ms=10,
    )
    await consumer.start()
    try:
        partitions: list[TopicPartition] = []
        for topic in topics:
            ids = await _partitions_for(consumer, topic)
            partitions.extend(TopicPartition(topic, p) for p in sorted(ids))
        if not partitions:
            return
        consumer.assign(partitions)
        end = await consumer.end_offsets(partitions)
        if since_ms is None:
            await consumer.seek_to_beginning(*partitions)
        else:
            found = await consumer.offsets_for_times({tp: since_ms for tp in partitions})
            for tp in partitions:
                hit = found.get(tp)
                consumer.seek(tp, hit.offset if hit is not None else end[tp])
        remaining = {tp for tp in partitions if await consumer.position(tp) < end[tp]}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=200, max_records=batch_records)
            for tp, records in batch.items():
                for record in records:
                    if record.offset < end[tp]:
                        yield record
            for tp in list(remaining):
                if await consumer.position(tp) >= end[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()


async def _partitions_for(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    await consumer.topics()  # refreshes cluster metadata, so the lookup below is current
    return set(consumer.partitions_for_topic(topic) or ())
