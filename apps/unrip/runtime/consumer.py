"""The consume-process-commit loop every consuming service runs.

Offsets are committed only after a batch's outputs are acknowledged by the broker, and a
rebalance waits for the batch in progress (a lock shared with the rebalance listener, as in
aiokafka's manual-commit example), so a revoked partition is never left half-processed and a
newly assigned one is prepared (e.g. the executor restores its ledger) before its first record.

Commits are batched in time: the offsets of handled batches (whose outcomes are already
durable) are committed at most every ``commit_interval_ms``, and always before a partition is
given up and before the loop returns. A commit is one broker round trip, paid on the batch
cycle; per batch it doubled the broker requests of a consumer at low rates
(docs/benchmarks.md). A crash can then redeliver up to one interval of handled records; every
consumer is idempotent, so that costs work, never correctness.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, IllegalStateError, RebalanceInProgressError
from aiokafka.structs import ConsumerRecord, OffsetAndMetadata, TopicPartition
from prometheus_client import Counter

from unrip.runtime.health import Health

log = logging.getLogger(__name__)

COMMIT_FAILURES = Counter(
    "unrip_commit_failures_total", "Offset commits refused (e.g. after losing the partition)"
)

Batch = dict[TopicPartition, list[ConsumerRecord]]
Watermarks = Mapping[TopicPartition, int]


class BatchHandler(Protocol):
    async def on_assigned(self, partitions: set[TopicPartition]) -> None:
        """Prepare newly assigned partitions before any of their records are processed."""

    async def on_revoked(self, partitions: set[TopicPartition]) -> None:
        """Drop state of partitions this instance no longer owns."""

    async def handle(self, batch: Batch) -> Watermarks | None:
        """Process a batch; return only when its outcomes are durable (they will be committed).

        A handler may return a commit watermark per partition (the next offset to consume):
        records from it on are neither committed nor kept, the partition is re-read from there.
        ``None`` (what most services return): the whole batch is done.
        """


@runtime_checkable
class WatermarkSource(Protocol):
    """A handler whose handled records are not all safe to commit yet (optional)."""

    def commit_watermarks(self) -> Watermarks:
        """Per partition, the lowest offset that must not be committed yet (absent: none)."""
        ...


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, loop: ConsumerLoop) -> None:
        self._loop = loop

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self._loop.rebalancing.set()  # a handler waiting inside a batch may give it back
        try:
            async with self._loop.lock:  # the batch in progress finishes and commits first
                await self._loop.commit_pending()
                await self._loop.handler.on_revoked(set(revoked))
        finally:
            self._loop.rebalancing.clear()

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        async with self._loop.lock:
            await self._loop.handler.on_assigned(set(assigned))
        self._loop.health.satisfied("partitions assigned")


class ConsumerLoop:
    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        topics: Sequence[str],
        handler: BatchHandler,
        health: Health,
        *,
        poll_timeout_ms: int = 100,
        commit_interval_ms: int = 0,
    ) -> None:
        self.consumer = consumer
        self.topics = list(topics)
        self.handler = handler
        self.health = health
        self.lock = asyncio.Lock()
        # Set while a rebalance waits for the lock (handlers that wait inside a batch watch it).
        self.rebalancing = asyncio.Event()
        self.poll_timeout_ms = poll_timeout_ms
        self.commit_interval_s = commit_interval_ms / 1000
        # Offsets of handled batches (outcomes durable) not yet committed.
        self._pending: dict[TopicPartition, OffsetAndMetadata] = {}
        self._last_commit = 0.0
        # For /status: next offset to handle per partition, and when the last batch was handled.
        self._next_offset: dict[TopicPartition, int] = {}
        self._last_record_ms: int | None = None
        self._last_handled: datetime | None = None
        self._committed: dict[TopicPartition, int] = {}

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop``; the batch in progress is finished and committed first."""
        self.health.wait_for("partitions assigned")
        self.consumer.subscribe(self.topics, listener=_Listener(self))
        clock = asyncio.get_running_loop().time
        while not stop.is_set():
            # At most the consumer's max_poll_records (UNRIP_KAFKA_MAX_POLL_RECORDS).
            batch = await self.consumer.getmany(timeout_ms=self.poll_timeout_ms)
            async with self.lock:
                owned = self.consumer.assignment()
                batch = {tp: records for tp, records in batch.items() if tp in owned}
                if batch:
                    watermarks = await self.handler.handle(batch) or {}
                    for tp, records in batch.items():
                        end = records[-1].offset + 1
                        mark = min(watermarks.get(tp, end), end)
                        if mark < end:
                            self.consumer.seek(tp, mark)  # not taken: read again from there
                        if mark > records[0].offset:
                            self._pending[tp] = OffsetAndMetadata(mark, "")
                    self._observed(batch)
                if self._pending and clock() - self._last_commit >= self.commit_interval_s:
                    await self.commit_pending()
                    self._last_commit = clock()
        # A clean stop commits what was handled. After a failure (or a cancelled shutdown)
        # nothing more is committed: those records are redelivered, which is always safe.
        async with self.lock:
            await self.commit_pending()

    def _observed(self, batch: Batch) -> None:
        for tp, records in batch.items():
            self._next_offset[tp] = records[-1].offset + 1
            stamp = records[-1].timestamp
            self._last_record_ms = max(self._last_record_ms or stamp, stamp)
        self._last_handled = datetime.now(UTC)

    def status(self) -> dict[str, Any]:
        """Owned partitions, lag behind the fetched high watermark, and the last event seen."""
        partitions: dict[str, list[int]] = {}
        lag: dict[str, int] = {}
        for tp in sorted(self.consumer.assignment()):
            partitions.setdefault(tp.topic, []).append(tp.partition)
            highwater = self.consumer.highwater(tp)
            if highwater is not None and tp in self._next_offset:
                behind = max(0, highwater - self._next_offset[tp])
                lag[tp.topic] = lag.get(tp.topic, 0) + behind
        last_record = (
            None
            if self._last_record_ms is None
            else datetime.fromtimestamp(self._last_record_ms / 1000, UTC).isoformat()
        )
        return {
            "partitions": partitions,
            "lag": lag,
            "last_event_at": last_record,
            "last_batch_at": self._last_handled.isoformat() if self._last_handled else None,
        }

    async def commit_pending(self) -> None:
        """Commit the offsets of every handled batch (call with ``lock`` held)."""
        offsets, self._pending = self._pending, {}
        if not offsets:
            return
        if isinstance(self.handler, WatermarkSource):
            # Commit only up to the handler's watermark; the rest stays pending until it moves.
            caps = self.handler.commit_watermarks()
            for tp, pending in list(offsets.items()):
                cap = caps.get(tp)
                if cap is not None and cap < pending.offset:
                    self._pending[tp] = pending
                    if cap <= self._committed.get(tp, -1):
                        del offsets[tp]
                    else:
                        offsets[tp] = OffsetAndMetadata(cap, "")
            if not offsets:
                return
        try:
            await self.consumer.commit(offsets)
            self._committed.update({tp: om.offset for tp, om in offsets.items()})
        except (CommitFailedError, IllegalStateError, RebalanceInProgressError) as exc:
            # The group moved on (we were too slow or paused): another member owns these
            # partitions now and will see the records again. Outcomes are durable and
            # idempotent, so redelivery is safe; losing the commit is not an error in itself.
            COMMIT_FAILURES.inc()
            log.warning(
                "offset commit refused; records will be redelivered", extra={"error": repr(exc)}
            )
