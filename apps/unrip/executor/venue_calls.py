"""Talking to the venue under uncertainty: retries, and asking before ever resubmitting.

A venue call that gets no answer (``VenueUnavailableError``) may still have acted, so a
failed submit is followed by a lookup of the same client order ids: what the venue knows is
taken as reconciled, the rest is submitted again (the venue refuses a client order id twice in
any case). If the service is asked to stop while the venue cannot answer, ``ParkedError``
leaves the commands ``executing`` in the ledger for the next owner to reconcile.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from unrip.executor.metrics import VENUE_UNAVAILABLE
from unrip.runtime.service import sleep_unless_stopped
from unrip.venues.base import Venue, VenueOrder, VenueOutcome, VenueUnavailableError

log = logging.getLogger(__name__)

T = TypeVar("T")


class ParkedError(Exception):
    """Shutdown arrived while the venue could not answer: leave the commands ``executing``."""


@dataclass(frozen=True, slots=True)
class Answer:
    """The venue's outcome for one order, and how it was learnt."""

    outcome: VenueOutcome
    latency_ms: float | None  # of the submit that answered; None when found by lookup
    reconciled: bool


class VenueCalls:
    def __init__(
        self, venue: Venue, stop: asyncio.Event, *, retry_initial_s: float, retry_max_s: float
    ) -> None:
        self.venue = venue
        self._stop = stop
        self._initial = retry_initial_s
        self._max = retry_max_s

    async def start(self) -> bool:
        """Start the venue, retrying until it answers; False if stopped first."""
        delay = self._initial
        while not self._stop.is_set():
            try:
                await self.venue.start()
            except VenueUnavailableError as exc:
                log.warning("venue not reachable yet", extra={"error": str(exc)})
                await sleep_unless_stopped(self._stop, delay)
                delay = min(delay * 2, self._max)
                continue
            return True
        return False

    async def lookup(self, orders: Sequence[VenueOrder]) -> Mapping[str, VenueOutcome]:
        return await self._with_retries(lambda: self.venue.lookup(orders))

    async def submit(self, orders: Sequence[VenueOrder]) -> dict[str, Answer]:
        """One answer per order, by client order id; never submits an order the venue knows."""
        pending = {order.client_order_id: order for order in orders}
        answers: dict[str, Answer] = {}
        delay = self._initial
        while pending:
            started = time.perf_counter()
            try:
                outcomes = await self.venue.submit(list(pending.values()))
            except VenueUnavailableError as exc:
                # Unknown outcome: the venue may have acted. Ask before submitting again.
                VENUE_UNAVAILABLE.inc()
                log.warning(
                    "venue call failed; reconciling before retrying",
                    extra={"error": str(exc), "orders": len(pending)},
                )
                await self._backoff(delay)
                delay = min(delay * 2, self._max)
                for client_order_id, outcome in (await self.lookup(list(pending.values()))).items():
                    if pending.pop(client_order_id, None) is not None:
                        answers[client_order_id] = Answer(outcome, None, reconciled=True)
                continue
            latency_ms = (time.perf_counter() - started) * 1000
            for outcome in outcomes:
                pending.pop(outcome.client_order_id)
                answers[outcome.client_order_id] = Answer(outcome, latency_ms, reconciled=False)
        return answers

    async def _with_retries(self, call: Callable[[], Awaitable[T]]) -> T:
        delay = self._initial
        while True:
            try:
                return await call()
            except VenueUnavailableError as exc:
                VENUE_UNAVAILABLE.inc()
                log.warning("venue unavailable", extra={"error": str(exc)})
                await self._backoff(delay)
                delay = min(delay * 2, self._max)

    async def _backoff(self, delay: float) -> None:
        if self._stop.is_set():
            raise ParkedError("venue unavailable during shutdown")
        await sleep_unless_stopped(self._stop, delay)
        if self._stop.is_set():
            raise ParkedError("venue unavailable during shutdown")
