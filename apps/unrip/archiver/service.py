"""The archiver service: archived topics in, Parquet files out, offsets committed after.

Commit protocol (why no event is lost or archived twice):

1. ``handle`` turns each partition's records of the batch into same-hour runs of consecutive
   offsets and writes each run as one file, named by its partition and offset range, atomically
   and durably (store.py), in offset order, before it returns.
2. Only then does the ConsumerLoop count the batch as handled and commit its offsets. A crash
   before the commit redelivers records that are already archived.
3. When a partition is assigned, the archive is listed for that partition's highest archived
   offset, and redelivered records at or below it are dropped. Because files are contiguous
   and written in order, everything below that offset is in the archive, exactly once.

So files are flushed synchronously inside ``handle``, one per partition and hour per batch,
and the loop's commit-after-handle is exactly right; no commit watermark is needed. The cost
is file count at low rates, bounded by polling in large batches (settings.py: the broker holds
each fetch up to ``UNRIP_ARCHIVER_FETCH_MAX_WAIT_MS``); docs/decisions.md weighs it.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka.structs import ConsumerRecord, TopicPartition
from prometheus_client import Counter

from unrip.archiver.layout import FileName, hour_dir
from unrip.archiver.rows import parquet_bytes, runs
from unrip.archiver.settings import ArchiverSettings
from unrip.archiver.store import ArchiveStore
from unrip.runtime.consumer import Batch, ConsumerLoop
from unrip.runtime.kafka import make_consumer
from unrip.runtime.service import Service

log = logging.getLogger(__name__)

RECORDS = Counter("unrip_archiver_records_total", "Records archived", ["topic"])
FILES = Counter("unrip_archiver_files_total", "Parquet files written", ["topic"])
BYTES = Counter("unrip_archiver_bytes_total", "Parquet bytes written", ["topic"])
ALREADY = Counter(
    "unrip_archiver_already_archived_total",
    "Redelivered records dropped because the archive already holds them",
    ["topic"],
)


class ArchiverService(Service):
    name = "archiver"

    def __init__(self, settings: ArchiverSettings) -> None:
        super().__init__(settings)
        self.settings: ArchiverSettings = settings
        self.topics = settings.topics()
        self.store = ArchiveStore.from_settings(settings)
        # Highest archived offset of each owned partition (-1: none yet).
        self.archived: dict[TopicPartition, int] = {}

    async def run(self, stop: asyncio.Event) -> None:
        consumer = make_consumer(
            self.settings,
            "archiver",
            self.settings.archiver_group_id,
            fetch_min_bytes=self.settings.archiver_fetch_min_bytes,
            fetch_max_wait_ms=self.settings.archiver_fetch_max_wait_ms,
            max_poll_records=self.settings.archiver_max_poll_records,
        )
        await consumer.start()
        try:
            self.health.started()
            await ConsumerLoop(
                consumer,
                self.topics,
                self,
                self.health,
                commit_interval_ms=self.settings.kafka_commit_interval_ms,
            ).run(stop)
        finally:
            await consumer.stop()

    async def on_assigned(self, partitions: set[TopicPartition]) -> None:
        for topic in sorted({tp.topic for tp in partitions}):
            highest = await asyncio.to_thread(self.store.archived_up_to, topic)
            for tp in partitions:
                if tp.topic == topic:
                    self.archived[tp] = highest.get(tp.partition, -1)
        log.info("partitions assigned", extra={"partitions": sorted(map(str, partitions))})

    async def on_revoked(self, partitions: set[TopicPartition]) -> None:
        for tp in partitions:
            self.archived.pop(tp, None)

    async def handle(self, batch: Batch) -> None:
        # The writes block on the disk or the network: off the event loop, so heartbeats and
        # probes keep going while a large batch is written.
        await asyncio.to_thread(self._archive, batch)

    def _archive(self, batch: Batch) -> None:
        for tp, records in batch.items():
            done = self.archived.get(tp, -1)
            fresh = [r for r in records if r.offset > done]
            if len(fresh) < len(records):
                ALREADY.labels(tp.topic).inc(len(records) - len(fresh))
            if fresh:
                self._write(tp, fresh)

    def _write(self, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        for run in runs(records):
            name = FileName(
                partition=tp.partition, first_offset=run.first_offset, last_offset=run.last_offset
            )
            data = parquet_bytes(run)
            self.store.put(hour_dir(self.store.root, tp.topic, run.hour), str(name), data)
            self.archived[tp] = run.last_offset
            RECORDS.labels(tp.topic).inc(len(run.rows))
            FILES.labels(tp.topic).inc()
            BYTES.labels(tp.topic).inc(len(data))
