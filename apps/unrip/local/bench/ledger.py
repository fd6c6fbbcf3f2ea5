"""Restoring the executor's ledger, timed the way a reassignment does it.

A fresh ``Ledger`` (no local cache, like a new owner) restores one partition of
``state.executor_ledger`` with the executor's own code: read to the end, decode every record,
keep the latest state per command. The partition is the one with the most entries at the end
of the run, after the pipeline steps and the executor drain have filled it.
"""

from __future__ import annotations

from typing import Any

from aiokafka.structs import TopicPartition

from unrip.executor.ledger import Ledger
from unrip.runtime.kafka import make_consumer, make_producer
from unrip.runtime.replay import catch_up
from unrip.runtime.settings import ServiceSettings
from unrip.topics import STATE_EXECUTOR_LEDGER


async def _largest_partition(settings: ServiceSettings) -> int:
    """The ledger partition holding the most records (counted by reading it)."""
    reader = make_consumer(settings, "bench-ledger-count", None)
    await reader.start()
    try:
        await reader.topics()
        partitions = sorted(reader.partitions_for_topic(STATE_EXECUTOR_LEDGER) or ())
        tps = [TopicPartition(STATE_EXECUTOR_LEDGER, p) for p in partitions]
        reader.assign(tps)
        await reader.seek_to_beginning(*tps)
        counts: dict[int, int] = dict.fromkeys(partitions, 0)
        async for record in catch_up(reader, tps):
            counts[record.partition] += 1
        return max(counts, key=lambda p: counts[p])
    finally:
        await reader.stop()


async def time_restore(settings: ServiceSettings) -> dict[str, Any]:
    partition = await _largest_partition(settings)
    producer = make_producer(settings, "bench-ledger")
    reader = make_consumer(settings, "bench-ledger-restore", None)
    await producer.start()
    await reader.start()
    try:
        report = await Ledger(producer, reader).restore([partition])
    finally:
        await reader.stop()
        await producer.stop()
    return {
        "partition": partition,
        "entries": report.entries,
        "records_read": report.records_read,
        "seconds": round(report.seconds, 3),
        "entries_per_s": round(report.entries / report.seconds, 1) if report.seconds else None,
    }
