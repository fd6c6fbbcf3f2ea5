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
needs the command. Summaries past ``hot_entries`` move to local disk (``ledger_cache``), so
memory stays bounded however many commands the ledger retains.

A ledger record that cannot be read (corrupt, or a schema this build does not know) is
quarantined: counted (``unrip_executor_ledger_quarantined_total``), logged with its
partition and offset, and skipped, instead of stopping every executor that restores the
partition. The command it described is then unknown to this ledger; if it comes again it is
classified as new, and the venue's fencing on its deterministic client order id (NEAR: the
nonce; paper: the order book) answers it with the original outcome instead of a second fill.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition
from prometheus_client import Counter, Gauge, Histogram

from unrip.contracts import ContractError, LedgerEntryV1, decode, make_envelope
from unrip.contracts.envelope import utc_now
from unrip.executor.ledger_cache import DEFAULT_HOT_ENTRIES, LedgerCache
from unrip.executor.ledger_cache import Kept as Kept  # re-exported: the planner's lookups
from unrip.executor.ledger_cache import Settled as Settled
from unrip.executor.states import TERMINAL, newer
from unrip.runtime.kafka import Outgoing, publish_all
from unrip.runtime.replay import catch_up
from unrip.topics import STATE_EXECUTOR_LEDGER

log = logging.getLogger(__name__)

RESTORE_SECONDS = Histogram(
    "unrip_executor_ledger_restore_seconds",
    "Time to restore the ledger of newly assigned partitions",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
LEDGER_ENTRIES = Gauge(
    "unrip_executor_ledger_entries", "Ledger entries not yet final, of owned partitions"
)
LEDGER_CACHED = Gauge(
    "unrip_executor_ledger_cached_entries", "Final ledger summaries cached", ["tier"]
)
QUARANTINED = Counter(
    "unrip_executor_ledger_quarantined_total",
    "Unreadable ledger records skipped on restore",
    ["reason_code"],
)


@dataclass(frozen=True, slots=True)
class RestoreReport:
    partitions: tuple[int, ...]
    records_read: int
    entries: int  # commands known in these partitions
    seconds: float
    leftovers: tuple[tuple[int, LedgerEntryV1], ...]  # still ``executing``: to reconcile

    @property
    def executing(self) -> int:
        return len(self.leftovers)


def _kept(current: Kept | None, record: LedgerEntryV1) -> Kept:
    """Fold ``record`` into what is kept (``states.newer``), summarising a final state."""
    candidate: Kept = record
    kept = newer(current, candidate)
    if kept is record and record.state in TERMINAL:
        return Settled(record.command_id, record.state, record.result_json)
    return kept


class Ledger:
    def __init__(
        self,
        producer: AIOKafkaProducer,
        restore_consumer: AIOKafkaConsumer,
        *,
        hot_entries: int = DEFAULT_HOT_ENTRIES,
        spill_path: Path | None = None,
    ) -> None:
        self._producer = producer
        self._reader = restore_consumer  # group-less; assigned ledger partitions on demand
        self._cache = LedgerCache(hot_entries=hot_entries, spill_path=spill_path)
        self._next_offset: dict[int, int] = {}
        self._owned: set[int] = set()
        self.quarantined = 0
        self._known: dict[int, int] = {}  # distinct commands cached, per partition

    def get(self, partition: int, command_id: str) -> Kept | None:
        """The command's latest entry; a ``Settled`` summary once it is final."""
        return self._cache.get(partition, command_id)

    def executing(self, partitions: Iterable[int]) -> list[tuple[int, LedgerEntryV1]]:
        return list(self._cache.executing(partitions))

    def _fold(self, partition: int, entry: LedgerEntryV1) -> None:
        current = self._cache.get(partition, entry.command_id)
        self._cache.put(partition, _kept(current, entry))
        if current is None:
            self._known[partition] = self._known.get(partition, 0) + 1

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
                    self._fold(record.partition, entry)
            for tp in tps:
                self._next_offset[tp.partition] = await self._reader.position(tp)
            self._reader.assign([])
        self._owned.update(partitions)
        seconds = time.perf_counter() - started
        RESTORE_SECONDS.observe(seconds)
        self._update_gauge()
        return RestoreReport(
            tuple(sorted(partitions)),
            read,
            sum(self._known.get(p, 0) for p in partitions),
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
            self._fold(partition, entry)
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
            # Quarantined, not a halt (module docstring): one bad record must not stop every
            # executor, and the venue's fencing still stands between it and a double fill.
            self.quarantined += 1
            QUARANTINED.labels(exc.code).inc()
            log.error(
                "unreadable ledger record quarantined",
                extra={
                    "topic": STATE_EXECUTOR_LEDGER,
                    "partition": partition,
                    "offset": offset,
                    "reason_code": exc.code,
                    "detail": exc.detail[:500],
                },
            )
            return None
        return entry

    @property
    def owned(self) -> list[int]:
        return sorted(self._owned)

    def owned_entries(self) -> int:
        """The ledger size /status shows: open entries of owned partitions and the final
        summaries cached for them, in memory or spilled to disk."""
        return self._cache.open_entries(self._owned) + self._cache.hot + self._cache.cold

    def _update_gauge(self) -> None:
        LEDGER_ENTRIES.set(self._cache.open_entries(self._owned))
        LEDGER_CACHED.labels("memory").set(self._cache.hot)
        LEDGER_CACHED.labels("disk").set(self._cache.cold)

    def close(self) -> None:
        self._cache.close()
