"""A throwaway venue for the plug-in tests: a stream that emits a few quotes and one piece of
garbage, an execution adapter that fills every order once, and one secret file of its own for
the bootstrap. It lives outside the product and is found by name through the ``unrip.venues``
entry-point group."""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Self

from pydantic import SecretStr, field_validator
from unrip.contracts import SwapDemandV1, utc_now
from unrip.contracts.envelope import Payload
from unrip.topics import NORM_SWAP_DEMAND, demand_key
from unrip.venues.base import OrderStatus, VenueOrder, VenueOutcome
from unrip.venues.plugin import VenuePlugin
from unrip.venues.secrets import SecretFile, SecretFileModel
from unrip.venues.sources import (
    Derived,
    Normalized,
    NormalizeError,
    Normalizer,
    ReceivedMessage,
    SourceKind,
    Stream,
)

NAME = "throwaway"
RAW_TOPIC = "raw.throwaway.quote"
WNEAR = "nep141:wrap.near"
USDT = "nep141:usdt.tether-token.near"


class ThrowawayQuoteV1(Payload):
    EVENT_TYPE = "throwaway.quote"
    SCHEMA_VERSION = 1

    quote_id: str


class Emitter:
    """A live source: N quotes, one garbage message, then silence (it stays connected)."""

    connected = True

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def __aiter__(self) -> AsyncIterator[ReceivedMessage]:
        return self._emit()

    async def _emit(self) -> AsyncIterator[ReceivedMessage]:
        for n in range(int(os.environ["THROWAWAY_QUOTES"])):
            text = json.dumps({"id": f"tq-{n}", "sell": WNEAR, "buy": USDT, "amount": 10**24})
            yield ReceivedMessage(text=text, received_at=utc_now())
        yield ReceivedMessage(text="not json at all", received_at=utc_now())
        await asyncio.Event().wait()


def normalizer() -> Normalizer:
    def normalize(message: ReceivedMessage, *, source: SourceKind) -> Normalized | None:
        try:
            data = json.loads(message.text)
        except ValueError as exc:
            raise NormalizeError("not_json", str(exc)) from None
        demand = SwapDemandV1(
            quote_id=data["id"],
            asset_in=data["sell"],
            asset_out=data["buy"],
            exact_amount_in=data["amount"],
            deadline=message.received_at + timedelta(seconds=30),
            min_deadline_ms=60_000,
        )
        derived = Derived(topic=NORM_SWAP_DEMAND, key=demand_key(NAME, data["id"]), payload=demand)
        return Normalized(
            key=data["id"], raw=ThrowawayQuoteV1(quote_id=data["id"]), derived=(derived,)
        )

    return normalize


class FillEverything:
    """Fills every order, once per client order id (a resubmission gets the first outcome)."""

    name = NAME

    def __init__(self) -> None:
        self._done: dict[str, VenueOutcome] = {}

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def submit(self, orders: Sequence[VenueOrder]) -> list[VenueOutcome]:
        for order in orders:
            self._done.setdefault(
                order.client_order_id,
                VenueOutcome(
                    client_order_id=order.client_order_id,
                    status=OrderStatus.FILLED,
                    amount_in=order.amount_in,
                    amount_out=order.amount_out,
                    executed_at=utc_now(),
                    venue_reference=f"throwaway-{order.quote_id}",
                ),
            )
        return [self._done[order.client_order_id] for order in orders]

    async def lookup(self, orders: Sequence[VenueOrder]) -> Mapping[str, VenueOutcome]:
        return {
            o.client_order_id: self._done[o.client_order_id]
            for o in orders
            if o.client_order_id in self._done
        }


class ThrowawayApiSecrets(SecretFileModel):
    """The venue's API account and key, from the operator's `.secrets/throwaway-api.yaml`."""

    account: str
    api_key: SecretStr

    @field_validator("api_key")
    @classmethod
    def _hex_key(cls, value: SecretStr) -> SecretStr:
        if not re.fullmatch(r"[0-9a-f]{32}", value.get_secret_value()):
            raise ValueError("must be the 32 hex digits of a throwaway API key")
        return value


API_SECRETS = SecretFile(
    filename="throwaway-api.yaml",
    model=ThrowawayApiSecrets,
    template=Path(__file__).parent / "secret-templates" / "throwaway-api.yaml",
    required=True,
    purpose="throwaway API key",
    secret="throwaway",
    keys={"account": "account", "api-key": "api_key"},
)
QUOTES = Stream(name="quotes", raw_topic=RAW_TOPIC, open_live=Emitter, normalizer=normalizer)
PLUGIN = VenuePlugin(
    name=NAME,
    streams={"quotes": QUOTES},
    execution=FillEverything,
    schemas=(ThrowawayQuoteV1,),
    secrets=(API_SECRETS,),
)
