"""The bench's quote latency: percentiles from the recorded stamps, read from the real records."""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka.structs import ConsumerRecord
from unrip.contracts import LedgerState, make_envelope
from unrip.executor import states
from unrip.venues.near_intents.relay import RelayClient, RelayRpcError
from unrip_dev.bench.quote_latency import QuoteLatency, consumed_at
from unrip_dev.bench.report import assess, quote_latency_target
from unrip_dev.commands import synthetic_command
from unrip_dev.venues.near_intents.fake_relay import FakeRelay

T0 = 1_800_000_000.0


def ledger_record(value: bytes) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic="state.executor_ledger",
        partition=0,
        offset=0,
        timestamp=0,
        timestamp_type=0,
        key=None,
        value=value,
        checksum=None,
        serialized_key_size=0,
        serialized_value_size=len(value),
        headers=(),
    )


def test_percentiles_come_from_each_quotes_consumed_and_on_wire_stamps() -> None:
    # Quote n reached the relay n ms after the executor took it: 1..100 ms.
    consumed = {f"q-{n}": T0 + n for n in range(1, 101)}
    on_wire = {f"q-{n}": T0 + n + n / 1000 for n in range(1, 101)}
    published = {f"q-{n}": T0 + n - 0.002 for n in range(1, 101)}

    latency = QuoteLatency.of(consumed, on_wire, published)

    d = latency.consumed_ms.rounded()
    assert (d["samples"], d["p50"], d["p99"], d["max"]) == (100, 50.0, 99.0, 100.0)
    # The produce-acknowledged figure adds the 2 ms before the executor to every sample.
    assert latency.published_ms.rounded()["p50"] == 52.0
    assert (latency.matched, latency.missing_on_wire, latency.missing_consumed) == (100, 0, 0)


def test_a_quote_missing_on_either_side_is_counted_not_measured() -> None:
    consumed = {"answered": T0, "never-answered": T0}
    on_wire = {"answered": T0 + 0.004, "not-in-the-ledger": T0 + 0.001}

    latency = QuoteLatency.of(consumed, on_wire)

    d = latency.consumed_ms.rounded()
    assert (d["samples"], d["p99"]) == (1, 4.0)
    assert (latency.missing_on_wire, latency.missing_consumed) == (1, 1)
    assert latency.published_ms.samples == 0  # nothing published was recorded
    assert QuoteLatency.of({}, {}).consumed_ms.p99 is None


def test_consumed_is_the_received_stamp_of_the_executors_own_ledger_entry() -> None:
    received = datetime(2027, 1, 15, 12, 0, 0, 123456, tzinfo=UTC)
    command = synthetic_command(7, now=received, deadline=timedelta(seconds=10), run_id="b1-quote")
    entry = states.receive_envelope(command, at=received, by="executor-1")
    executing = states.advance(
        entry, LedgerState.EXECUTING, at=received + timedelta(milliseconds=3), by="executor-1"
    )
    record = ledger_record(
        make_envelope(executing, venue="near_intents", observed_at=received).to_bytes()
    )

    assert consumed_at(record) == ("b1-quote-7", received.timestamp())


def test_records_that_are_not_ledger_entries_with_a_command_are_ignored() -> None:
    assert consumed_at(ledger_record(b"not json")) is None
    assert consumed_at(ledger_record(b'{"payload": {"command": null}}')) is None


def quote_stage(p50: float | None, p99: float | None) -> dict[str, Any]:
    return {"rate_per_s": 20.0, "consumed_to_wire_ms": {"p50": p50, "p99": p99}}


def test_the_quote_latency_target_is_the_absolute_p99_against_ten_milliseconds() -> None:
    met = quote_latency_target(quote_stage(2.0, 9.5))
    assert (met["value"], met["limit"], met["met"], met["p50"]) == (9.5, 10.0, True, 2.0)
    assert quote_latency_target(quote_stage(2.0, 10.5))["met"] is False
    missing = quote_latency_target(None)
    assert (missing["value"], missing["met"]) == (None, None)


def test_a_full_document_judges_the_quote_latency_beside_the_other_targets() -> None:
    from tests.unit.dev.test_bench_report import document

    full = document(pipeline_p99=29.0) | {"executor": {"quote_latency": quote_stage(1.9, 8.7)}}
    assert assess(full)["quote_latency_p99_ms"]["met"] is True


async def test_the_relay_stamps_a_quotes_first_quote_response_as_it_comes_off_the_socket() -> None:
    async with FakeRelay(jwt="bench-jwt") as relay:
        client = RelayClient(relay.url, jwt="bench-jwt", subscriptions=("quote_status",))
        await client.start()
        try:
            await client.wait_connected(5)
            before = time.time()
            for quote_id in ("b1-quote-1", "b1-quote-2", "b1-quote-1", "other-run-1"):
                # Answered with an error (no signature): the stamp comes before any check.
                with contextlib.suppress(RelayRpcError):
                    await client.request("quote_response", [{"quote_id": quote_id}])
            after = time.time()
        finally:
            await client.close()

    stamps = relay.arrivals_with_prefix("b1-quote-")
    assert list(stamps) == ["b1-quote-1", "b1-quote-2"]  # the re-sent one keeps its first stamp
    assert before <= stamps["b1-quote-1"] <= stamps["b1-quote-2"] <= after
