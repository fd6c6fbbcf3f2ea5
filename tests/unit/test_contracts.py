"""Envelope and payload contracts: wire round trips, headers, version rules, rejections."""

from __future__ import annotations

import gc
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from unrip.contracts import (
    ContractError,
    ExecuteTradeV1,
    Payload,
    SwapDemandV1,
    TradeResultV1,
    decode,
    encode,
    register,
    registered,
)
from unrip.contracts.envelope import envelope_type
from unrip.contracts.ids import (
    COMMAND_NAMESPACE,
    client_order_id_for,
    command_id_for,
    deterministic_event_id,
    new_event_id,
)

from tests.factories import USDT, WNEAR, command, demand, envelope_of


def test_envelope_round_trips_through_bytes_and_headers() -> None:
    original = envelope_of(demand(), raw='{"exact": "text"}', correlation_id="c-1")
    value, headers = encode(original)
    assert dict(headers)["event_type"] == b"swap_demand"
    assert dict(headers)["schema_version"] == b"1"
    assert dict(headers)["event_id"] == original.event_id.encode()
    decoded = decode(value, headers)
    assert decoded == original
    assert isinstance(decoded.payload, SwapDemandV1)


def test_decoding_without_headers_reads_the_schema_from_the_body() -> None:
    original = envelope_of(command())
    value, _ = encode(original)
    assert decode(value, None) == original


def test_large_base_unit_amounts_survive_as_decimal_strings() -> None:
    amount = 123_456_789 * 10**24  # beyond 2**53: would be corrupted as a JSON number
    value, headers = encode(envelope_of(demand(exact_in=amount)))
    body = json.loads(value)
    assert body["payload"]["exact_amount_in"] == str(amount)
    assert decode(value, headers).payload.exact_amount_in == amount


def test_envelope_is_immutable() -> None:
    envelope = envelope_of(demand())
    with pytest.raises(ValidationError):
        envelope.venue = "elsewhere"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        envelope.payload.quote_id = "other"


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda b: b.update(schema_version=99), "unknown_schema_version"),
        (lambda b: b.update(event_type="no_such_event"), "unknown_event_type"),
        (lambda b: b["payload"].update(unexpected_field=1), "invalid"),
        (lambda b: b["payload"].pop("quote_id"), "invalid"),
        (lambda b: b.update(observed_at="2026-01-01T00:00:00"), "invalid"),  # no timezone
        (lambda b: b["payload"].update(exact_amount_in="12.5"), "invalid"),
        (lambda b: b["payload"].update(exact_amount_out="5"), "invalid"),  # both amounts
    ],
)
def test_bad_records_raise_a_contract_error_with_a_stable_code(mutate, code) -> None:  # type: ignore[no-untyped-def]
    body = json.loads(encode(envelope_of(demand()))[0])
    mutate(body)
    with pytest.raises(ContractError) as caught:
        decode(json.dumps(body).encode())
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (b"", "empty"),
        (b"not json", "not_json"),
        (b"[1, 2]", "not_an_envelope"),
        (b"{}", "missing_schema"),
    ],
)
def test_garbage_is_rejected_not_crashed_on(value: bytes, code: str) -> None:
    with pytest.raises(ContractError) as caught:
        decode(value)
    assert caught.value.code == code


def test_headers_that_disagree_with_the_body_are_rejected_as_a_mismatch() -> None:
    value, _ = encode(envelope_of(demand()))
    with pytest.raises(ContractError) as caught:
        decode(value, [("event_type", b"execute_trade"), ("schema_version", b"1")])
    assert caught.value.code == "header_mismatch"
    assert "execute_trade" in caught.value.detail and "swap_demand" in caught.value.detail


def test_a_body_that_is_its_headers_schema_but_another_version_is_a_mismatch() -> None:
    value, _ = encode(envelope_of(demand()))
    body = json.loads(value)
    body["schema_version"] = 2
    with pytest.raises(ContractError) as caught:
        decode(
            json.dumps(body).encode(), [("event_type", b"swap_demand"), ("schema_version", b"1")]
        )
    assert caught.value.code == "header_mismatch"


def test_a_record_that_is_invalid_under_its_own_schema_is_invalid_not_a_mismatch() -> None:
    value, headers = encode(envelope_of(demand()))
    body = json.loads(value)
    body["payload"]["exact_amount_in"] = "-1"
    with pytest.raises(ContractError) as caught:
        decode(json.dumps(body).encode(), headers)
    assert caught.value.code == "invalid"


def test_a_consumer_can_limit_what_it_accepts() -> None:
    value, headers = encode(envelope_of(demand()))
    with pytest.raises(ContractError) as caught:
        decode(value, headers, accept=(ExecuteTradeV1,))
    assert caught.value.code == "unexpected_event_type"


def test_a_schema_version_can_only_ever_mean_one_class() -> None:
    class Impostor(Payload):
        EVENT_TYPE = "swap_demand"
        SCHEMA_VERSION = 1

    with pytest.raises(ValueError, match="already registered"):
        register(Impostor)
    assert registered()[("swap_demand", 1)] is SwapDemandV1


def test_a_new_version_decodes_beside_the_old_one() -> None:
    class SwapDemandV2(SwapDemandV1):
        SCHEMA_VERSION = 2
        requester: str

    register(SwapDemandV2)
    try:
        v2 = SwapDemandV2(**demand().model_dump(), requester="alice.near")
        decoded = decode(*encode(envelope_of(v2)))
        assert decoded.schema_version == 2
        assert decoded.payload.requester == "alice.near"
        assert decode(*encode(envelope_of(demand()))).schema_version == 1
    finally:
        from unrip.contracts import codec

        codec._REGISTRY.pop(("swap_demand", 2))


def test_demand_requires_exactly_one_amount_and_distinct_assets() -> None:
    now = datetime.now(UTC)
    common = {"quote_id": "q", "deadline": now + timedelta(seconds=1), "min_deadline_ms": 0}
    with pytest.raises(ValidationError, match="exactly one"):
        SwapDemandV1(asset_in=WNEAR, asset_out=USDT, **common)
    with pytest.raises(ValidationError, match="exactly one"):
        SwapDemandV1(
            asset_in=WNEAR, asset_out=USDT, exact_amount_in=1, exact_amount_out=1, **common
        )
    with pytest.raises(ValidationError, match="must differ"):
        SwapDemandV1(asset_in=WNEAR, asset_out=WNEAR, exact_amount_in=1, **common)
    with pytest.raises(ValidationError):
        SwapDemandV1(asset_in=WNEAR, asset_out=USDT, exact_amount_in=0, **common)


def test_event_ids_are_time_ordered_uuid7() -> None:
    ids = [new_event_id() for _ in range(200)]
    assert all(i[14] == "7" for i in ids)
    assert ids == sorted(ids)


def test_command_and_order_ids_are_deterministic_and_distinct() -> None:
    a = command_id_for("near_intents", "q-1", "s1")
    assert a == command_id_for("near_intents", "q-1", "s1")
    assert a != command_id_for("near_intents", "q-2", "s1")
    assert a != command_id_for("near_intents", "q-1", "s2")
    assert client_order_id_for(a) == client_order_id_for(a)
    assert client_order_id_for(a) != client_order_id_for(
        command_id_for("near_intents", "q-2", "s1")
    )
    assert len(client_order_id_for(a)) == 32


@given(st.text(), st.text(), st.text())
def test_command_ids_are_the_standard_uuid5_of_the_demand(
    venue: str, quote_id: str, strategy_id: str
) -> None:
    # Ids already on the bus must keep meaning the same command, whatever computes them.
    name = f"{venue}\x1f{quote_id}\x1f{strategy_id}"
    expected = str(uuid.uuid5(COMMAND_NAMESPACE, name))
    assert command_id_for(venue, quote_id, strategy_id) == expected


def test_deterministic_event_ids_carry_their_time_and_seed() -> None:
    at_ms = 1_790_000_000_123
    first = deterministic_event_id("result:x", at_ms)
    assert first == deterministic_event_id("result:x", at_ms)
    assert first != deterministic_event_id("result:y", at_ms)
    assert first[14] == "7"
    assert int(first.replace("-", "")[:12], 16) == at_ms


def test_trade_result_schema_is_registered() -> None:
    assert registered()[("trade_result", 1)] is TradeResultV1


def test_an_envelope_class_is_made_once_and_survives_garbage_collection() -> None:
    first = envelope_type(type(command()))
    gc.collect()
    assert envelope_type(type(command())) is first
    assert envelope_of(command()).__class__ is first


def test_the_wire_bytes_are_the_json_of_the_envelope_without_nulls() -> None:
    event = envelope_of(demand())
    assert event.to_bytes() == event.model_dump_json(exclude_none=True).encode()
    assert decode(*encode(event)) == event
