"""One command from its durable ``executing`` entry to its one result, in its own task.

``execute``: send it (``VenueCalls.submit``: retries, ask before resubmitting), then record the
outcome. ``resume``: an entry left ``executing``/``submitted`` by an earlier owner (or this one
before a redelivery) is never sent again blindly: the venue is asked (``lookup``) until it
knows the order, or until absence is conclusive (``settles_by``; the paper venue at once, NEAR
once the intent's deadline has passed and the chain can no longer change). Only then is the
command resubmitted (paper, deadline not passed) or recorded expired.

A venue with a ``on_sent`` hook (NEAR: the relay accepted the quote) gets the entry advanced to
``submitted``; the final record is written only after that write, so the compacted ledger's
last record for a command is always its final one. The ``submitted`` entries of quotes accepted
in the same turn of the event loop share one ledger write (``grouped_writes``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from unrip.contracts import LedgerEntryV1, LedgerState, TradeStatus, utc_now
from unrip.executor import states
from unrip.executor.grouped_writes import GroupedWrites
from unrip.executor.kill_switch import REASON as KILL_SWITCH
from unrip.executor.kill_switch import KillSwitch
from unrip.executor.ledger import Ledger
from unrip.executor.metrics import DUPLICATES
from unrip.executor.plan import BatchPlan, Command, Planner
from unrip.executor.venue_calls import ParkedError, VenueCalls
from unrip.runtime.kafka import Outgoing
from unrip.runtime.service import sleep_unless_stopped
from unrip.topics import EXEC_TRADE_RESULT
from unrip.venues.base import Venue, VenueOrder

log = logging.getLogger(__name__)

# Longest wait between two lookups of a resumed command whose venue has no answer yet.
RESUME_POLL_MAX_S = 5.0


class Tracker:
    def __init__(
        self,
        *,
        venue: Venue,
        calls: VenueCalls,
        planner: Planner,
        ledger: Ledger,
        kill_switch: KillSwitch,
        flush: Callable[[BatchPlan], Awaitable[None]],
        durable: Callable[[Awaitable[Any]], Awaitable[Any]],
        publish: Callable[[list[Outgoing]], Awaitable[object]],
        take_echoes: Callable[[str], int],
        stop: asyncio.Event,
        instance_id: str,
    ) -> None:
        self._venue = venue
        self._calls = calls
        self._planner = planner
        self._ledger = ledger
        self._kill_switch = kill_switch
        self._flush = flush
        self._durable = durable
        self._publish = publish
        self._take_echoes = take_echoes
        self._stop = stop
        self._instance_id = instance_id
        # client order id -> (partition, entry) while its outcome is awaited here.
        self._awaiting: dict[str, tuple[int, LedgerEntryV1]] = {}
        self._submitted: dict[str, tuple[asyncio.Future[None], LedgerEntryV1]] = {}
        self._submitted_writes = GroupedWrites(ledger.write)
        if hasattr(venue, "on_sent"):
            venue.on_sent = self._sent

    async def execute(self, items: Sequence[Command]) -> None:
        """Send the commands (one venue call), then record every outcome (one flush)."""
        for item in items:
            self._awaiting[item.client_order_id] = (item.partition, item.entry)
        try:
            answers = await self._calls.submit([item.order() for item in items])
        except ParkedError:
            return  # stopping while the venue cannot answer: the next owner resumes them
        finally:
            for item in items:
                self._awaiting.pop(item.client_order_id, None)
        plan = BatchPlan()
        done = utc_now()
        for item in items:
            answer = answers[item.client_order_id]
            self._planner.finish(
                plan,
                item.partition,
                await self._latest(item),
                answer.outcome,
                answer.latency_ms,
                done,
                reconciled=answer.reconciled,
            )
        await self._record(plan)

    async def resume(self, items: Sequence[Command]) -> None:
        """In-flight entries from the ledger: ask the venue (one lookup for all) until each
        has an outcome or the venue's silence about it is conclusive."""
        pending = {item.client_order_id: item for item in items}
        while pending and not self._stop.is_set():
            try:
                found = await self._calls.lookup([item.order() for item in pending.values()])
            except ParkedError:
                return
            now = utc_now()
            plan = BatchPlan()
            resend: list[Command] = []
            for client_order_id, item in list(pending.items()):
                outcome = found.get(client_order_id)
                order = item.order()
                if outcome is not None:
                    del pending[client_order_id]
                    self._planner.finish(
                        plan, item.partition, item.entry, outcome, None, now, reconciled=True
                    )
                elif now >= self._settles_by(order, now):
                    del pending[client_order_id]
                    self._absent(plan, item, order, now, resend)
            if plan.finals:
                await self._record(plan)
            if resend:
                await self.execute(resend)
            if pending:
                soonest = min(self._settles_by(i.order(), now) for i in pending.values())
                wait_s = min(max((soonest - now).total_seconds(), 0.01), RESUME_POLL_MAX_S)
                await sleep_unless_stopped(self._stop, wait_s)

    def _absent(
        self,
        plan: BatchPlan,
        item: Command,
        order: VenueOrder,
        now: datetime,
        resend: list[Command],
    ) -> None:
        # The venue has (conclusively) never seen the order: send it only if it was never
        # reported sent and is still answerable; otherwise it expired while in flight.
        if item.entry.state is LedgerState.EXECUTING and now < order.deadline:
            if self._kill_switch.check():
                self._planner.fail(
                    plan, item.partition, item.entry, TradeStatus.REJECTED, KILL_SWITCH, now
                )
            else:
                resend.append(item)
            return
        reason = "deadline passed while its executor was down"
        self._planner.fail(plan, item.partition, item.entry, TradeStatus.EXPIRED, reason, now)

    def _settles_by(self, order: VenueOrder, now: datetime) -> datetime:
        settles_by = getattr(self._venue, "settles_by", None)
        return now if settles_by is None else settles_by(order)

    async def _record(self, plan: BatchPlan) -> None:
        # The final records and results; then the same result for duplicates that arrived
        # while a command was in flight (re-checked until none is left).
        await self._durable(self._flush(plan))
        results = [o for o in plan.outgoing if o.topic == EXEC_TRADE_RESULT]
        while echoes := [r for r in results for _ in range(self._take_echoes(r.key or ""))]:
            DUPLICATES.inc(len(echoes))
            await self._durable(self._publish(echoes))

    # -- submitted ----------------------------------------------------------------------

    def _sent(self, client_order_id: str) -> None:
        held = self._awaiting.get(client_order_id)
        if held is None:
            return
        partition, entry = held
        if entry.state is not LedgerState.EXECUTING:
            return
        submitted = states.advance(entry, LedgerState.SUBMITTED, at=utc_now(), by=self._instance_id)
        self._awaiting[client_order_id] = (partition, submitted)
        # Grouped with the other quotes accepted in this turn: one ledger write for all.
        self._submitted[client_order_id] = (
            self._submitted_writes.note(partition, submitted),
            submitted,
        )

    async def drain_writes(self) -> None:
        """Wait until every ``submitted`` entry already reported is written (on stopping)."""
        await self._submitted_writes.drain()

    async def _latest(self, item: Command) -> LedgerEntryV1:
        held = self._submitted.pop(item.client_order_id, None)
        if held is None:
            return item.entry
        write, submitted = held
        try:
            await write
        except Exception as exc:
            log.warning("submitted record not written", extra={"error": repr(exc)})
            return item.entry
        return submitted
