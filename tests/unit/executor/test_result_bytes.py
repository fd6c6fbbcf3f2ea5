"""A result is serialised once: the bus carries exactly the bytes the ledger stores, and a
duplicate is answered with those same bytes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from unrip.contracts import LedgerEntryV1, LedgerState, decode
from unrip.executor import states
from unrip.executor.ledger_cache import Settled
from unrip.executor.plan import BatchPlan, Planner
from unrip.runtime.kafka import Outgoing, publish_all
from unrip.runtime.signing import CommandSigner
from unrip.topics import EXEC_TRADE_RESULT
from unrip.venues.base import OrderStatus, VenueOutcome

from tests.factories import command

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def executing() -> LedgerEntryV1:
    entry = states.receive(
        command("q-bytes"), venue="near_intents", command_event_id="e-1", correlation_id="c-1",
        at=NOW, by="x",
    )  # fmt: skip
    return states.advance(entry, LedgerState.EXECUTING, at=NOW, by="x")


def planner(ledger: Any = None) -> Planner:
    return Planner(
        instance_id="x",
        execution_venue="paper",
        ledger=ledger or (lambda partition, command_id: None),
        signer=CommandSigner(None),
    )


def finished() -> BatchPlan:
    entry = executing()
    outcome = VenueOutcome(
        client_order_id=entry.client_order_id,
        status=OrderStatus.FILLED,
        amount_in=10,
        amount_out=20,
        executed_at=NOW,
    )
    plan = BatchPlan()
    planner().finish(plan, 0, entry, outcome, 1.5, NOW, reconciled=False)
    return plan


def test_a_result_goes_on_the_bus_as_exactly_the_bytes_its_ledger_entry_stores() -> None:
    plan = finished()
    ((_, final),) = plan.finals
    (result,) = plan.outgoing
    assert final.result_json is not None and result.value == final.result_json.encode()
    assert decode(result.value) == result.envelope


def test_a_duplicate_is_answered_with_the_stored_result_bytes_unchanged() -> None:
    ((_, final),) = finished().finals
    stored = Settled(final.command_id, LedgerState.EXECUTED, final.result_json)
    plan = BatchPlan()
    planner(lambda partition, command_id: stored).republish(plan, 0, final.command_id)
    (again,) = plan.outgoing
    assert again.value == (final.result_json or "").encode()


class RecordingProducer:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send(self, topic: str, **record: Any) -> asyncio.Future[None]:
        self.sent.append(record)
        acked: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        acked.set_result(None)
        return acked


async def test_a_record_with_its_bytes_made_is_sent_as_they_are_with_its_routing_headers() -> None:
    (result,) = finished().outgoing
    given = Outgoing(EXEC_TRADE_RESULT, result.key, result.envelope, value=b'{"as": "given"}')
    producer = RecordingProducer()
    await publish_all(producer, [given])
    (sent,) = producer.sent
    assert sent["value"] == b'{"as": "given"}'
    assert sent["headers"] == result.envelope.header_pairs()
