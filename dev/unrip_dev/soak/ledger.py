"""The soak's own account of the run, read from the bus while it runs, in flat memory.

A demand of the soak's feed has the quote id ``<run>g<generation>-<n>`` or, on a later pass
of the looping feed, ``...-<n>#<pass>``, so it maps to one bit of a bitmap: 1.7 M demands are
a few hundred kilobytes per stage instead of sets of strings that would dwarf the services
being measured. Per demand: seen on ``norm.swap_demand``, decided (a command or a skip),
commanded, resulted. ``lost`` is a demand never decided plus a command never resulted.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition
from unrip.topics import (
    AUDIT_REACTOR_SKIP,
    CMD_EXECUTE_TRADE,
    DLQ_TOPICS,
    EXEC_TRADE_RESULT,
    NORM_SWAP_DEMAND,
)

_STAGES = {
    NORM_SWAP_DEMAND: "demanded",
    CMD_EXECUTE_TRADE: "commanded",
    AUDIT_REACTOR_SKIP: "skipped",
    EXEC_TRADE_RESULT: "resulted",
}


class Bitmap:
    def __init__(self) -> None:
        self._bits = bytearray()
        self.count = 0

    def add(self, index: int) -> None:
        byte, bit = divmod(index, 8)
        if byte >= len(self._bits):
            self._bits.extend(bytes(byte - len(self._bits) + 1 + 4096))
        if not self._bits[byte] >> bit & 1:
            self._bits[byte] |= 1 << bit
            self.count += 1

    def missing_from(self, others: list[Bitmap]) -> int:
        """Bits set here and in none of ``others``."""
        missing = 0
        for i, byte in enumerate(self._bits):
            covered = 0
            for other in others:
                covered |= other._bits[i] if i < len(other._bits) else 0
            missing += (byte & ~covered).bit_count()
        return missing


class RunLedger:
    """Per-stage bitmaps of the run's demands and DLQ records by topic and reason."""

    def __init__(self, run_id: str, feed_len: int) -> None:
        self._pattern = re.compile(rf"{re.escape(run_id)}g(\d+)-(\d+)(?:#(\d+))?")
        self._feed_len = feed_len
        self.stages = {stage: Bitmap() for stage in _STAGES.values()}
        self.dlq: Counter[str] = Counter()
        self.records = 0

    def index(self, quote_id: str) -> int | None:
        match = self._pattern.fullmatch(quote_id)
        if match is None:
            return None
        generation, n, passes = int(match[1]), int(match[2]), int(match[3] or 0)
        # Interleave generations so each keeps dense bits: generation g uses every 4th slot.
        return ((passes * self._feed_len + n) << 2) | (generation & 3)

    def observe(self, topic: str, value: bytes | None) -> None:
        self.records += 1
        try:
            envelope: Any = json.loads(value or b"")
            payload = envelope["payload"]
        except (ValueError, RecursionError, KeyError, TypeError):
            return  # a hostile record: the services' DLQs account for it
        if topic in DLQ_TOPICS:
            self.dlq[f"{topic}:{payload.get('reason_code')}"] += 1
            return
        quote_id = payload.get("quote_id") if isinstance(payload, dict) else None
        index = self.index(quote_id) if isinstance(quote_id, str) else None
        if index is not None:
            self.stages[_STAGES[topic]].add(index)

    @property
    def demands(self) -> int:
        return self.stages["demanded"].count

    def lost(self) -> int:
        s = self.stages
        return s["demanded"].missing_from([s["commanded"], s["skipped"]]) + s[
            "commanded"
        ].missing_from([s["resulted"]])

    def dlq_by_reason(self) -> dict[str, int]:
        return dict(sorted(self.dlq.items()))


async def follow(bootstrap: str, ledger: RunLedger, stop: asyncio.Event) -> None:
    """Read every stage's topic and the DLQs from the beginning until ``stop``."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        client_id="unrip-soak-ledger",
        fetch_max_wait_ms=100,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    try:
        await consumer.topics()
        topics = [*_STAGES, *DLQ_TOPICS]
        partitions = [
            TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=200, max_records=5000)
            for tp, records in batch.items():
                for record in records:
                    ledger.observe(tp.topic, record.value)
    finally:
        await consumer.stop()
