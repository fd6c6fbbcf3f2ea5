"""The executor's in-flight window: commands past the point of no return, outcome awaited.

A venue like NEAR Intents settles a quote up to a minute after it was answered, so waiting for
each outcome before taking the next command would leave every later command to expire. Each
command whose ``executing`` entry is durable gets its own tracking task here; the batch is
done (and its offsets committable) as soon as every command in it is durably ``executing`` or
final, because whoever owns the partition resumes its in-flight ledger entries.

Bounds: at most ``per_partition`` tracked commands per partition and ``total`` overall; a
batch that does not fit waits for room (``room``), and gives up if the service stops or a
rebalance is waiting, so the consumer re-reads those records later (a commit watermark).

Hand-off: on revocation and shutdown the tracking tasks are cancelled, never awaited to
settlement; the ledger keeps them ``executing``/``submitted`` for the next owner. A tracking
task's final write (ledger + result) runs shielded (``durable``) and is waited for, so a
hand-off never leaves a result published without its ledger entry or the reverse.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter, defaultdict
from collections.abc import Awaitable, Coroutine, Iterable, Mapping, Sequence
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class InFlight:
    def __init__(self, *, per_partition: int, total: int) -> None:
        self.per_partition = per_partition
        self.total_limit = total
        self._tasks: dict[int, dict[str, asyncio.Task[None]]] = defaultdict(dict)
        self._durable: set[asyncio.Future[Any]] = set()
        self._freed = asyncio.Event()
        # Duplicates of a tracked command that arrived before its result: answered with it.
        self._echoes: Counter[str] = Counter()
        self._echo_offsets: dict[int, dict[str, list[int]]] = defaultdict(dict)
        self.peak = 0

    @property
    def total(self) -> int:
        return sum(len(tasks) for tasks in self._tasks.values())

    def tracked(self, partition: int, command_id: str) -> bool:
        return command_id in self._tasks.get(partition, {})

    def _fits(self, needs: Mapping[int, int]) -> bool:
        total = self.total
        if total and total + sum(needs.values()) > self.total_limit:
            return False
        for partition, count in needs.items():
            current = len(self._tasks.get(partition, {}))
            if current and current + count > self.per_partition:
                return False
        return True

    async def room(self, needs: Mapping[int, int], interrupts: Sequence[asyncio.Event]) -> bool:
        """Wait until ``needs`` (partition -> commands) fits; False if interrupted first."""
        while not self._fits(needs):
            if any(event.is_set() for event in interrupts):
                return False
            self._freed.clear()
            waiters = [asyncio.ensure_future(self._freed.wait())]
            waiters += [asyncio.ensure_future(event.wait()) for event in interrupts]
            try:
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
        return True

    def start(self, commands: Sequence[tuple[int, str]], work: Coroutine[Any, Any, object]) -> None:
        """Track ``work`` for these (partition, command id) until it records their outcomes
        (or is handed off). One task may carry a whole batch: one venue call, one flush."""

        async def tracked() -> None:
            try:
                await work
            finally:  # synchronously at the end: no duplicate can be echoed in between
                for partition, command_id in commands:
                    self._tasks[partition].pop(command_id, None)
                    if not asyncio.current_task().cancelling():  # type: ignore[union-attr]
                        self.take_echoes(command_id)
                self._freed.set()

        task = asyncio.create_task(tracked(), name=f"track-{len(commands)}")
        for partition, command_id in commands:
            self._tasks[partition][command_id] = task
        self.peak = max(self.peak, self.total)

        def done(finished: asyncio.Task[None]) -> None:
            work.close()  # handed off before it ever ran: nothing left to do
            if not finished.cancelled() and finished.exception() is not None:
                log.error(
                    "tracking commands failed; they stay in flight for the next owner",
                    extra={"commands": len(commands), "error": repr(finished.exception())},
                )

        task.add_done_callback(done)

    def echo(self, command_id: str, partition: int, offset: int | None) -> None:
        """A duplicate of a tracked command (at ``offset``): its result is to be published once
        more. Until then the record is not committed (``watermarks``), so a hand-off leaves it
        to be redelivered to the next owner instead of unanswered."""
        self._echoes[command_id] += 1
        if offset is not None:
            self._echo_offsets[partition].setdefault(command_id, []).append(offset)

    def take_echoes(self, command_id: str) -> int:
        for offsets in self._echo_offsets.values():
            offsets.pop(command_id, None)
        return self._echoes.pop(command_id, 0)

    def watermarks(self) -> dict[int, int]:
        """Per partition, the lowest offset of a duplicate still waiting for its answer."""
        return {
            partition: min(min(o) for o in offsets.values())
            for partition, offsets in self._echo_offsets.items()
            if offsets
        }

    async def durable(self, write: Awaitable[T]) -> T:
        """Run a final write to completion even if the tracking task is cancelled meanwhile."""
        future = asyncio.ensure_future(write)
        self._durable.add(future)
        future.add_done_callback(self._durable.discard)
        return await asyncio.shield(future)

    async def hand_off(self, partitions: Iterable[int] | None = None) -> int:
        """Stop tracking (all, or these partitions'); returns how many were handed off."""
        chosen = list(self._tasks) if partitions is None else list(partitions)
        tasks = list({t for p in chosen for t in self._tasks.get(p, {}).values()})
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await asyncio.gather(*list(self._durable), return_exceptions=True)
        for partition in chosen:
            self._tasks.pop(partition, None)
            for command_id in self._echo_offsets.pop(partition, {}):
                self._echoes.pop(command_id, None)
        return len(tasks)

    def __len__(self) -> int:
        return self.total
