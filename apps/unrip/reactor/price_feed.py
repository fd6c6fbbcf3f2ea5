"""Following ``norm.reference_price`` outside the reactor's consumer group.

Every reactor replica needs every asset's price, whereas the group splits partitions between
replicas; so prices are read by a group-less consumer assigned all partitions of the topic,
starting a little before now (the compacted topic keeps each asset's latest price; anything
older than the staleness bound could not be quoted from anyway) and following it live. No
offsets are committed: a restart re-reads from the same look-back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from unrip.contracts import ContractError, Envelope, ReferencePriceV1, decode
from unrip.runtime.replay import catch_up
from unrip.topics import NORM_REFERENCE_PRICE

log = logging.getLogger(__name__)


async def assign_from(consumer: AIOKafkaConsumer, since_ms: int) -> list[TopicPartition]:
    """Assign every partition of the price topic, positioned at ``since_ms``."""
    await consumer.topics()
    partitions = [
        TopicPartition(NORM_REFERENCE_PRICE, p)
        for p in sorted(consumer.partitions_for_topic(NORM_REFERENCE_PRICE) or ())
    ]
    consumer.assign(partitions)
    if not partitions:
        return partitions
    found = await consumer.offsets_for_times({tp: since_ms for tp in partitions})
    ends = await consumer.end_offsets(partitions)
    for tp in partitions:
        hit = found.get(tp)
        consumer.seek(tp, hit.offset if hit is not None else ends[tp])
    return partitions


async def catch_up_prices(
    consumer: AIOKafkaConsumer,
    partitions: list[TopicPartition],
    on_price: Callable[[Envelope[Any]], None],
) -> int:
    """Read the look-back up to the current end before the first decision; the count read."""
    count = 0
    async for record in catch_up(consumer, partitions):
        try:
            envelope = decode(record.value, record.headers, accept=(ReferencePriceV1,))
        except ContractError:
            continue
        on_price(envelope)
        count += 1
    return count


async def follow(
    consumer: AIOKafkaConsumer,
    on_price: Callable[[Envelope[Any]], None],
    after_batch: Callable[[], Awaitable[None]],
    stop: asyncio.Event,
) -> None:
    """Hand every valid price event to ``on_price`` until ``stop``; skip invalid ones.

    ``after_batch`` runs after each non-empty batch (the reactor publishes trips there).
    """
    while not stop.is_set():
        batch = await consumer.getmany(timeout_ms=200)
        for records in batch.values():
            for record in records:
                try:
                    envelope = decode(record.value, record.headers, accept=(ReferencePriceV1,))
                except ContractError as exc:
                    # Dead-lettering is the ingest's side; a reader must just not act on it.
                    log.warning("reference price ignored", extra={"reason": exc.code})
                    continue
                on_price(envelope)
        if batch:
            await after_batch()
