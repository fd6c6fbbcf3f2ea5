"""The executor ledger on the real broker: durable writes, complete restores, cached top-ups."""

from __future__ import annotations

from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from unrip.contracts import LedgerEntryV1, LedgerState
from unrip.executor import states
from unrip.executor.ledger import Ledger, Settled
from unrip.runtime.kafka import make_consumer, make_producer
from unrip.runtime.settings import ServiceSettings
from unrip_dev.bench.requests import own_counts
from unrip_dev.broker import TansuBroker

from tests.factories import command

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
RESULT = '{"stored": true}'
POLL = 500  # UNRIP_KAFKA_MAX_POLL_RECORDS: the commands one executor batch takes


async def _ledger(bootstrap: str) -> tuple[Ledger, AIOKafkaProducer, AIOKafkaConsumer]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    reader = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, fetch_max_wait_ms=10
    )
    await producer.start()
    await reader.start()
    return Ledger(producer, reader), producer, reader


def _entry(n: int, state: LedgerState):  # type: ignore[no-untyped-def]
    entry = states.receive(
        command(f"q-{n}"),
        venue="near_intents",
        command_event_id=f"e-{n}",
        correlation_id=None,
        at=NOW,
        by="a",
    )
    if state is LedgerState.RECEIVED:
        return entry
    entry = states.advance(entry, LedgerState.EXECUTING, at=NOW, by="a")
    if state is LedgerState.EXECUTED:
        entry = states.advance(entry, LedgerState.EXECUTED, at=NOW, by="a", result_json=RESULT)
    return entry


async def test_a_new_owner_restores_every_entry_of_its_partitions(broker: TansuBroker) -> None:
    writer, producer, reader = await _ledger(broker.bootstrap_servers)
    try:
        # Many entries written in batches, then most of them finished: the restore must see
        # the latest state of each, including the very last records of the partition.
        await writer.write([(n % 6, _entry(n, LedgerState.EXECUTING)) for n in range(300)])
        await writer.write([(n % 6, _entry(n, LedgerState.EXECUTED)) for n in range(0, 300, 2)])
    finally:
        await producer.stop()
        await reader.stop()

    owner, producer, reader = await _ledger(broker.bootstrap_servers)
    try:
        report = await owner.restore([0, 1, 2, 3, 4, 5])
        assert report.records_read == 450
        assert report.entries == 300
        assert report.executing == 150
        for n in range(300):
            entry = owner.get(n % 6, command(f"q-{n}").command_id)
            assert entry is not None
            assert entry.state is (LedgerState.EXECUTED if n % 2 == 0 else LedgerState.EXECUTING)
            assert owner.get((n + 1) % 6, entry.command_id) is None  # strictly per partition
    finally:
        await producer.stop()
        await reader.stop()


async def test_a_partition_that_comes_back_reads_only_what_was_written_since(
    broker: TansuBroker,
) -> None:
    seeder, p0, r0 = await _ledger(broker.bootstrap_servers)
    first, p1, r1 = await _ledger(broker.bootstrap_servers)
    other, p2, r2 = await _ledger(broker.bootstrap_servers)
    try:
        await seeder.write([(0, _entry(n, LedgerState.EXECUTING)) for n in range(100)])
        assert (await first.restore([0])).records_read == 100
        first.release([0])
        # Another replica owns partition 0 for a while and finishes 20 of those commands.
        await other.restore([0])
        await other.write([(0, _entry(n, LedgerState.EXECUTED)) for n in range(20)])
        report = await first.restore([0])
        assert report.records_read == 20  # the cache covers the first 100
        assert report.entries == 100 and report.executing == 80
        assert first.get(0, command("q-7").command_id).state is LedgerState.EXECUTED  # type: ignore[union-attr]
    finally:
        for client in (p0, r0, p1, r1, p2, r2):
            await client.stop()


async def test_a_late_write_from_a_paused_replica_does_not_undo_a_final_state(
    broker: TansuBroker,
) -> None:
    ledger, producer, reader = await _ledger(broker.bootstrap_servers)
    try:
        await ledger.write([(3, _entry(1, LedgerState.EXECUTED))])
        await ledger.write([(3, _entry(1, LedgerState.EXECUTING))])  # the zombie's stale record
        fresh, p2, r2 = await _ledger(broker.bootstrap_servers)
        try:
            await fresh.restore([3])
            assert fresh.get(3, command("q-1").command_id).state is LedgerState.EXECUTED  # type: ignore[union-attr]
        finally:
            await p2.stop()
            await r2.stop()
    finally:
        await producer.stop()
        await reader.stop()


async def test_a_final_entry_is_kept_as_its_result_and_an_open_one_whole(
    broker: TansuBroker,
) -> None:
    ledger, producer, reader = await _ledger(broker.bootstrap_servers)
    try:
        await ledger.write(
            [(2, _entry(1, LedgerState.EXECUTING)), (2, _entry(2, LedgerState.EXECUTING))]
        )
        await ledger.write([(2, _entry(1, LedgerState.EXECUTED))])
        fresh, p2, r2 = await _ledger(broker.bootstrap_servers)
        try:
            await fresh.restore([2])
            for owner in (ledger, fresh):  # the writer's cache and a restored one agree
                done = owner.get(2, command("q-1").command_id)
                assert isinstance(done, Settled) and done.result_json == RESULT
                assert done.state is LedgerState.EXECUTED
                open_entry = owner.get(2, command("q-2").command_id)
                assert isinstance(open_entry, LedgerEntryV1) and open_entry.command is not None
                assert owner.executing([2]) == [(2, open_entry)]
        finally:
            await p2.stop()
            await r2.stop()
    finally:
        await producer.stop()
        await reader.stop()


async def test_an_unreadable_ledger_record_is_quarantined_and_the_rest_restored(
    broker: TansuBroker,
) -> None:
    ledger, producer, reader = await _ledger(broker.bootstrap_servers)
    try:
        await ledger.write([(4, _entry(n, LedgerState.EXECUTING)) for n in range(10)])
        # A record no executor can read: nested past the parser, then a schema from the future.
        await producer.send_and_wait("state.executor_ledger", b"[" * 100_000, key=b"x", partition=4)
        future = b'{"event_type": "executor_ledger_entry", "schema_version": 9, "payload": {}}'
        await producer.send_and_wait("state.executor_ledger", future, key=b"y", partition=4)
        await ledger.write([(4, _entry(n, LedgerState.EXECUTED)) for n in range(5)])
    finally:
        await producer.stop()
        await reader.stop()

    owner, producer, reader = await _ledger(broker.bootstrap_servers)
    try:
        report = await owner.restore([4])
        assert owner.quarantined == 2
        assert report.entries == 10 and report.executing == 5
        assert owner.get(4, command("q-0").command_id).state is LedgerState.EXECUTED  # type: ignore[union-attr]
    finally:
        await producer.stop()
        await reader.stop()


async def test_a_poll_batch_of_ledger_writes_travels_in_a_few_produce_requests(
    broker: TansuBroker,
) -> None:
    # The broker pays per request, whatever it carries (runtime/kafka_metrics.py). A ledger
    # entry holds its command (~2 KiB): with aiokafka's 16 KiB batches, one poll's worth of
    # ledger writes went out as ~75 requests, each one round trip of the awaited write.
    settings = ServiceSettings(kafka_bootstrap_servers=broker.bootstrap_servers)
    producer = make_producer(settings, "test")
    reader = make_consumer(settings, "test-ledger", None)
    await producer.start()
    await reader.start()
    try:
        ledger = Ledger(producer, reader)
        await ledger.write([(0, _entry(0, LedgerState.EXECUTING))])  # metadata fetched
        before = own_counts()
        await ledger.write([(0, _entry(n, LedgerState.EXECUTING)) for n in range(1, POLL + 1)])
        after = own_counts()
    finally:
        await producer.stop()
        await reader.stop()
    assert after.produced - before.produced == POLL
    assert after.requests.get("Produce", 0) - before.requests.get("Produce", 0) <= 5
