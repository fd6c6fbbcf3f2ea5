"""The executor's bounded cache and its first gate: a final command is answered however long
ago it settled, memory holds only the newest summaries, and a command keyed or partitioned
other than by its own id never reaches the venue."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiokafka.structs import ConsumerRecord
from unrip.contracts import LedgerState, encode
from unrip.executor import states
from unrip.executor.ledger_cache import LedgerCache, Settled
from unrip.executor.plan import BatchPlan, Planner
from unrip.runtime.partitioning import partition_for
from unrip.runtime.signing import CommandSigner

from tests.factories import command, envelope_of

SIGNER = CommandSigner(b"a command signing key for tests, 32+ bytes")

NOW = datetime.now(UTC)


def _entry(n: int, state: LedgerState) -> Any:
    entry = states.receive(
        command(f"q-{n}"),
        venue="near_intents",
        command_event_id=f"e-{n}",
        correlation_id=None,
        at=NOW,
        by="a",
    )
    if state is not LedgerState.RECEIVED:
        entry = states.advance(entry, LedgerState.EXECUTING, at=NOW, by="a")
    return entry


def test_settled_commands_past_the_memory_bound_are_still_answered_from_disk() -> None:
    cache = LedgerCache(hot_entries=100)
    for n in range(5000):
        cache.put(n % 6, Settled(f"c-{n}", LedgerState.EXECUTED, f'{{"result": {n}}}'))
    assert cache.hot <= 100 + 1000  # the bound, plus at most one spill chunk
    assert cache.cold >= 3900
    oldest = cache.get(0, "c-0")
    assert oldest == Settled("c-0", LedgerState.EXECUTED, '{"result": 0}')
    assert cache.get(1, "c-0") is None  # strictly per partition
    assert cache.get(0, "never-seen") is None
    cache.close()


def test_commands_in_flight_are_never_moved_out_of_memory() -> None:
    cache = LedgerCache(hot_entries=1)
    executing = [_entry(n, LedgerState.EXECUTING) for n in range(50)]
    for entry in executing:
        cache.put(2, entry)
    for n in range(3000):
        cache.put(2, Settled(f"c-{n}", LedgerState.FAILED, None))
    assert len(list(cache.executing([2]))) == 50
    cache.put(2, Settled(executing[0].command_id, LedgerState.EXECUTED, "{}"))
    assert len(list(cache.executing([2]))) == 49  # settled: leaves the in-flight set
    cache.close()


def _record(value: bytes, key: bytes | None, partition: int, headers: Any) -> ConsumerRecord:
    return ConsumerRecord(
        topic="cmd.execute_trade",
        partition=partition,
        offset=1,
        timestamp=0,
        timestamp_type=0,
        key=key,
        value=value,
        checksum=None,
        serialized_key_size=len(key or b""),
        serialized_value_size=len(value),
        headers=headers,
    )


def _classify(key: bytes | None, partition: int | None = None, ledger: Any = None) -> BatchPlan:
    cmd = command("q-placed")
    envelope = envelope_of(cmd)
    value, headers = encode(envelope)
    headers = [*headers, *SIGNER.headers(envelope)]  # a genuine command, signed by the reactor
    home = partition_for(cmd.command_id, 6)
    planner = Planner(
        instance_id="x",
        execution_venue="paper",
        ledger=ledger or (lambda partition, command_id: None),
        command_partitions=6,
        signer=SIGNER,
    )
    plan = BatchPlan()
    where = home if partition is None else partition
    planner.classify(plan, where, _record(value, key, where, headers), NOW)
    return plan


def _reasons(plan: BatchPlan) -> list[str]:
    return [o.envelope.payload.reason_code for o in plan.outgoing]


def test_a_command_on_its_own_key_and_partition_is_executed() -> None:
    plan = _classify(command("q-placed").command_id.encode())
    assert len(plan.to_execute) == 1 and not plan.outgoing


def test_a_command_keyed_by_anything_but_its_id_is_dead_lettered_not_executed() -> None:
    for key in (None, b"", b"someone-else"):
        plan = _classify(key)
        assert not plan.to_execute and _reasons(plan) == ["key_mismatch"]


def test_a_command_on_another_partition_than_its_id_maps_to_is_dead_lettered() -> None:
    cmd_id = command("q-placed").command_id
    wrong = (partition_for(cmd_id, 6) + 1) % 6
    plan = _classify(cmd_id.encode(), partition=wrong)
    assert not plan.to_execute and _reasons(plan) == ["partition_mismatch"]
    assert plan.outgoing[0].topic == "dlq.cmd.execute_trade"


def test_a_failure_while_classifying_one_command_is_its_dead_letter_not_a_crash() -> None:
    def broken_ledger(partition: int, command_id: str) -> Any:
        raise OSError("disk gone")

    plan = _classify(command("q-placed").command_id.encode(), ledger=broken_ledger)
    assert not plan.to_execute and _reasons(plan) == ["handler_error"]
