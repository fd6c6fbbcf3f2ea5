"""The signed quote answer: token_diff sides, quote_output, deadline, determinism, signature."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import base58
import pytest
from unrip.contracts.payloads import SwapKind
from unrip.venues.base import VenueOrder
from unrip.venues.near_intents.nep413 import Ed25519Signer, Nep413Payload, verify
from unrip.venues.near_intents.quote_response import (
    SolverIdentity,
    build_quote_response,
    intent_deadline,
)

WNEAR = "nep141:wrap.near"
USDT = "nep141:usdt.tether-token.near"
SIGNER = Ed25519Signer.generate()
IDENTITY = SolverIdentity(account_id="solver.near", signer=SIGNER)

ORDER = VenueOrder(
    client_order_id="u0123456789abcdef0123456789abcde",
    command_id="3f0d4c8e-0000-5000-8000-000000000001",
    quote_id="6a4f4d0e-9c5b-4b7e-8a0f-0d9b1f7e2c33",
    asset_in=WNEAR,
    asset_out=USDT,
    amount_in=10_000_000_000_000_000_000_000_000,
    amount_out=23_050_000,
    deadline=datetime(2026, 3, 1, 12, 0, 1, 500999, tzinfo=UTC),
    quote_validity_ms=60_000,
    kind=SwapKind.EXACT_IN,
)


def message_of(params: dict[str, Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(params["signed_data"]["payload"]["message"])
    return loaded


def test_solver_receives_asset_in_and_gives_asset_out() -> None:
    message = message_of(build_quote_response(ORDER, IDENTITY).params)

    assert message["signer_id"] == "solver.near"
    [intent] = message["intents"]
    assert intent == {
        "intent": "token_diff",
        "diff": {WNEAR: "10000000000000000000000000", USDT: "-23050000"},
    }


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (SwapKind.EXACT_IN, {"amount_out": "23050000"}),
        (SwapKind.EXACT_OUT, {"amount_in": "10000000000000000000000000"}),
        (None, {"amount_in": "10000000000000000000000000", "amount_out": "23050000"}),
    ],
)
def test_quote_output_carries_the_side_the_solver_computed(
    kind: SwapKind | None, expected: dict[str, str]
) -> None:
    params = build_quote_response(replace(ORDER, kind=kind), IDENTITY).params
    assert params["quote_output"] == expected
    assert params["quote_id"] == ORDER.quote_id


def test_intent_is_valid_for_the_requested_time_after_the_last_moment_to_answer() -> None:
    signed = build_quote_response(ORDER, IDENTITY)

    assert signed.intent_deadline == datetime(2026, 3, 1, 12, 1, 1, 500000, tzinfo=UTC)
    assert signed.intent_deadline == intent_deadline(ORDER)
    assert message_of(signed.params)["deadline"] == "2026-03-01T12:01:01.500Z"


def test_signed_data_verifies_and_names_the_verifier() -> None:
    signed = build_quote_response(ORDER, IDENTITY)
    data = signed.params["signed_data"]
    payload = Nep413Payload(
        message=data["payload"]["message"],
        nonce=base64.b64decode(data["payload"]["nonce"]),
        recipient=data["payload"]["recipient"],
    )

    assert data["standard"] == "nep413"
    assert data["payload"]["recipient"] == "intents.near"
    assert data["public_key"] == SIGNER.public_key
    assert verify(payload, data["signature"], SIGNER.public_key)
    assert signed.quote_hash == base58.b58encode(payload.hash()).decode()


def test_the_same_order_always_yields_the_same_commitment() -> None:
    first = build_quote_response(ORDER, IDENTITY)
    again = build_quote_response(replace(ORDER), IDENTITY)
    assert json.dumps(first.params) == json.dumps(again.params)
    assert first.quote_hash == again.quote_hash


def test_another_client_order_id_is_another_intent() -> None:
    first = build_quote_response(ORDER, IDENTITY)
    other = build_quote_response(replace(ORDER, client_order_id="u-other"), IDENTITY)
    assert first.payload.nonce != other.payload.nonce
    assert first.quote_hash != other.quote_hash


def test_configured_salt_gives_a_versioned_nonce_expiring_with_the_intent() -> None:
    identity = replace(IDENTITY, nonce_salt=bytes.fromhex("e110f317"))
    signed = build_quote_response(ORDER, identity)
    nonce = signed.payload.nonce

    assert nonce[:4] == bytes.fromhex("5628f6c6") and nonce[5:9] == bytes.fromhex("e110f317")
    expiry_ns = int.from_bytes(nonce[9:17], "little")
    assert expiry_ns == int(signed.intent_deadline.timestamp() * 1000) * 1_000_000
