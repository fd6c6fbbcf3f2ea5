"""Reading partitions up to their end: state restores, rebuilds and tallies.

"The end" is taken from the broker's Fetch responses (the high watermark they carry), not
only from ListOffsets: Tansu 0.6 answers ListOffsets(latest) with the base offset of the last
batch + 1, so a restore trusting it alone would silently miss the tail of a partition
written in batches (docs/decisions.md). Kafka and Redpanda agree on both numbers; taking the
larger costs one fetch.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping, Sequence

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
    no_later_than: Mapping[TopicPartition, int] | None = None,
    client_id: str = "unrip-replay",
) -> AsyncIterator[ConsumerRecord]:
    """Every record of ``topics`` from ``since_ms`` (or the beginning) to their current end.

    ``no_later_than`` starts a partition at that offset instead when it is earlier (a state
    snapshot older than ``since_ms``: what it does not cover must all be read). An offset that
    retention has deleted starts at the earliest one kept.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        client_id=client_id,
        fetch_max_wait_ms=10,
        auto_offset_reset="earliest",
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
                # Nothing at or after since_ms per the index: start at the listed end and let
                # catch_up() read whatever the real end adds. (Tansu 0.6 answers "nothing" with
                # offset 0 and timestamp -1 instead of no entry: that is nothing too.)
                found_one = hit is not None and hit.timestamp >= 0
                start = hit.offset if hit is not None and found_one else ends[tp]
                earlier = (no_later_than or {}).get(tp)
                consumer.seek(tp, start if earlier is None else min(start, earlier))
        async for record in catch_up(consumer, partitions):
            yield record
    finally:
        await consumer.stop()
