"""A solver's answer to one quote request: a signed ``token_diff`` intent for the relay.

Everything here is a pure function of the order and the solver's identity (no clock, no
randomness): re-building the response for the same order yields byte-identical JSON, the same
nonce and the same signature, so a retry after a crash is the same commitment, never a second
one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import base58

from unrip.contracts.payloads import SwapKind
from unrip.venues.base import VenueOrder
from unrip.venues.near_intents.nep413 import (
    Ed25519Signer,
    Nep413Payload,
    legacy_nonce,
    versioned_nonce,
)

SIGN_STANDARD: Final = "nep413"


@dataclass(frozen=True, slots=True)
class SolverIdentity:
    """Who signs: the solver's account on the verifier, its key, and the nonce salt."""

    account_id: str
    signer: Ed25519Signer
    verifier_contract: str = "intents.near"
    # The verifier's current salt (4 bytes); None falls back to legacy nonces.
    nonce_salt: bytes | None = None


@dataclass(frozen=True, slots=True)
class SignedQuote:
    """The ``quote_response`` params object and what identifies it later."""

    params: dict[str, Any]
    payload: Nep413Payload
    # base58(sha256(NEP-413 bytes)): the relay's quote_hash in quote_status notifications.
    quote_hash: str
    intent_deadline: datetime


def intent_deadline(order: VenueOrder) -> datetime:
    """Until when the signed intent may execute: the last moment the response may be sent,
    plus the validity the requester asked for, so the quote is valid long enough whenever
    it is sent. Millisecond precision, as the intent's ISO timestamp carries."""
    deadline = order.deadline.astimezone(UTC) + timedelta(milliseconds=order.quote_validity_ms)
    return deadline.replace(microsecond=deadline.microsecond // 1000 * 1000)


def quote_nonce(order: VenueOrder, identity: SolverIdentity) -> bytes:
    """The NEP-413 nonce of the order's intent: derived, so it can be asked about later."""
    if identity.nonce_salt is None:
        return legacy_nonce(order.client_order_id)
    return versioned_nonce(
        salt=identity.nonce_salt, deadline=intent_deadline(order), seed=order.client_order_id
    )


def build_quote_response(order: VenueOrder, identity: SolverIdentity) -> SignedQuote:
    """Sign the solver's side of the swap: receive ``amount_in``, give ``amount_out``."""
    deadline = intent_deadline(order)
    message = json.dumps(
        {
            "signer_id": identity.account_id,
            "deadline": _iso_ms(deadline),
            "intents": [
                {
                    "intent": "token_diff",
                    "diff": {
                        order.asset_in: str(order.amount_in),
                        order.asset_out: f"-{order.amount_out}",
                    },
                }
            ],
        },
        separators=(",", ":"),
    )
    nonce = quote_nonce(order, identity)
    payload = Nep413Payload(message=message, nonce=nonce, recipient=identity.verifier_contract)
    params = {
        "quote_id": order.quote_id,
        "quote_output": _quote_output(order),
        "signed_data": {
            "standard": SIGN_STANDARD,
            "payload": {
                "message": payload.message,
                "nonce": payload.nonce_b64(),
                "recipient": payload.recipient,
            },
            "signature": identity.signer.sign(payload),
            "public_key": identity.signer.public_key,
        },
    }
    return SignedQuote(
        params=params,
        payload=payload,
        quote_hash=base58.b58encode(payload.hash()).decode("ascii"),
        intent_deadline=deadline,
    )


def _quote_output(order: VenueOrder) -> dict[str, str]:
    # The relay wants the side the solver computed: amount_out for an exact-in request,
    # amount_in for an exact-out one. Without the kind, both (the token_diff decides).
    if order.kind is SwapKind.EXACT_IN:
        return {"amount_out": str(order.amount_out)}
    if order.kind is SwapKind.EXACT_OUT:
        return {"amount_in": str(order.amount_in)}
    return {"amount_in": str(order.amount_in), "amount_out": str(order.amount_out)}


def _iso_ms(moment: datetime) -> str:
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )
