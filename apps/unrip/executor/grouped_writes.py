"""Ledger writes asked for one at a time, sent together: one write per turn of the event loop.

A venue reports each accepted order on its own (NEAR: the relay's "OK" to each
quote_response), and each report advances one entry to ``submitted``. Written as reported,
that was one ``Ledger.write`` per quote: its own envelope batch, its own gather, and often its
own produce request, which the broker pays for whatever it carries. Entries noted during the
same turn of the event loop are written by one ``Ledger.write`` instead (sent together, acks
awaited together), and each caller holds a future of its own that resolves only once the
write carrying its entry is acknowledged, or fails with it. A caller that stops waiting (a
cancelled tracking task) cancels its own future, never the write or another caller's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from unrip.contracts import LedgerEntryV1

Entries = Sequence[tuple[int, LedgerEntryV1]]


class GroupedWrites:
    def __init__(self, write: Callable[[Entries], Awaitable[None]]) -> None:
        self._write = write
        self._pending: list[tuple[int, LedgerEntryV1, asyncio.Future[None]]] = []
        self._writes: set[asyncio.Task[None]] = set()  # strong references while they run

    def note(self, partition: int, entry: LedgerEntryV1) -> asyncio.Future[None]:
        """Queue ``entry`` for the next grouped write; the future says when it is durable."""
        loop = asyncio.get_running_loop()
        durable: asyncio.Future[None] = loop.create_future()
        # Retrieved here so a caller that never awaits it does not log a lost exception.
        durable.add_done_callback(lambda f: f.cancelled() or f.exception())
        if not self._pending:
            loop.call_soon(self._flush)
        self._pending.append((partition, entry, durable))
        return durable

    def _flush(self) -> None:
        group, self._pending = self._pending, []
        if not group:
            return  # already sent by ``drain``
        task = asyncio.create_task(self._send(group), name=f"ledger-write-{len(group)}")
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _send(self, group: list[tuple[int, LedgerEntryV1, asyncio.Future[None]]]) -> None:
        try:
            await self._write([(partition, entry) for partition, entry, _ in group])
        except asyncio.CancelledError:
            for _, _, durable in group:
                durable.cancel()
            raise
        except Exception as exc:  # every caller waiting on this write learns that it failed
            for _, _, durable in group:
                if not durable.done():
                    durable.set_exception(exc)
            return
        for _, _, durable in group:
            if not durable.done():
                durable.set_result(None)

    async def drain(self) -> None:
        """Wait for every grouped write already asked for (queued or in flight)."""
        if self._pending:
            self._flush()
        if self._writes:
            await asyncio.gather(*list(self._writes), return_exceptions=True)

    def __len__(self) -> int:
        """Writes still to be acknowledged: queued entries and groups in flight."""
        return len(self._pending) + len(self._writes)
