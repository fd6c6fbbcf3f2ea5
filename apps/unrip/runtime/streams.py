"""Reading an async source until a stop request, without waiting for its next item."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TypeVar

T = TypeVar("T")


async def until(stop: asyncio.Event, source: AsyncIterator[T]) -> AsyncIterator[T]:
    """Items of ``source`` until it ends or ``stop`` is set (a pending read is abandoned)."""
    stopped = asyncio.create_task(stop.wait())
    try:
        while not stop.is_set():
            item = asyncio.ensure_future(anext(source))
            await asyncio.wait({item, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not item.done():
                item.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await item
                return
            try:
                yield item.result()
            except StopAsyncIteration:
                return
    finally:
        stopped.cancel()


async def cancel_and_wait(task: asyncio.Task[object]) -> None:
    """Cancel a helper task and wait until it has stopped (for exit stacks)."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
