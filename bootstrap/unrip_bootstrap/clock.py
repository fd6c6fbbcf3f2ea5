"""Time, and bounded waiting: every wait has a deadline and says what it last saw.

Steps never call `time.sleep` directly, so tests drive waits with a fake clock instead of
sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol, TypeVar

T = TypeVar("T")


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def now(self) -> datetime:
        return datetime.now(UTC)


class NotReadyError(Exception):
    """Raised by a probe: not ready yet; the message says what was seen (shown on timeout)."""


class WaitTimeoutError(RuntimeError):
    """A bounded wait ran out; the message names what was awaited and what was last seen."""


def wait_for(
    what: str,
    probe: Callable[[], T],
    *,
    clock: Clock,
    timeout_s: float,
    interval_s: float,
    on_retry: Callable[[str], None] | None = None,
) -> T:
    """Call `probe` until it returns instead of raising NotReadyError, or `timeout_s` has passed."""
    deadline = clock.monotonic() + timeout_s
    while True:
        try:
            return probe()
        except NotReadyError as exc:
            last_seen = str(exc) or "not ready"
        if clock.monotonic() >= deadline:
            raise WaitTimeoutError(f"{what}: still not ready after {timeout_s:.0f} s ({last_seen})")
        if on_retry is not None:
            on_retry(last_seen)
        clock.sleep(interval_s)
