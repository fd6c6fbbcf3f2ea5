"""The far end of every measurement: a group-less consumer that timestamps what arrives.

It reads every partition of one topic from its end, with the same client knobs as the
services (so its fetch waits are a real hop's), and hands each record with its arrival time
to a callback. Arrival is taken once per fetched batch, when ``getmany`` returns: that is when
a consumer could first act on those records.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from aiokafka.structs import ConsumerRecord, TopicPartition
from unrip.runtime.kafka import make_consumer
from unrip.runtime.settings import ServiceSettings

OnRecord = Callable[[ConsumerRecord, float], None]
S = TypeVar("S")


class TopicTap:
    def __init__(self, settings: ServiceSettings, topic: str, on_record: OnRecord) -> None:
        self._consumer = make_consumer(settings, "bench-tap", None)
        self._topic = topic
        self._on_record = on_record
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._consumer.start()
        await self._consumer.topics()  # refreshes metadata for partitions_for_topic
        partitions = [
            TopicPartition(self._topic, p)
            for p in sorted(self._consumer.partitions_for_topic(self._topic) or ())
        ]
        if not partitions:
            raise RuntimeError(f"topic {self._topic} has no partitions")
        self._consumer.assign(partitions)
        # Earlier runs' records may be re-read if the broker under-reports the end (Tansu's
        # ListOffsets); callbacks ignore what is not theirs.
        await self._consumer.seek_to_end(*partitions)
        for tp in partitions:
            await self._consumer.position(tp)
        self._task = asyncio.create_task(self._run(), name=f"tap {self._topic}")

    async def _run(self) -> None:
        while True:
            batch = await self._consumer.getmany(timeout_ms=100, max_records=5000)
            arrived = time.time()
            for records in batch.values():
                for record in records:
                    self._on_record(record, arrived)

    def check(self) -> None:
        """Raise what stopped the tap, if it stopped (a waiting caller would wait forever)."""
        if self._task is not None and self._task.done() and not self._task.cancelled():
            error = self._task.exception()
            if error is not None:
                raise RuntimeError(f"tap on {self._topic} failed: {error!r}") from error

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()


class Expected(Generic[S]):
    """Samples of one measurement until ``count`` distinct ones have arrived."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.samples: dict[int, S] = {}
        self.complete = asyncio.Event()
        if count == 0:
            self.complete.set()

    def add(self, sequence: int, sample: S) -> None:
        if sequence in self.samples:
            return  # a redelivered or re-published copy: the first arrival counts
        self.samples[sequence] = sample
        if len(self.samples) >= self.count:
            self.complete.set()

    async def wait(self, tap: TopicTap, timeout_s: float) -> bool:
        """True when complete; False after ``timeout_s`` (the samples so far stay usable)."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while not self.complete.is_set():
            tap.check()
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.complete.wait(), timeout=min(remaining, 1.0))
        return True
