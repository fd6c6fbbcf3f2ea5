"""The executor service: commands in, exactly one execution and one result per command out.

Per batch (docs/executor.md has the full argument):

1. wait for room in the in-flight window (``window.InFlight``); interrupted by a stop or a
   rebalance, the batch is given back whole (commit watermark: its first offsets);
2. classify each command (``plan.Planner``): invalid -> DLQ; already terminal in the ledger ->
   re-publish the stored result (never execute again); in flight in the ledger (``executing``
   or ``submitted``) -> resume tracking it unless this process already does; past its deadline
   -> ``failed``/expired; while the kill switch is on -> ``failed``/kill_switch; otherwise new;
3. record ``executing`` for every new command in the ledger and wait for the broker's ack: the
   point of no return, from which the ledger carries the command;
4. hand the new commands to a tracking task (``tracker.Tracker``: one venue call, outcomes
   recorded when they come, ``submitted`` when the venue accepted them) and publish the rest;
5. return: the batch's offsets may be committed (the consume loop does, in time).
A crash between any two steps leaves either nothing (the command is redelivered and treated
as new) or an in-flight entry, which the partition's owner resumes (``Tracker.resume``: asks
the venue until its answer is conclusive, never resubmits what the venue may have seen).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Coroutine, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from unrip.contracts import utc_now
from unrip.executor.in_flight import InFlightAges
from unrip.executor.kill_switch import refuse_all, start_kill_switch
from unrip.executor.ledger import Ledger
from unrip.executor.metrics import IN_FLIGHT, IN_FLIGHT_MAX_AGE, OLDEST_IN_FLIGHT
from unrip.executor.plan import BatchPlan, Command, Planner
from unrip.executor.readiness import follow_venue
from unrip.executor.settings import ExecutorSettings
from unrip.executor.status import executor_status
from unrip.executor.tracker import Tracker
from unrip.executor.venue_calls import VenueCalls
from unrip.executor.window import InFlight
from unrip.runtime.consumer import Batch, ConsumerLoop, Watermarks
from unrip.runtime.kafka import make_consumer, make_producer, publish_all
from unrip.runtime.log_context import bind
from unrip.runtime.service import Service
from unrip.topics import CMD_EXECUTE_TRADE, STATE_EXECUTOR_LEDGER
from unrip.venues import registry
from unrip.venues.base import Venue

log = logging.getLogger(__name__)

__all__ = ["ExecutorService", "ExecutorSettings"]


class ExecutorService(Service):
    name = "executor"

    def __init__(self, settings: ExecutorSettings, venue: Venue | None = None) -> None:
        super().__init__(settings)
        self.settings: ExecutorSettings = settings
        # Built (and its credentials checked) before the bus is touched.
        self.venue = venue or registry.load(settings.executor_venue).build_execution()
        # Start times of commands in flight: the age the alerts read, the list /status shows.
        self.ages = InFlightAges()
        self.consumer_loop: ConsumerLoop | None = None
        OLDEST_IN_FLIGHT.set_function(self.ages.oldest_age_s)
        IN_FLIGHT_MAX_AGE.set(settings.executor_in_flight_max_age_s)

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
            self.ledger = Ledger(
                self.producer,
                reader,
                hot_entries=s.executor_ledger_hot_entries,
                spill_path=s.executor_ledger_spill_path,
            )
            stack.callback(self.ledger.close)
            self.planner = Planner(
                instance_id=s.instance_id,
                execution_venue=self.venue.name,
                ledger=self.ledger.get,
                signer=s.command_signer(),
            )
            self.window = InFlight(
                per_partition=s.executor_window_per_partition, total=s.executor_window_total
            )
            self.tracker = Tracker(
                venue=self.venue,
                calls=self.calls,
                planner=self.planner,
                ledger=self.ledger,
                kill_switch=self.kill_switch,
                flush=self._flush,
                durable=self.window.durable,
                publish=lambda outgoing: publish_all(self.producer, outgoing),
                take_echoes=self.window.take_echoes,
                stop=stop,
                instance_id=s.instance_id,
            )
            self._stop = stop
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
            self.loop = self.consumer_loop = ConsumerLoop(
                consumer,
                [CMD_EXECUTE_TRADE],
                self,
                self.health,
                commit_interval_ms=s.kafka_commit_interval_ms,
            )
            try:
                await self.loop.run(stop)
            finally:
                # Hand in-flight commands off through the ledger; never wait for settlement.
                handed = await self.window.hand_off()
                await self.tracker.drain_writes()  # ``submitted`` entries already reported
                log.info("stopped", extra={"in_flight_handed_off": handed})

    def status(self) -> dict[str, Any]:
        return executor_status(
            venue=self.venue.name,
            group=self.settings.executor_group_id,
            in_flight=self.ages,
            max_age_s=self.settings.executor_in_flight_max_age_s,
            ledger=getattr(self, "ledger", None),  # made in run(), once the bus is reachable
            loop=self.consumer_loop,
        )

    def _track(
        self, commands: Sequence[tuple[int, str]], work: Coroutine[Any, Any, object]
    ) -> None:
        """Hand commands to the window, timing them for the in-flight age alert and /status."""
        command_ids = [command_id for _, command_id in commands]
        self.ages.start(command_ids)

        async def timed() -> None:
            # The venue's log lines about these commands name them.
            tags = bind(command_ids=command_ids)
            try:
                await work
            finally:
                tags.reset()
                self.ages.finish(command_ids)

        self.window.start(commands, timed())

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
        leftovers = [
            Command(partition, entry)
            for partition, entry in report.leftovers
            if not self.window.tracked(partition, entry.command_id)
        ]
        if leftovers:
            commands = [(c.partition, c.entry.command_id) for c in leftovers]
            self._track(commands, self.tracker.resume(leftovers))

    async def on_revoked(self, partitions: set[TopicPartition]) -> None:
        released = [tp.partition for tp in partitions if tp.topic == CMD_EXECUTE_TRADE]
        handed = await self.window.hand_off(released)
        self.ledger.release(released)
        log.info("partitions revoked", extra={"partitions": sorted(released), "handed": handed})

    # -- the batch -----------------------------------------------------------------------

    async def handle(self, batch: Batch) -> Watermarks | None:
        needs = {tp.partition: len(records) for tp, records in batch.items()}
        if not await self.window.room(needs, (self._stop, self.loop.rebalancing)):
            # No room before a stop or a rebalance: give the whole batch back (watermark).
            return {tp: records[0].offset for tp, records in batch.items()}
        now = utc_now()
        plan = BatchPlan()
        occurrences: dict[tuple[int, str], list[int]] = defaultdict(list)
        for tp, records in batch.items():
            for record in records:
                self.planner.classify(plan, tp.partition, record, now)
                if record.key is not None:  # commands are keyed by command_id
                    key = record.key.decode("utf-8", "replace")
                    occurrences[(tp.partition, key)].append(record.offset)
        # A duplicate's offset: the command's second occurrence here, or its only one.
        plan_offsets = {k: v[1] if len(v) > 1 else v[0] for k, v in occurrences.items()}
        if self.kill_switch.check():
            refuse_all(self.planner, plan, now)
        # The intent to execute is durable before any venue call; from then on the ledger
        # carries the command (the batch's offsets may be committed), and a task tracks it.
        await self.ledger.write([(c.partition, c.entry) for c in plan.to_execute])
        if plan.to_execute:
            commands = [(c.partition, c.entry.command_id) for c in plan.to_execute]
            self._track(commands, self.tracker.execute(plan.to_execute))
        untracked: list[Command] = []
        for item in plan.to_reconcile:  # in flight in the ledger, redelivered
            if self.window.tracked(item.partition, item.entry.command_id):
                offset = plan_offsets.get((item.partition, item.entry.command_id))
                self.window.echo(item.entry.command_id, item.partition, offset)
            else:
                untracked.append(item)
        if untracked:
            commands = [(c.partition, c.entry.command_id) for c in untracked]
            self._track(commands, self.tracker.resume(untracked))
        for partition, command_id in plan.repeat_after:
            if self.window.tracked(partition, command_id):
                self.window.echo(command_id, partition, plan_offsets.get((partition, command_id)))
            else:
                self.planner.republish(plan, partition, command_id)
        await self._flush(plan)
        IN_FLIGHT.set(self.window.total)
        return None

    def commit_watermarks(self) -> Watermarks:
        """Duplicates still waiting for their command's result are not committed yet."""
        return {
            TopicPartition(CMD_EXECUTE_TRADE, partition): offset
            for partition, offset in self.window.watermarks().items()
        }

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
