"""A process's Kafka counters see every record it moves and the requests that carried them."""

from __future__ import annotations

from datetime import timedelta

from unrip.contracts import utc_now
from unrip.runtime.kafka import Outgoing, make_consumer, make_producer, publish_all
from unrip.runtime.kafka_metrics import api_name
from unrip.runtime.settings import ServiceSettings
from unrip.topics import CMD_EXECUTE_TRADE
from unrip_dev.bench.requests import own_counts
from unrip_dev.broker import TansuBroker
from unrip_dev.commands import synthetic_command

from tests.integration.helpers import eventually

RECORDS = 100


def test_request_labels_name_the_kafka_api_without_its_version() -> None:
    class ProduceRequest_v7:  # noqa: N801 (aiokafka's naming)
        pass

    assert api_name(ProduceRequest_v7()) == "Produce"


async def test_records_are_counted_once_each_and_sent_in_fewer_requests(
    broker: TansuBroker,
) -> None:
    settings = ServiceSettings(kafka_bootstrap_servers=broker.bootstrap_servers)
    before = own_counts()
    producer = make_producer(settings, "test")
    await producer.start()
    try:
        now, deadline = utc_now(), timedelta(minutes=5)
        commands = [
            synthetic_command(n, now=now, deadline=deadline, run_id="metrics")
            for n in range(RECORDS)
        ]
        await publish_all(
            producer, [Outgoing(CMD_EXECUTE_TRADE, c.payload.command_id, c) for c in commands]
        )
    finally:
        await producer.stop()
    produced = own_counts()
    assert produced.produced - before.produced == RECORDS
    sent = produced.requests.get("Produce", 0) - before.requests.get("Produce", 0)
    assert 1 <= sent < RECORDS  # pipelined sends share requests

    consumer = make_consumer(settings, "test", "metrics-test")
    await consumer.start()
    try:
        consumer.subscribe([CMD_EXECUTE_TRADE])
        got = 0

        async def poll() -> int:
            nonlocal got
            batch = await consumer.getmany(timeout_ms=200)
            got += sum(len(records) for records in batch.values())
            return got

        await eventually(poll, lambda n: n >= RECORDS, what="every record consumed")
    finally:
        await consumer.stop()
    after = own_counts()
    assert after.consumed - produced.consumed == RECORDS
    assert after.requests.get("Fetch", 0) > produced.requests.get("Fetch", 0)
