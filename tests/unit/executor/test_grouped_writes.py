"""Grouped ledger writes: one write per turn, and nobody told durable before the broker says so."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from unrip.contracts import LedgerEntryV1, LedgerState
from unrip.executor import states
from unrip.executor.grouped_writes import GroupedWrites

from tests.factories import command

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def submitted(n: int) -> LedgerEntryV1:
    entry = states.receive(
        command(f"q-{n}"), venue="near_intents", command_event_id=f"e-{n}", correlation_id=None,
        at=NOW, by="x",
    )  # fmt: skip
    entry = states.advance(entry, LedgerState.EXECUTING, at=NOW, by="x")
    return states.advance(entry, LedgerState.SUBMITTED, at=NOW, by="x")


class Broker:
    """A ledger write that is acknowledged (or refused) only when the test says so."""

    def __init__(self) -> None:
        self.writes: list[list[tuple[int, str]]] = []
        self.acks: list[asyncio.Future[None]] = []

    async def write(self, entries: Sequence[tuple[int, LedgerEntryV1]]) -> None:
        self.writes.append([(partition, entry.command_id) for partition, entry in entries])
        ack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.acks.append(ack)
        await ack


async def turn() -> None:
    for _ in range(3):  # the scheduled flush, then the write task's first step
        await asyncio.sleep(0)


async def test_entries_noted_in_one_turn_share_one_write_durable_only_once_acknowledged() -> None:
    broker = Broker()
    grouped = GroupedWrites(broker.write)
    entries = [submitted(n) for n in range(3)]
    futures = [grouped.note(n % 2, entry) for n, entry in enumerate(entries)]
    await turn()
    assert broker.writes == [[(n % 2, entries[n].command_id) for n in range(3)]]
    assert not any(f.done() for f in futures)  # sent, not yet acknowledged
    broker.acks[0].set_result(None)
    await asyncio.gather(*futures)
    assert len(grouped) == 0


async def test_an_entry_noted_while_a_write_is_in_flight_goes_in_the_next_write() -> None:
    broker = Broker()
    grouped = GroupedWrites(broker.write)
    first = grouped.note(0, submitted(1))
    await turn()
    second = grouped.note(0, submitted(2))
    await turn()
    assert len(broker.writes) == 2
    broker.acks[1].set_result(None)
    await second
    assert not first.done()  # its own write is still unacknowledged
    broker.acks[0].set_result(None)
    await first


async def test_a_refused_write_fails_every_entry_it_carried_and_the_next_write_still_goes_out() -> (
    None
):
    broker = Broker()
    grouped = GroupedWrites(broker.write)
    futures = [grouped.note(0, submitted(n)) for n in range(2)]
    await turn()
    broker.acks[0].set_exception(ConnectionError("broker gone"))
    for future in futures:
        with pytest.raises(ConnectionError):
            await future
    later = grouped.note(0, submitted(3))
    await turn()
    broker.acks[1].set_result(None)
    await later
    assert len(broker.writes) == 2


async def test_a_caller_that_stops_waiting_cancels_neither_the_write_nor_the_others() -> None:
    broker = Broker()
    grouped = GroupedWrites(broker.write)
    gone, kept = grouped.note(0, submitted(1)), grouped.note(0, submitted(2))
    waiter = asyncio.ensure_future(gone)
    await turn()
    waiter.cancel()
    await turn()
    assert len(broker.writes) == 1 and not broker.acks[0].cancelled()
    broker.acks[0].set_result(None)
    await kept


async def test_drain_returns_only_when_every_queued_write_is_acknowledged() -> None:
    broker = Broker()
    grouped = GroupedWrites(broker.write)
    future = grouped.note(0, submitted(1))
    draining = asyncio.ensure_future(grouped.drain())
    await turn()
    assert not draining.done()
    broker.acks[0].set_result(None)
    await draining
    assert future.done() and len(broker.writes) == 1
