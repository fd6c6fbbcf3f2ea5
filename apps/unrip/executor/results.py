"""Trade results built deterministically from the command and the venue's outcome.

The result's event id derives from the command id and the outcome's time, so a result rebuilt
during reconciliation is the same event as one published before a crash.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from unrip.contracts import Envelope, ExecuteTradeV1, TradeResultV1, TradeStatus, make_envelope
from unrip.contracts.ids import deterministic_event_id
from unrip.venues.base import OrderStatus, VenueOutcome

_STATUS = {
    OrderStatus.FILLED: TradeStatus.FILLED,
    OrderStatus.NOT_FILLED: TradeStatus.NOT_FILLED,
    OrderStatus.REJECTED: TradeStatus.REJECTED,
}


def realised_pnl(command: ExecuteTradeV1, amount_in: int, amount_out: int) -> Decimal:
    """Value received minus value given, at the decision's reference prices."""
    pricing = command.pricing
    received = Decimal(amount_in) * pricing.price_in_usd / Decimal(10**pricing.decimals_in)
    given = Decimal(amount_out) * pricing.price_out_usd / Decimal(10**pricing.decimals_out)
    return received - given


def result_envelope(
    command: ExecuteTradeV1,
    *,
    venue: str,
    execution_venue: str,
    command_event_id: str,
    correlation_id: str | None,
    status: TradeStatus,
    at: datetime,
    reason: str | None = None,
    outcome: VenueOutcome | None = None,
    venue_latency_ms: float | None = None,
    reconciled: bool = False,
) -> Envelope[Any]:
    amount_in = outcome.amount_in if outcome and status is TradeStatus.FILLED else 0
    amount_out = outcome.amount_out if outcome and status is TradeStatus.FILLED else 0
    payload = TradeResultV1(
        command_id=command.command_id,
        client_order_id=command.client_order_id,
        quote_id=command.quote_id,
        status=status,
        reason=reason,
        asset_in=command.asset_in,
        asset_out=command.asset_out,
        amount_in=amount_in,
        amount_out=amount_out,
        notional_usd=command.notional_usd,
        pnl_usd=realised_pnl(command, amount_in, amount_out),
        venue_reference=outcome.venue_reference if outcome else None,
        executed_at=outcome.executed_at if outcome else None,
        execution_venue=execution_venue,
        demand_observed_at=command.demand_observed_at,
        venue_latency_ms=venue_latency_ms,
        demand_to_outcome_ms=(at - command.demand_observed_at).total_seconds() * 1000,
        reconciled=reconciled,
    )
    at_ms = int(at.timestamp() * 1000)
    return make_envelope(
        payload,
        venue=venue,
        observed_at=at,
        correlation_id=correlation_id,
        causation_id=command_event_id,
        event_id=deterministic_event_id(f"trade-result\x1f{command.command_id}", at_ms),
    )


def from_outcome(
    command: ExecuteTradeV1,
    outcome: VenueOutcome,
    **lineage: Any,
) -> Envelope[Any]:
    return result_envelope(
        command,
        status=_STATUS[outcome.status],
        at=outcome.executed_at,
        reason=outcome.reason,
        outcome=outcome,
        **lineage,
    )
