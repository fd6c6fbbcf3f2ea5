"""The executor's durable ledger: a compacted topic co-partitioned with the commands.

Partition p of ``state.executor_ledger`` holds the entries of the commands in partition p of
``cmd.execute_trade`` (the executor writes each entry to its command's partition explicitly),
so whoever owns command partition p restores ledger partition p and knows everything that
happened to those commands, whichever replica did it and whatever disk it had. A local cache
keeps the entries and read position of partitions this process has owned before, so getting a
partition back reads only what was written since.

The cache keeps a command in a final state as a ``Settled`` summary (its state and its stored
result), not as the full entry: a final command is only ever looked up to answer a duplicate
with its result, and the full model took ~9 KiB per command against ~1 KiB for the summary
(docs/benchmarks.md, tuning). Entries still ``executing`` are kept whole: reconciling them
needs the command.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition
from prometheus_client import Gauge, Histogram

from unrip.contracts import ContractError, LedgerEntryV1, LedgerState, decode, make_envelope
from unrip.contracts.envelope import utc_now
from unrip.executor.states import IN_FLIGHT_STATES, TERMINAL, newer
from unrip.runtime.kafka import Outgoing, publish_all
from unrip.runtime.replay import catch_up
from unrip.topics import STATE_EXECUTOR_LEDGER

log = logging.getLogger(__name__)

RESTORE_SECONDS = Histogram(
    "unrip_executor_ledger_restore_seconds",
    "Time to restore the ledger of newly assigned partitions",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
LEDGER_ENTRIES = Gauge("unrip_executor_ledger_entries", "Ledger entries of owned partitions")


@dataclass(frozen=True, slots=True)
class RestoreReport:
    partitions: tuple[int, ...]
    records_read: int
    entries: int
    seconds: float
    leftovers: tuple[tuple[int, LedgerEntryV1], ...]  # still ``executing``: to reconcile

    @property
    def executing(self) -> int:
        return len(self.leftovers)


@dataclass(frozen=True, slots=True)
class Settled:
    """What the cache keeps of a command in a final state: enough to answer a duplicate."""

    command_id: str
    state: LedgerState
    result_json: str | None


Kept = LedgerEntryV1 | Settled


def _kept(current: Kept | None, record: LedgerEntryV1) -> Kept:
    """Fold ``record`` into what is kept (``states.newer``), summarising a final state."""
    candidate: Kept = record
    kept = newer(current, candidate)
    if kept is record and record.state in TERMINAL:
        return Settled(record.command_id, record.state, record.result_json)
    return kept


class Ledger:
    def __init__(self, producer: AIOKafkaProducer, restore_consumer: AIOKafkaConsumer) -> None:
        self._producer = producer
        self._reader = restore_consumer  # group-less; assigned ledger partitions on demand
        self._entries: dict[int, dict[str, Kept]] = {}
        self._next_offset: dict[int, int] = {}
        self._owned: set[int] = set()

    def get(self, partition: int, command_id: str) -> Kept | None:
        """The command's latest entry; a ``Settled`` summary once it is final."""
        return self._entries.get(partition, {}).get(command_id)

    def executing(self, partitions: Iterable[int]) -> list[tuple[int, LedgerEntryV1]]:
        return [
            (p, entry)
            for p in partitions
            for entry in self._entries.get(p, {}).values()
            if isinstance(entry, LedgerEntryV1) and entry.state in IN_FLIGHT_STATES
        ]

    async def restore(self, partitions: Sequence[int]) -> RestoreReport:
        """Read ledger partitions up to their current end before their commands are processed."""
        started = time.perf_counter()
        tps = [TopicPartition(STATE_EXECUTOR_LEDGER, p) for p in partitions]
        read = 0
        if tps:
            self._reader.assign(tps)
            for tp in tps:
                position = self._next_offset.get(tp.partition)
                if position is None:
                    await self._reader.seek_to_beginning(tp)
                else:
                    self._reader.seek(tp, position)
            async for record in catch_up(self._reader, tps):
                read += 1
                entry = self._decode(record.value, record.headers, record.partition, record.offset)
                if entry is not None:
                    bucket = self._entries.setdefault(record.partition, {})
                    bucket[entry.command_id] = _kept(bucket.get(entry.command_id), entry)
            for tp in tps:
                self._next_offset[tp.partition] = await self._reader.position(tp)
            self._reader.assign([])
        self._owned.update(partitions)
        for p in partitions:
            self._entries.setdefault(p, {})
        seconds = time.perf_counter() - started
        RESTORE_SECONDS.observe(seconds)
        self._update_gauge()
        return RestoreReport(
            tuple(sorted(partitions)),
            read,
            sum(len(self._entries[p]) for p in partitions),
            seconds,
            tuple(self.executing(partitions)),
        )

    def release(self, partitions: Iterable[int]) -> None:
        """Stop owning partitions; their cache stays, to be topped up if they come back."""
        self._owned.difference_update(partitions)
        self._update_gauge()

    async def write(self, entries: Sequence[tuple[int, LedgerEntryV1]]) -> None:
        """Durably record entries (acks=all) in their commands' partitions, then cache them."""
        if not entries:
            return
        now = utc_now()
        await publish_all(
            self._producer,
            (
                Outgoing(
                    STATE_EXECUTOR_LEDGER,
                    entry.command_id,
                    make_envelope(entry, venue=entry.venue, observed_at=now, ingested_at=now),
                    partition=partition,
                )
                for partition, entry in entries
            ),
        )
        for partition, entry in entries:
            bucket = self._entries.setdefault(partition, {})
            bucket[entry.command_id] = _kept(bucket.get(entry.command_id), entry)
        self._update_gauge()

    def _decode(
        self,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]] | None,
        partition: int,
        offset: int,
    ) -> LedgerEntryV1 | None:
        if value is None:
            return None  # a tombstone: compaction's deletion marker
        try:
            entry: LedgerEntryV1 = decode(value, headers, accept=(LedgerEntryV1,)).payload
        except ContractError as exc:
            # A ledger record we cannot read is a bug or a newer schema: stop rather than guess,
            # because guessing "never executed" could execute a trade twice.
            raise RuntimeError(
                f"unreadable ledger record {STATE_EXECUTOR_LEDGER}[{partition}]@{offset}: {exc}"
            ) from None
        return entry

    def _update_gauge(self) -> None:
        LEDGER_ENTRIES.set(sum(len(self._entries.get(p, {})) for p in self._owned))
