"""Bounded state: de-duplication windows forget by time and by size, dead letters always fit
the broker's record limit, and the partition a key maps to is Kafka's default partitioner's."""

from __future__ import annotations

import hashlib
import os

import pytest
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.structs import ConsumerRecord
from unrip.contracts import ContractError, DeadLetterV2, decode
from unrip.contracts.codec import MAX_RECORD_BYTES
from unrip.runtime.dlq import MAX_RAW_BYTES, dead_letter, failed_record
from unrip.runtime.partitioning import partition_for
from unrip.runtime.window import KeyWindow


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_window_remembers_a_key_until_its_time_is_up() -> None:
    clock = _Clock()
    window = KeyWindow(ttl_s=60, max_keys=10, clock=clock)
    assert window.add("a")
    clock.now = 59
    assert not window.add("a")  # a redelivered copy within the window is a duplicate
    assert "a" in window
    clock.now = 60.5
    assert window.add("b")  # adding expires what is older than the window
    assert "a" not in window and len(window) == 1


def test_a_window_never_holds_more_than_its_size_oldest_out_first() -> None:
    window = KeyWindow(ttl_s=3600, max_keys=1000)
    for n in range(50_000):
        window.add(f"key-{n}")
    assert len(window) == 1000
    assert "key-48999" not in window or "key-49000" in window
    assert "key-0" not in window and "key-49999" in window
    assert window.evicted == 49_000


def test_a_window_refuses_a_bound_that_bounds_nothing() -> None:
    with pytest.raises(ValueError, match="ttl_s"):
        KeyWindow(ttl_s=0)


@pytest.mark.parametrize(
    "value",
    [
        b"\x01" * MAX_RECORD_BYTES,  # every byte escaped in JSON (6x)
        os.urandom(MAX_RECORD_BYTES),  # not UTF-8: base64 (4/3x)
        ("é" * 600_000).encode(),  # multi-byte UTF-8, cut on a character boundary
        b"[" * 100_000,
    ],
    ids=["control-characters", "binary", "multibyte", "deep-nesting"],
)
def test_a_dead_letter_of_any_record_fits_the_broker_and_identifies_the_original(
    value: bytes,
) -> None:
    outgoing = dead_letter(
        source_topic="norm.swap_demand",
        value=value,
        reason_code="too_deep",
        detail="x" * 100_000,
        consumer="reactor",
        venue="near_intents",
        key=b"k" * 100_000,
        headers=[("h" * 1000, b"v" * 100_000)] * 100,
    )
    wire = outgoing.envelope.to_bytes()
    assert len(wire) < 512 * 1024  # half the broker's 1 MiB limit, whatever came in
    letter = decode(wire).payload
    assert isinstance(letter, DeadLetterV2)
    assert letter.raw_length == len(value)
    assert letter.raw_sha256 == hashlib.sha256(value).hexdigest()
    assert letter.raw_truncated == (len(value) > MAX_RAW_BYTES)


def test_a_small_dead_letter_keeps_the_original_exactly() -> None:
    outgoing = dead_letter(
        source_topic="norm.swap_demand",
        value=b'{"not": "an envelope"}',
        reason_code="not_an_envelope",
        detail="d",
        consumer="reactor",
        venue="near_intents",
    )
    assert outgoing.envelope.raw == '{"not": "an envelope"}'
    assert outgoing.envelope.payload.raw_truncated is False


def _record(value: bytes) -> ConsumerRecord:
    return ConsumerRecord(
        topic="norm.swap_demand",
        partition=3,
        offset=17,
        timestamp=0,
        timestamp_type=0,
        key=b"k",
        value=value,
        checksum=None,
        serialized_key_size=1,
        serialized_value_size=len(value),
        headers=[],
    )


def test_a_bug_met_by_one_record_becomes_its_dead_letter_with_the_exception_named() -> None:
    letter = failed_record(_record(b"{}"), ZeroDivisionError("boom"), consumer="reactor")
    assert letter.topic == "dlq.norm.swap_demand"
    assert letter.envelope.payload.reason_code == "handler_error"
    assert "ZeroDivisionError: boom" in letter.envelope.payload.detail


def test_a_contract_error_keeps_its_own_code_in_the_dead_letter() -> None:
    letter = failed_record(_record(b"x"), ContractError("not_json", "x"), consumer="reactor")
    assert letter.envelope.payload.reason_code == "not_json"


def test_keys_map_to_the_partition_the_default_producer_writes_them_to() -> None:
    partitioner = DefaultPartitioner()
    partitions = list(range(6))
    for n in range(500):
        key = f"command-{n}".encode()
        assert partition_for(key, 6) == partitioner(key, partitions, partitions)
