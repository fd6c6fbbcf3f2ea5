"""The executor's ledger cache in bounded memory: hot entries in RAM, cold ones on local disk.

A command still in flight (``received``/``executing``) is kept whole in memory: there are
only ever a batch's worth, and reconciling one needs the command. A final command is kept as
a ``Settled`` summary, looked up only to answer a duplicate with its stored result; there is
one per command the ledger retains, so they cannot all stay in memory. The newest
``hot_entries`` summaries (least recently used first out) stay in memory; older ones move to
a SQLite file (``spill_path``, zlib-compressed results), which answers a lookup the memory
misses. The file is a cache too: it starts empty with the process (a restore refills it from
the ledger topic), so losing the disk costs time, never correctness.

Summaries whose settlement is older than ``cold_horizon_s`` are dropped from the file: a
command can only come back while ``cmd.execute_trade`` retains it (7 days), so an older
summary can never be asked for again by the bus.
"""

from __future__ import annotations

import sqlite3
import time
import zlib
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from unrip.contracts import LedgerEntryV1, LedgerState
from unrip.executor.states import IN_FLIGHT_STATES


@dataclass(frozen=True, slots=True)
class Settled:
    """What the cache keeps of a command in a final state: enough to answer a duplicate."""

    command_id: str
    state: LedgerState
    result_json: str | None


Kept = LedgerEntryV1 | Settled

DEFAULT_HOT_ENTRIES = 20_000  # ~1 KiB each: ~25 MiB of the executor's 384 Mi
DEFAULT_COLD_HORIZON_S = 8 * 24 * 3600  # cmd.execute_trade's retention (7 days) + a day
_SPILL_CHUNK = 1000


class LedgerCache:
    def __init__(
        self,
        *,
        hot_entries: int = DEFAULT_HOT_ENTRIES,
        spill_path: Path | None = None,
        cold_horizon_s: float = DEFAULT_COLD_HORIZON_S,
    ) -> None:
        if hot_entries < 1:
            raise ValueError("hot_entries must be at least 1")
        self._hot_entries = hot_entries
        self._cold_horizon_s = cold_horizon_s
        self._open: dict[int, dict[str, LedgerEntryV1]] = {}  # not final: always in memory
        self._hot: OrderedDict[tuple[int, str], tuple[Settled, float]] = OrderedDict()
        # No path: SQLite's anonymous temporary database (""), on disk, deleted on close.
        self._db = sqlite3.connect(str(spill_path) if spill_path else "")
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("DROP TABLE IF EXISTS settled")
        self._db.execute(
            "CREATE TABLE settled (partition INTEGER, command_id TEXT, state TEXT, "
            "result BLOB, settled_at REAL, PRIMARY KEY (partition, command_id)) WITHOUT ROWID"
        )
        self._cold = 0
        self._last_prune = time.time()

    def get(self, partition: int, command_id: str) -> Kept | None:
        entry = self._open.get(partition, {}).get(command_id)
        if entry is not None:
            return entry
        key = (partition, command_id)
        hot = self._hot.get(key)
        if hot is not None:
            self._hot.move_to_end(key)
            return hot[0]
        row = self._db.execute(
            "SELECT state, result FROM settled WHERE partition = ? AND command_id = ?", key
        ).fetchone()
        if row is None:
            return None
        result = zlib.decompress(row[1]).decode() if row[1] is not None else None
        return Settled(command_id, LedgerState(row[0]), result)

    def put(self, partition: int, kept: Kept) -> None:
        if isinstance(kept, LedgerEntryV1):
            self._open.setdefault(partition, {})[kept.command_id] = kept
            return
        bucket = self._open.get(partition)
        if bucket is not None:
            bucket.pop(kept.command_id, None)
        key = (partition, kept.command_id)
        self._hot[key] = (kept, time.time())
        self._hot.move_to_end(key)
        if len(self._hot) > self._hot_entries + _SPILL_CHUNK:
            self._spill()

    def executing(self, partitions: Iterable[int]) -> Iterator[tuple[int, LedgerEntryV1]]:
        """Entries in flight (``executing`` or ``submitted``): the new owner resumes them."""
        for p in partitions:
            for entry in self._open.get(p, {}).values():
                if entry.state in IN_FLIGHT_STATES:
                    yield p, entry

    def open_entries(self, partitions: Iterable[int]) -> int:
        return sum(len(self._open.get(p, {})) for p in partitions)

    @property
    def hot(self) -> int:
        return len(self._hot)

    @property
    def cold(self) -> int:
        return self._cold

    def _spill(self) -> None:
        # Move the least recently used summaries past the bound to the file, in one chunk.
        rows = []
        while len(self._hot) > self._hot_entries:
            (partition, command_id), (settled, at) = self._hot.popitem(last=False)
            result = settled.result_json
            rows.append(
                (
                    partition,
                    command_id,
                    settled.state.value,
                    zlib.compress(result.encode()) if result is not None else None,
                    at,
                )
            )
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO settled VALUES (?, ?, ?, ?, ?)", rows)
        self._cold += len(rows)
        now = time.time()
        if now - self._last_prune > min(self._cold_horizon_s, 3600):
            self._last_prune = now
            with self._db:
                cursor = self._db.execute(
                    "DELETE FROM settled WHERE settled_at < ?", (now - self._cold_horizon_s,)
                )
            self._cold -= cursor.rowcount

    def close(self) -> None:
        self._db.close()
