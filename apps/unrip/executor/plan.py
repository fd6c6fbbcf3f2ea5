"""What the executor does with a batch of commands: pure decisions, no I/O, no clock reads.

``Planner.classify`` sorts each record (docs/executor.md, step 1): invalid, keyed by anything
but its ``command_id`` or on a partition its id does not map to, or failing in any way -> DLQ;
already final in the ledger -> re-publish the stored result (never execute again); left
``executing`` by a crash -> reconcile with the venue; past its deadline -> ``failed``/expired;
otherwise new, to execute. ``reconcile`` and ``finish`` turn venue answers into final ledger entries
and results. The service does the I/O around it, in the order the protocol demands.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiokafka.structs import ConsumerRecord

from unrip.contracts import (
    Envelope,
    ExecuteTradeV1,
    LedgerEntryV1,
    LedgerState,
    TradeStatus,
    decode,
)
from unrip.contracts.ids import client_order_id_for
from unrip.executor import states
from unrip.executor.ledger import Kept, Settled
from unrip.executor.metrics import DUPLICATES, EXECUTED, FENCED, OUTCOMES, RECONCILED
from unrip.executor.results import from_outcome, result_envelope
from unrip.runtime.dlq import dead_letter_record, failed_record
from unrip.runtime.kafka import Outgoing
from unrip.runtime.partitioning import partition_for
from unrip.runtime.signing import REASON as UNAUTHENTICATED
from unrip.runtime.signing import CommandSigner
from unrip.topics import EXEC_TRADE_RESULT, EXECUTION_PARTITIONS
from unrip.venues.base import VenueOrder, VenueOutcome


@dataclass(slots=True)
class Command:
    """A command of the batch with its ledger entry (``executing`` once it is to be sent)."""

    partition: int
    entry: LedgerEntryV1

    @property
    def command(self) -> ExecuteTradeV1:
        assert self.entry.command is not None
        return self.entry.command

    @property
    def client_order_id(self) -> str:
        return self.entry.client_order_id

    def order(self) -> VenueOrder:
        return order_for(self.command)


def order_for(command: ExecuteTradeV1) -> VenueOrder:
    """The venue order a command becomes (what the executor sends, and backtests simulate)."""
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


@dataclass(slots=True)
class BatchPlan:
    to_execute: list[Command] = field(default_factory=list)
    to_reconcile: list[Command] = field(default_factory=list)
    finals: list[tuple[int, LedgerEntryV1]] = field(default_factory=list)
    outgoing: list[Outgoing] = field(default_factory=list)
    repeat_after: list[tuple[int, str]] = field(default_factory=list)  # in-batch duplicates
    seen: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True, kw_only=True)
class Planner:
    instance_id: str
    execution_venue: str
    ledger: Callable[[int, str], Kept | None]  # the command's latest ledger record
    signer: CommandSigner  # only the reactor's commands execute (runtime/signing.py)

    # Partitions of cmd.execute_trade (and of the ledger, co-partitioned with it).
    command_partitions: int = EXECUTION_PARTITIONS

    def classify(
        self, plan: BatchPlan, partition: int, record: ConsumerRecord, now: datetime
    ) -> None:
        """Sort one record into the plan; any failure of one record is its dead letter."""
        try:
            self._classify(plan, partition, record, now)
        except Exception as exc:  # never a crash loop on the partition
            plan.outgoing.append(failed_record(record, exc, consumer="executor"))

    def _classify(
        self, plan: BatchPlan, partition: int, record: ConsumerRecord, now: datetime
    ) -> None:
        envelope = decode(record.value, record.headers, accept=(ExecuteTradeV1,))
        # Only what the reactor signed is a command (a forged one never reaches the ledger).
        if problem := self.signer.problem(record.value, record.headers):
            plan.outgoing.append(
                dead_letter_record(
                    record, reason_code=UNAUTHENTICATED, detail=problem, consumer="executor"
                )
            )
            return
        command: ExecuteTradeV1 = envelope.payload
        misplaced = self._misplaced(record, partition, command.command_id)
        if misplaced is not None:
            code, detail = misplaced
            plan.outgoing.append(
                dead_letter_record(
                    record,
                    reason_code=code,
                    detail=detail,
                    consumer="executor",
                    venue=envelope.venue,
                )
            )
            return
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
        entry = self.ledger(partition, command.command_id)
        if entry is not None and entry.state in states.TERMINAL:
            self.republish(plan, partition, command.command_id)
            return
        assert not isinstance(entry, Settled)  # only final states are kept as summaries
        if entry is not None and entry.state in states.IN_FLIGHT_STATES:
            plan.to_reconcile.append(Command(partition, entry))
            return
        if entry is None:
            entry = states.receive_envelope(envelope, at=now, by=self.instance_id)
        if now >= command.deadline:
            late_ms = (now - command.deadline).total_seconds() * 1000
            reason = f"reached the executor {late_ms:.0f} ms after its deadline"
            self.fail(plan, partition, entry, TradeStatus.EXPIRED, reason, now)
            return
        executing = states.advance(entry, LedgerState.EXECUTING, at=now, by=self.instance_id)
        plan.to_execute.append(Command(partition, executing))

    def _misplaced(
        self, record: ConsumerRecord, partition: int, command_id: str
    ) -> tuple[str, str] | None:
        # A command is checked against the ledger of its own partition only: keyed by
        # anything else, or on another partition, it could be executed twice.
        if record.key != command_id.encode():
            return "key_mismatch", "record key is not the command_id"
        expected = partition_for(command_id, self.command_partitions)
        if partition != expected:
            return "partition_mismatch", (
                f"on partition {partition}, but its command_id maps to {expected} "
                f"of {self.command_partitions}"
            )
        return None

    def reconcile(self, plan: BatchPlan, found: Mapping[str, VenueOutcome], now: datetime) -> None:
        """Leftover ``executing`` commands: the venue's answer if it has one, else expire or
        send (the venue never saw them)."""
        for item in plan.to_reconcile:
            outcome = found.get(item.client_order_id)
            if outcome is not None:
                self.finish(plan, item.partition, item.entry, outcome, None, now, reconciled=True)
            elif now >= item.command.deadline:
                reason = "deadline passed while its executor was down"
                self.fail(plan, item.partition, item.entry, TradeStatus.EXPIRED, reason, now)
            else:
                plan.to_execute.append(item)

    def finish(
        self,
        plan: BatchPlan,
        partition: int,
        entry: LedgerEntryV1,
        outcome: VenueOutcome,
        venue_latency_ms: float | None,
        now: datetime,
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
        self._record_final(plan, partition, entry, LedgerState.EXECUTED, result, now)

    def fail(
        self,
        plan: BatchPlan,
        partition: int,
        entry: LedgerEntryV1,
        status: TradeStatus,
        reason: str,
        now: datetime,
    ) -> None:
        assert entry.command is not None
        # An expiry is dated at the deadline, not when it was noticed: whoever notices it (a
        # paused replica and its successor alike) publishes the same result event.
        at = entry.command.deadline if status is TradeStatus.EXPIRED else now
        result = result_envelope(
            entry.command, status=status, at=at, reason=reason, **self._lineage(entry)
        )
        self._record_final(plan, partition, entry, LedgerState.FAILED, result, now)

    def republish(self, plan: BatchPlan, partition: int, command_id: str) -> None:
        """A duplicate command: send the stored result again, exactly as it was."""
        DUPLICATES.inc()
        in_batch = next((e for p, e in reversed(plan.finals) if e.command_id == command_id), None)
        stored = in_batch or self.ledger(partition, command_id)
        if stored is None or stored.result_json is None:
            return  # first copy still in flight in this batch and not finished: it will publish
        value = stored.result_json.encode()
        plan.outgoing.append(Outgoing(EXEC_TRADE_RESULT, command_id, decode(value), value=value))

    def _lineage(self, entry: LedgerEntryV1) -> dict[str, Any]:
        return {
            "venue": entry.venue,
            "execution_venue": self.execution_venue,
            "command_event_id": entry.command_event_id,
            "correlation_id": entry.correlation_id,
        }

    def _record_final(
        self,
        plan: BatchPlan,
        partition: int,
        entry: LedgerEntryV1,
        state: LedgerState,
        result: Envelope[Any],
        now: datetime,
    ) -> None:
        # Encoded once: the ledger stores exactly the bytes the bus carries.
        encoded = result.to_bytes()
        final = states.advance(
            entry, state, at=now, by=self.instance_id, result_json=encoded.decode()
        )
        plan.finals.append((partition, final))
        plan.outgoing.append(Outgoing(EXEC_TRADE_RESULT, entry.command_id, result, value=encoded))
        OUTCOMES.labels(result.payload.status.value).inc()
