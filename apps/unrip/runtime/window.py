"""A de-duplication window with a bound: keys seen recently, not every key since start.

Services de-duplicate by identity (a demand key, a command id) because the bus redelivers. A
plain set of every key seen grows for as long as the process lives (at ~20 demands/s a day of
demand keys is ~230 MiB); this window forgets a key ``ttl_s`` after it was first added, or,
when more than ``max_keys`` are held, the oldest first. Both rules evict in insertion order,
so one ordered dict does both in O(1) per key.

Why forgetting is safe: redelivery replays what was handled since the last commit (seconds),
and every demand and command carries a deadline of seconds to a minute, so a copy arriving
after its key was evicted is long past its deadline and can only be skipped or expired, never
executed. The bounds are settings sized to the services' memory limits (~250 bytes a key).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable


class KeyWindow:
    """Keys added within the last ``ttl_s`` seconds, at most ``max_keys`` of them."""

    def __init__(
        self,
        *,
        ttl_s: float = 3600.0,
        max_keys: int = 200_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_s <= 0 or max_keys < 1:
            raise ValueError("a key window needs ttl_s > 0 and max_keys >= 1")
        self.ttl_s = ttl_s
        self.max_keys = max_keys
        self._clock = clock
        self._keys: OrderedDict[str, float] = OrderedDict()  # key -> when first added
        self.evicted = 0

    def add(self, key: str) -> bool:
        """Remember ``key``; True if it was not in the window (the first sighting)."""
        now = self._clock()
        self._expire(now)
        if key in self._keys:
            return False
        self._keys[key] = now
        if len(self._keys) > self.max_keys:
            self._keys.popitem(last=False)
            self.evicted += 1
        return True

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def clear(self) -> None:
        self._keys.clear()

    def _expire(self, now: float) -> None:
        cutoff = now - self.ttl_s
        keys = self._keys
        while keys:
            oldest = next(iter(keys.values()))
            if oldest > cutoff:
                return
            keys.popitem(last=False)
            self.evicted += 1
