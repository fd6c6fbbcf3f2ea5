"""The executor service: commands in, exactly one execution and one result per command out.

Per batch (docs/executor.md has the full argument):

1. classify each command (``plan.Planner``): invalid -> DLQ; already terminal in the ledger ->
   re-publish the stored result (never execute again); left ``executing`` by a crash ->
   reconcile with the venue; past its deadline -> ``failed``/expired; otherwise new;
2. record ``executing`` for every new command in the ledger and wait for the broker's ack;
3. call the venue (one batch call; on an unknown outcome ask the venue before resubmitting);
4. record ``executed``/``failed`` with the result and publish the results, wait for both;
5. only then commit the batch's offsets (the consume loop does).
A crash between any two steps leaves either nothing (the command is redelivered and treated
as new) or an ``executing`` entry (reconciled by client order id), never a silent double.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from unrip.contracts import LedgerEntryV1, utc_now
from unrip.executor.kill_switch import refuse_all, start_kill_switch
from unrip.executor.ledger import Ledger
from unrip.executor.metrics import IN_FLIGHT
from unrip.executor.plan import BatchPlan, Command, Planner
from unrip.executor.readiness import follow_venue
from unrip.executor.settings import ExecutorSettings
from unrip.executor.venue_calls import ParkedError, VenueCalls
from unrip.runtime.consumer import Batch, ConsumerLoop
from unrip.runtime.kafka import make_consumer, make_producer, publish_all
from unrip.runtime.service import Service
from unrip.topics import CMD_EXECUTE_TRADE, STATE_EXECUTOR_LEDGER
from unrip.venues import registry
from unrip.venues.base import Venue, VenueUnavailableError

log = logging.getLogger(__name__)

__all__ = ["ExecutorService", "ExecutorSettings"]


class ExecutorService(Service):
    name = "executor"

    def __init__(self, settings: ExecutorSettings, venue: Venue | None = None) -> None:
        super().__init__(settings)
        self.settings: ExecutorSettings = settings
        # Built (and its credentials checked) before the bus is touched.
        self.venue = venue or registry.load(settings.executor_venue).build_execution()

    # -- lifecycle -----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        s = self.settings
        self.calls = VenueCalls(
            self.venue,
            stop,
            retry_initial_s=s.executor_venue_retry_initial_s,
            retry_max_s=s.executor_venue_retry_max_s,
        )
        async with contextlib.AsyncExitStack() as stack:
            # aiokafka clients bind to the running loop, so they are made here, not in __init__.
            self.producer = make_producer(s, "executor")
            reader = make_consumer(s, "executor-ledger", None)
            for client in (self.producer, reader):
                await client.start()
                stack.push_async_callback(client.stop)
            stack.push_async_callback(self.venue.close)
            self.kill_switch = await start_kill_switch(s, self.venue, stop, stack)
            self.ledger = Ledger(self.producer, reader)
            self.planner = Planner(
                instance_id=s.instance_id, execution_venue=self.venue.name, ledger=self.ledger.get
            )
            self.health.wait_for("venue")
            if not await self.calls.start():
                return
            self.health.satisfied("venue")
            readiness = asyncio.create_task(
                follow_venue(self.venue, self.health, stop, 1.0), name="venue-readiness"
            )
            stack.callback(readiness.cancel)
            await _check_co_partitioning(reader)
            consumer = make_consumer(s, "executor", s.executor_group_id)
            await consumer.start()
            stack.push_async_callback(consumer.stop)  # leaves the group: partitions move at once
            self.health.started()
            loop = ConsumerLoop(
                consumer,
                [CMD_EXECUTE_TRADE],
                self,
                self.health,
                commit_interval_ms=s.kafka_commit_interval_ms,
            )
            try:
                await loop.run(stop)
            except ParkedError as exc:
                log.warning("stopped with commands parked as executing", extra={"detail": str(exc)})

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
            found = await self.venue.lookup(
                [Command(partition, entry).order() for partition, entry in leftovers]
            )
        except VenueUnavailableError as exc:
            log.warning("reconciliation deferred: venue unavailable", extra={"error": str(exc)})
            return
        plan = BatchPlan()
        now = utc_now()
        for partition, entry in leftovers:
            outcome = found.get(entry.client_order_id)
            if outcome is not None and entry.command is not None:
                self.planner.finish(plan, partition, entry, outcome, None, now, reconciled=True)
        await self._flush(plan)
        log.info(
            "reconciled after crash",
            extra={"resolved": len(plan.finals), "left": len(leftovers) - len(plan.finals)},
        )

    # -- the batch -----------------------------------------------------------------------

    async def handle(self, batch: Batch) -> None:
        now = utc_now()
        plan = BatchPlan()
        for tp, records in batch.items():
            for record in records:
                self.planner.classify(plan, tp.partition, record, now)
        if self.kill_switch.check():
            refuse_all(self.planner, plan, now)
        # The intent to execute is durable before any venue call (what reconciliation adds
        # later is already ``executing`` in the ledger).
        await self.ledger.write([(c.partition, c.entry) for c in plan.to_execute])
        IN_FLIGHT.set(len(plan.to_execute) + len(plan.to_reconcile))
        if plan.to_reconcile:
            found = await self.calls.lookup([c.order() for c in plan.to_reconcile])
            self.planner.reconcile(plan, found, now)
            if self.kill_switch.check():
                refuse_all(self.planner, plan, now)
        if plan.to_execute:
            answers = await self.calls.submit([c.order() for c in plan.to_execute])
            done = utc_now()
            for item in plan.to_execute:
                answer = answers[item.client_order_id]
                self.planner.finish(
                    plan,
                    item.partition,
                    item.entry,
                    answer.outcome,
                    answer.latency_ms,
                    done,
                    reconciled=answer.reconciled,
                )
        for partition, command_id in plan.repeat_after:
            self.planner.republish(plan, partition, command_id)
        await self._flush(plan)
        IN_FLIGHT.set(0)

    async def _flush(self, plan: BatchPlan) -> None:
        await asyncio.gather(
            self.ledger.write(plan.finals), publish_all(self.producer, plan.outgoing)
        )


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
