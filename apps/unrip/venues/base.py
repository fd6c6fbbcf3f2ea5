"""The interface every execution venue implements, shaped like a real exchange's API.

The executor's idempotency leans on two venue properties that real venues provide and the
paper venue reproduces: orders carry a client order id that the venue refuses to execute twice,
and the venue answers "what happened to client order id X?" (reconciliation after a crash).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from unrip.contracts.payloads import SwapKind


class OrderStatus(StrEnum):
    FILLED = "filled"
    NOT_FILLED = "not_filled"  # accepted but not taken (auction lost, no liquidity)
    REJECTED = "rejected"  # refused by the venue (bad order, expired, risk)


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueOrder:
    client_order_id: str
    command_id: str
    quote_id: str
    asset_in: str  # what the counterparty gives (we receive)
    asset_out: str  # what the counterparty gets (we give)
    amount_in: int
    amount_out: int
    deadline: datetime
    quote_validity_ms: int
    # Which side the counterparty fixed. Venues that answer with only the computed side (NEAR
    # Intents' quote_output) need it; None means "unknown", and such venues send both.
    kind: SwapKind | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueOutcome:
    client_order_id: str
    status: OrderStatus
    amount_in: int  # executed; 0 unless filled
    amount_out: int
    executed_at: datetime  # the venue's timestamp of the outcome
    venue_reference: str | None = None
    reason: str | None = None
    # True when the venue had already seen this client order id and returned the original
    # outcome instead of executing again (a zombie or a reconciliation race was fenced off).
    duplicate: bool = False


class VenueUnavailableError(RuntimeError):
    """A transient failure: the outcome is unknown and must be reconciled, never assumed."""


@runtime_checkable
class Venue(Protocol):
    """An execution venue. ``submit`` must be idempotent per ``client_order_id``."""

    name: str

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def submit(self, orders: Sequence[VenueOrder]) -> list[VenueOutcome]:
        """Place orders; one outcome per order, in order. Raises VenueUnavailableError."""
        ...

    async def lookup(self, orders: Sequence[VenueOrder]) -> Mapping[str, VenueOutcome]:
        """Outcomes the venue has recorded, by client order id; an absent order never reached
        the venue (or, for venues that settle later, is not final yet). Given whole orders, not
        ids, so a venue can derive what it needs to ask (NEAR: the intent's nonce)."""
        ...
