"""When each command in flight (``executing`` or ``submitted``) started, for its age and /status.

Kept apart from the executor's batch protocol on purpose: the service marks commands started
before the venue call and finished once their result is durable, and everything else (the
oldest age Prometheus alerts on, the list /status shows) is read from here on demand, so the
hook survives any rewrite of how the executor waits for venues. Bounded by the executor's own
in-flight window: an entry lives only between those two calls.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable


class InFlightAges:
    """Start times of the commands in flight, by command id (monotonic seconds)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._started: dict[str, float] = {}

    def start(self, command_ids: Iterable[str]) -> None:
        now = self._clock()
        for command_id in command_ids:
            self._started.setdefault(command_id, now)  # a retried command keeps its first start

    def finish(self, command_ids: Iterable[str]) -> None:
        for command_id in command_ids:
            self._started.pop(command_id, None)

    def clear(self) -> None:
        self._started.clear()

    def __len__(self) -> int:
        return len(self._started)

    def oldest_age_s(self) -> float:
        """Seconds since the oldest command in flight started; 0 when none is."""
        if not self._started:
            return 0.0
        return max(0.0, self._clock() - min(self._started.values()))

    def ages_s(self, limit: int = 20) -> dict[str, float]:
        """The ``limit`` oldest commands in flight and their ages, oldest first."""
        now = self._clock()
        oldest = sorted(self._started.items(), key=lambda item: item[1])[:limit]
        return {command_id: round(now - started, 3) for command_id, started in oldest}
