"""The executor service: commands in, exactly one execution and one result per command out.

Per batch (docs/executor.md has the full argument):

1. classify each command: invalid -> DLQ; already terminal in the ledger -> re-publish the
   stored result (never execute again); left ``executing`` by a crash -> reconcile with the
   venue; past its deadline -> ``failed``/expired; otherwise new;
2. record ``executing`` for every new command in the ledger and wait for the broker's ack;
3. call the venue (one batch call; on an unknown outcome ask the venue before resubmitting);
4. record ``executed``/``failed`` with the result and publish the results, wait for both;
5. only then commit the batch's offsets (the consume loop does).
A crash between any two steps leaves either nothing (the command is redelivered and treated
as new) or an ``executing`` entry (reconciled by client order id), never a silent double.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord, TopicPartition
from prometheus_client import Counter, Gauge
from pydantic import Field

from unrip.contracts import (
    ContractError,
    Envelope,
    ExecuteTradeV1,
    LedgerEntryV1,
    LedgerState,
    TradeStatus,
    decode,
    utc_now,
)
from unrip.contracts.ids import client_order_id_for
from unrip.executor import states
from unrip.executor.ledger import Ledger, Settled
from unrip.executor.results import from_outcome, result_envelope
from unrip.runtime.consumer import Batch, ConsumerLoop
from unrip.runtime.dlq import dead_letter_record
from unrip.runtime.kafka import Outgoing, make_consumer, make_producer, publish_all
from unrip.runtime.service import Service, sleep_unless_stopped
from unrip.runtime.settings import ServiceSettings
from unrip.topics import CMD_EXECUTE_TRADE, EXEC_TRADE_RESULT, STATE_EXECUTOR_LEDGER
from unrip.venues.base import Venue, VenueOrder, VenueOutcome, VenueUnavailableError

log = logging.getLogger(__name__)

OUTCOMES = Counter("unrip_executor_outcomes_total", "Commands brought to a final state", ["status"])
EXECUTED = Counter("unrip_executor_executed_total", "Orders the venue executed for us (first time)")
DUPLICATES = Counter(
    "unrip_executor_duplicates_suppressed_total", "Duplicate commands answered from the ledger"
)
RECONCILED = Counter(
    "unrip_executor_reconciled_total", "Executing entries resolved from the venue after a crash"
)
FENCED = Counter(
    "unrip_executor_venue_fenced_total", "Submissions the venue recognised as already executed"
)
VENUE_UNAVAILABLE = Counter("unrip_executor_venue_unavailable_total", "Venue calls with no answer")
IN_FLIGHT = Gauge("unrip_executor_in_flight", "Commands between 'executing' and their result")


class ExecutorSettings(ServiceSettings):
    executor_group_id: str = "executor"
    executor_venue: Literal["paper", "near_intents"] = "paper"
    executor_paper_venue_url: str = "http://127.0.0.1:8090"
    executor_venue_timeout_s: float = Field(default=5.0, gt=0)
    executor_venue_retry_initial_s: float = Field(default=0.05, gt=0)
    executor_venue_retry_max_s: float = Field(default=2.0, gt=0)


class ParkedError(Exception):
    """Shutdown arrived while the venue could not answer: leave the commands ``executing``."""


@dataclass(slots=True)
class _Command:
    partition: int
    entry: LedgerEntryV1

    @property
    def command(self) -> ExecuteTradeV1:
        assert self.entry.command is not None
        return self.entry.command

    @property
    def client_order_id(self) -> str:
        return self.entry.client_order_id


@dataclass(slots=True)
class _BatchPlan:
    to_execute: list[_Command] = field(default_factory=list)
    to_reconcile: list[_Command] = field(default_factory=list)
    finals: list[tuple[int, LedgerEntryV1]] = field(default_factory=list)
    outgoing: list[Outgoing] = field(default_factory=list)
    repeat_after: list[tuple[int, str]] = field(default_factory=list)  # in-batch duplicates
    seen: set[str] = field(default_factory=set)


def _venue_order(command: ExecuteTradeV1) -> VenueOrder:
    return VenueOrder(
        client_order_id=command.client_order_id,
        command_id=command.command_id,
        quote_id=command.quote_id,
        asset_in=command.asset_in,
        asset_out=command.asset_out,
        amount_in=command.amount_in,
        amount_out=command.amount_out,
        deadline=command.deadline,
        quote_validity_ms=command.quote_validity_ms,
        kind=command.kind,
    )


def build_venue(settings: ExecutorSettings) -> Venue:
    if settings.executor_venue == "paper":
        from unrip.venues.paper.client import PaperVenue

        return PaperVenue(
            settings.executor_paper_venue_url, timeout_s=settings.executor_venue_timeout_s
        )
    from unrip.venues.near_intents.responder import (
        MissingCredentialsError,
        NearIntentsSettings,
        NearIntentsVenue,
    )

    near = NearIntentsSettings()
    try:
        near.solver_identity()  # refuse to start without a key, before touching the bus
    except MissingCredentialsError as exc:
        raise ValueError(f"live NEAR Intents execution refused: {exc}") from None
    return NearIntentsVenue(near)


class ExecutorService(Service):
    name = "executor"

    def __init__(self, settings: ExecutorSettings, venue: Venue | None = None) -> None:
        super().__init__(settings)
        self.settings: ExecutorSettings = settings
        self.venue = venue or build_venue(settings)

    # -- lifecycle -----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        self._stop = stop
        # aiokafka clients bind to the running loop, so they are made here, not in __init__.
        self.producer = make_producer(self.settings, "executor")
        self.reader = make_consumer(self.settings, "executor-ledger", None)
        self.ledger = Ledger(self.producer, self.reader)
        consumer = make_consumer(self.settings, "executor", self.settings.executor_group_id)
        await self.producer.start()
        await self.reader.start()
        started_consumer = False
        try:
            await self._start_venue(stop)
            if stop.is_set():
                return
            await self._check_co_partitioning(self.reader)
            await consumer.start()
            started_consumer = True
            self.health.started()
            loop = ConsumerLoop(
                consumer,
                [CMD_EXECUTE_TRADE],
                self,
                self.health,
                commit_interval_ms=self.settings.kafka_commit_interval_ms,
            )
            await loop.run(stop)
        except ParkedError as exc:
            log.warning("stopped with commands parked as executing", extra={"detail": str(exc)})
        finally:
            if started_consumer:
                await consumer.stop()  # leaves the group: partitions move at once
            await self.reader.stop()
            await self.producer.stop()
            await self.venue.close()

    async def _start_venue(self, stop: asyncio.Event) -> None:
        self.health.wait_for("venue")
        delay = self.settings.executor_venue_retry_initial_s
        while not stop.is_set():
            try:
                await self.venue.start()
            except VenueUnavailableError as exc:
                log.warning("venue not reachable yet", extra={"error": str(exc)})
                await sleep_unless_stopped(stop, delay)
                delay = min(delay * 2, self.settings.executor_venue_retry_max_s)
                continue
            self.health.satisfied("venue")
            return

    @staticmethod
    async def _check_co_partitioning(consumer: AIOKafkaConsumer) -> None:
        await consumer.topics()
        commands = consumer.partitions_for_topic(CMD_EXECUTE_TRADE) or set()
        ledger = consumer.partitions_for_topic(STATE_EXECUTOR_LEDGER) or set()
        if not commands or commands != ledger:
            raise RuntimeError(
                f"{CMD_EXECUTE_TRADE} has partitions {sorted(commands)} but "
                f"{STATE_EXECUTOR_LEDGER} has {sorted(ledger)}: they must be co-partitioned "
                "(create both from the topic catalogue)"
            )

    # -- rebalances ----------------------------------------------------------------------

    async def on_assigned(self, partitions: set[TopicPartition]) -> None:
        owned = sorted(tp.partition for tp in partitions if tp.topic == CMD_EXECUTE_TRADE)
        report = await self.ledger.restore(owned)
        log.info(
            "ledger restored",
            extra={
                "partitions": owned,
                "records": report.records_read,
                "entries": report.entries,
                "executing": report.executing,
                "seconds": round(report.seconds, 4),
            },
        )
        if report.leftovers:
            await self._reconcile_on_assignment(report.leftovers)

    async def on_revoked(self, partitions: set[TopicPartition]) -> None:
        released = [tp.partition for tp in partitions if tp.topic == CMD_EXECUTE_TRADE]
        self.ledger.release(released)
        log.info("partitions revoked", extra={"partitions": sorted(released)})

    async def _reconcile_on_assignment(
        self, leftovers: Sequence[tuple[int, LedgerEntryV1]]
    ) -> None:
        """Resolve what a crashed owner left ``executing`` that the venue has an answer for.

        Entries the venue has never seen stay ``executing``: their commands were not committed,
        so they are redelivered and take the normal path (submit, or expire).
        """
        try:
            found = await self.venue.lookup([entry.client_order_id for _, entry in leftovers])
        except VenueUnavailableError as exc:
            log.warning("reconciliation deferred: venue unavailable", extra={"error": str(exc)})
            return
        plan = _BatchPlan()
        for partition, entry in leftovers:
            outcome = found.get(entry.client_order_id)
            if outcome is not None and entry.command is not None:
                self._finish(plan, partition, entry, outcome, None, reconciled=True)
        await self._flush(plan)
        log.info(
            "reconciled after crash",
            extra={"resolved": len(plan.finals), "left": len(leftovers) - len(plan.finals)},
        )

    # -- the batch -----------------------------------------------------------------------

    async def handle(self, batch: Batch) -> None:
        now = utc_now()
        plan = _BatchPlan()
        for tp, records in batch.items():
            for record in records:
                self._classify(plan, tp.partition, record, now)
        # The intent to execute is durable before any venue call (what ``_reconcile`` adds
        # later is already ``executing`` in the ledger).
        await self.ledger.write([(c.partition, c.entry) for c in plan.to_execute])
        IN_FLIGHT.set(len(plan.to_execute) + len(plan.to_reconcile))
        if plan.to_reconcile:
            await self._reconcile(plan, now)
        if plan.to_execute:
            await self._execute(plan)
        for partition, command_id in plan.repeat_after:
            self._republish(plan, partition, command_id)
        await self._flush(plan)
        IN_FLIGHT.set(0)

    def _classify(
        self, plan: _BatchPlan, partition: int, record: ConsumerRecord, now: datetime
    ) -> None:
        try:
            envelope = decode(record.value, record.headers, accept=(ExecuteTradeV1,))
        except ContractError as exc:
            plan.outgoing.append(
                dead_letter_record(
                    record, reason_code=exc.code, detail=exc.detail, consumer="executor"
                )
            )
            return
        command: ExecuteTradeV1 = envelope.payload
        if command.client_order_id != client_order_id_for(command.command_id):
            plan.outgoing.append(
                dead_letter_record(
                    record,
                    reason_code="invalid",
                    detail="client_order_id does not derive from command_id",
                    consumer="executor",
                    venue=envelope.venue,
                )
            )
            return
        if command.command_id in plan.seen:
            plan.repeat_after.append((partition, command.command_id))
            return
        plan.seen.add(command.command_id)
        entry = self.ledger.get(partition, command.command_id)
        if entry is not None and entry.state in states.TERMINAL:
            self._republish(plan, partition, command.command_id)
            return
        assert not isinstance(entry, Settled)  # only final states are kept as summaries
        if entry is not None and entry.state is LedgerState.EXECUTING:
            plan.to_reconcile.append(_Command(partition, entry))
            return
        me = self.settings.instance_id
        if entry is None:
            entry = states.receive_envelope(envelope, at=now, by=me)
        if now >= command.deadline:
            late_ms = (now - command.deadline).total_seconds() * 1000
            self._fail(
                plan,
                partition,
                entry,
                TradeStatus.EXPIRED,
                f"reached the executor {late_ms:.0f} ms after its deadline",
                now,
            )
            return
        executing = states.advance(entry, LedgerState.EXECUTING, at=now, by=me)
        plan.to_execute.append(_Command(partition, executing))

    async def _reconcile(self, plan: _BatchPlan, now: datetime) -> None:
        found = await self._with_retries(
            lambda: self.venue.lookup([c.client_order_id for c in plan.to_reconcile])
        )
        for item in plan.to_reconcile:
            outcome = found.get(item.client_order_id)
            if outcome is not None:
                self._finish(plan, item.partition, item.entry, outcome, None, reconciled=True)
            elif now >= item.command.deadline:
                # The venue never saw it and it can no longer be executed in time.
                self._fail(
                    plan,
                    item.partition,
                    item.entry,
                    TradeStatus.EXPIRED,
                    "deadline passed while its executor was down",
                    now,
                )
            else:
                plan.to_execute.append(item)

    async def _execute(self, plan: _BatchPlan) -> None:
        pending = {item.client_order_id: item for item in plan.to_execute}
        delay = self.settings.executor_venue_retry_initial_s
        while pending:
            orders = [_venue_order(item.command) for item in pending.values()]
            started = time.perf_counter()
            try:
                outcomes = await self.venue.submit(orders)
            except VenueUnavailableError as exc:
                # Unknown outcome: the venue may have acted. Ask before submitting again.
                VENUE_UNAVAILABLE.inc()
                log.warning(
                    "venue call failed; reconciling before retrying",
                    extra={"error": str(exc), "orders": len(orders)},
                )
                await self._backoff(delay)
                delay = min(delay * 2, self.settings.executor_venue_retry_max_s)
                found = await self._with_retries(lambda: self.venue.lookup(list(pending)))
                for client_order_id, outcome in found.items():
                    item = pending.pop(client_order_id, None)
                    if item is not None:
                        self._finish(
                            plan, item.partition, item.entry, outcome, None, reconciled=True
                        )
                continue
            latency_ms = (time.perf_counter() - started) * 1000
            for outcome in outcomes:
                item = pending.pop(outcome.client_order_id)
                self._finish(
                    plan, item.partition, item.entry, outcome, latency_ms, reconciled=False
                )

    async def _with_retries(self, call: Any) -> Any:
        delay = self.settings.executor_venue_retry_initial_s
        while True:
            try:
                return await call()
            except VenueUnavailableError as exc:
                VENUE_UNAVAILABLE.inc()
                log.warning("venue unavailable", extra={"error": str(exc)})
                await self._backoff(delay)
                delay = min(delay * 2, self.settings.executor_venue_retry_max_s)

    async def _backoff(self, delay: float) -> None:
        if self._stop.is_set():
            raise ParkedError("venue unavailable during shutdown")
        await sleep_unless_stopped(self._stop, delay)
        if self._stop.is_set():
            raise ParkedError("venue unavailable during shutdown")

    # -- outcomes ------------------------------------------------------------------------

    def _lineage(self, entry: LedgerEntryV1) -> dict[str, Any]:
        return {
            "venue": entry.venue,
            "execution_venue": self.venue.name,
            "command_event_id": entry.command_event_id,
            "correlation_id": entry.correlation_id,
        }

    def _finish(
        self,
        plan: _BatchPlan,
        partition: int,
        entry: LedgerEntryV1,
        outcome: VenueOutcome,
        venue_latency_ms: float | None,
        *,
        reconciled: bool,
    ) -> None:
        assert entry.command is not None
        if outcome.duplicate:
            FENCED.inc()
        elif not reconciled:
            EXECUTED.inc()
        if reconciled:
            RECONCILED.inc()
        result = from_outcome(
            entry.command,
            outcome,
            venue_latency_ms=venue_latency_ms,
            reconciled=reconciled,
            **self._lineage(entry),
        )
        self._record_final(plan, partition, entry, LedgerState.EXECUTED, result)

    def _fail(
        self,
        plan: _BatchPlan,
        partition: int,
        entry: LedgerEntryV1,
        status: TradeStatus,
        reason: str,
        now: datetime,
    ) -> None:
        assert entry.command is not None
        result = result_envelope(
            entry.command, status=status, at=now, reason=reason, **self._lineage(entry)
        )
        self._record_final(plan, partition, entry, LedgerState.FAILED, result)

    def _record_final(
        self,
        plan: _BatchPlan,
        partition: int,
        entry: LedgerEntryV1,
        state: LedgerState,
        result: Envelope[Any],
    ) -> None:
        final = states.advance(
            entry,
            state,
            at=utc_now(),
            by=self.settings.instance_id,
            result_json=result.to_bytes().decode(),
        )
        plan.finals.append((partition, final))
        plan.outgoing.append(Outgoing(EXEC_TRADE_RESULT, entry.command_id, result))
        OUTCOMES.labels(result.payload.status.value).inc()

    def _republish(self, plan: _BatchPlan, partition: int, command_id: str) -> None:
        """A duplicate command: send the stored result again, exactly as it was."""
        DUPLICATES.inc()
        in_batch = next((e for p, e in reversed(plan.finals) if e.command_id == command_id), None)
        stored = in_batch or self.ledger.get(partition, command_id)
        if stored is None or stored.result_json is None:
            return  # first copy still in flight in this batch and not finished: it will publish
        result = decode(stored.result_json.encode())
        plan.outgoing.append(Outgoing(EXEC_TRADE_RESULT, command_id, result))

    async def _flush(self, plan: _BatchPlan) -> None:
        await asyncio.gather(
            self.ledger.write(plan.finals), publish_all(self.producer, plan.outgoing)
        )
