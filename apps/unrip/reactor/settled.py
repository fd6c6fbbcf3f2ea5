"""Which results have been counted: a bounded window per partition, the reservation past it.

The reactor must count each command's result once (inventory, PnL, open exposure) although
the bus redelivers (a consumer resumes from its last commit) and the executor republishes a
stored result when a command reaches it twice. A set of every settled command id grew with
every trade: ~200 MiB at a day of 1.7 M commands, against the reactor's 384 Mi limit. This
keeps instead:

- per results partition (a command's results share one: they are keyed by its id), the ids of
  results dated within ``window_s`` of the newest result seen there, at most ``max_keys`` in
  all (the oldest out first), and the partition's *horizon*: the latest date it evicted;
- past the horizon, the reservation. A command awaiting its result is *pending* (``Positions``
  and ``RiskState`` hold it) until its first result releases it. A result dated at or before
  the horizon whose id is no longer in the window counts only if its command is still pending;
  otherwise it is a copy of a result already counted, and is ignored.

Why that is exact for copies: a copy carries the original's date (result ids and dates are
deterministic, docs/executor-idempotency.md) and comes after it in the same partition, so it
either meets its id in the window or is dated at or before the horizon, where the reservation
it would release is gone. A first result is never dated at or before its partition's horizon
unless it arrives more than ``window_s`` after newer results of that partition (an executor
reconciling an old command after a long outage): it then counts through its pending command.
The one loss is such a late result for a command this reactor never held (decided before its
rebuild started); it is ignored and counted in ``ignored_past_window`` (a metric and a log
line in the service), never counted twice.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class SettledWindow:
    window_s: float = 3600.0
    max_keys: int = 100_000
    # Per partition: command_id -> its result's date (epoch seconds), in arrival order.
    _ids: dict[int, OrderedDict[str, float]] = field(default_factory=dict)
    _newest: dict[int, float] = field(default_factory=dict)
    _horizon: dict[int, float] = field(default_factory=dict)
    _floor: float = float("-inf")  # every partition's horizon is at least this (a rebuild's)
    _size: int = 0
    evicted: int = 0
    ignored_past_window: int = 0

    def __post_init__(self) -> None:
        if self.window_s <= 0 or self.max_keys < 1:
            raise ValueError("a settled window needs window_s > 0 and max_keys >= 1")

    def settle(self, command_id: str, at: datetime, *, pending: bool, partition: int = 0) -> bool:
        """True if this is the command's first result (it is then remembered): count it."""
        ids = self._ids.setdefault(partition, OrderedDict())
        if command_id in ids:
            return False
        when = at.timestamp()
        if when <= max(self._horizon.get(partition, self._floor), self._floor) and not pending:
            self.ignored_past_window += 1
            return False
        ids[command_id] = when
        self._size += 1
        newest = self._newest[partition] = max(when, self._newest.get(partition, when))
        self._expire(partition, newest - self.window_s)
        while self._size > self.max_keys:
            self._evict_oldest_of_largest()
        return True

    def close_before(self, when: datetime) -> None:
        """Treat results dated before ``when`` as past the window in every partition.

        A rebuild that re-read results only from ``when`` calls it: it holds every command
        since then (pending or settled), but not the ids of results dated earlier, so a copy
        of one of those must meet the reservation rule, not an empty window.
        """
        self._floor = max(self._floor, when.timestamp())

    def __contains__(self, command_id: object) -> bool:
        return any(command_id in ids for ids in self._ids.values())

    def __len__(self) -> int:
        return self._size

    def _expire(self, partition: int, cutoff: float) -> None:
        ids = self._ids[partition]
        while ids:
            oldest = next(iter(ids.values()))
            if oldest > cutoff:
                return
            self._pop(partition)

    def _evict_oldest_of_largest(self) -> None:
        partition = max(self._ids, key=lambda p: len(self._ids[p]))
        self._pop(partition)

    def _pop(self, partition: int) -> None:
        _, when = self._ids[partition].popitem(last=False)
        self._size -= 1
        self.evicted += 1
        self._horizon[partition] = max(when, self._horizon.get(partition, when))
