"""Reading partitions up to their end: state restores, rebuilds and tallies.

"The end" is taken from the broker's Fetch responses (the high watermark they carry), not
only from ListOffsets: Tansu 0.6 answers ListOffsets(latest) with the base offset of the last
batch + 1, so a restore trusting it alone would silently miss the tail of a partition
written in batches (docs/decisions.md). Kafka and Redpanda agree on both numbers; taking the
larger costs one fetch.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord, TopicPartition


async def catch_up(
    consumer: AIOKafkaConsumer, partitions: Collection[TopicPartition], *, batch_records: int = 5000
) -> AsyncIterator[ConsumerRecord]:
    """Records of assigned ``partitions`` from their positions to the end as of the call.

    Every partition is fetched at least once; its target is the larger of ListOffsets' end
    and the first high watermark a Fetch reports, frozen then, so concurrent writers cannot
    keep a restore chasing the log forever.
    """
    if not partitions:
        return
    listed = await consumer.end_offsets(list(partitions))
    target: dict[TopicPartition, int] = {}
    remaining = set(partitions)
    while remaining:
        batch = await consumer.getmany(*remaining, timeout_ms=100, max_records=batch_records)
        for records in batch.values():
            for record in records:
                yield record
        for tp in list(remaining):
            if tp not in target:
                highwater = consumer.highwater(tp)
                if highwater is None:
                    continue  # no fetch response for it yet
                target[tp] = max(listed[tp], highwater)
            if await consumer.position(tp) >= target[tp]:
                remaining.discard(tp)


async def read_to_end(
    bootstrap_servers: str,
    topics: Sequence[str],
    *,
    since_ms: int | None = None,
    client_id: str = "unrip-replay",
) -> AsyncIterator[ConsumerRecord]:
    """Every record of ``topics`` from ``since_ms`` (or the beginning) to their current end."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        client_id=client_id,
        fetch_max_wait_ms=10,
    )
    await consumer.start()
    try:
        await consumer.topics()  # refreshes cluster metadata for the lookups below
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            return
        consumer.assign(partitions)
        if since_ms is None:
            await consumer.seek_to_beginning(*partitions)
        else:
            found = await consumer.offsets_for_times({tp: since_ms for tp in partitions})
            ends = await consumer.end_offsets(partitions)
            for tp in partitions:
                hit = found.get(tp)
                if hit is not None:
                    consumer.seek(tp, hit.offset)
                else:
                    # Nothing at or after since_ms per the index; start at the listed end and
                    # let catch_up() read whatever the real end adds.
                    consumer.seek(tp, ends[tp])
        async for record in catch_up(consumer, partitions):
            yield record
    finally:
        await consumer.stop()
